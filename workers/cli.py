"""``newsflow``, the command line: the outer layer, free to import ``pipeline`` and ``workers``."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.utils.url import maybe_sanitize_url
from redis.exceptions import RedisError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline import stages
from pipeline.errors import NewsflowError
from pipeline.models import article_json
from pipeline.settings import Settings, get_settings
from pipeline.store.articles import (
    count_articles,
    duplicates_of,
    get_article,
    list_articles,
    row_to_article,
)
from pipeline.store.db import prepare_database, schema_state, session_scope, upgrade
from pipeline.store.failures import failure_for_task, list_failures
from pipeline.store.sources import add_source, get_source, list_sources, remove_source
from pipeline.version import extractor_version

app = typer.Typer(
    name="newsflow",
    help="Turn news pages into clean, structured, stored articles, through four Celery stages.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
bench_app = typer.Typer(help="Measure newsflow against references.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
failures_app = typer.Typer(
    help="Items that failed for good: why, and sending them through again.",
    no_args_is_help=True,
)
app.add_typer(failures_app, name="failures")
sources_app = typer.Typer(
    help="Feeds, sitemaps and sites polled on a schedule.", no_args_is_help=True
)
app.add_typer(sources_app, name="sources")
console = Console()
errors = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


DOCUMENT_SUFFIXES = {".html", ".htm", ".xhtml", ".shtml", ".txt", ".text"}


def _ready(settings: Settings) -> None:
    """A database with the current schema, or a clear message and exit status 1."""
    try:
        prepare_database(settings)
    except NewsflowError as error:
        raise _fail(str(error)) from error


def expand_sources(arguments: list[str]) -> list[str]:
    """URLs and paths as given; a folder stands for its files, ``-`` for URLs read from stdin."""
    sources: list[str] = []
    for argument in arguments:
        if argument == "-":
            for line in sys.stdin:
                line = line.strip()
                if line and not line.startswith("#"):
                    sources.append(line)
        elif "://" not in argument and Path(argument).is_dir():
            folder = Path(argument)
            # Only documents: a folder of saved pages often holds a README or a licence too.
            sources.extend(
                str(path.resolve())
                for path in sorted(folder.rglob("*"))
                if path.is_file()
                and path.suffix.lower() in DOCUMENT_SUFFIXES
                and not any(part.startswith(".") for part in path.relative_to(folder).parts)
            )
        elif "://" not in argument and Path(argument).exists():
            sources.append(str(Path(argument).resolve()))
        else:
            sources.append(argument)
    return sources


@dataclass
class Outcome:
    source: str
    status: str  # stored, failed, pending
    detail: str = ""
    article_id: int | None = None


@app.command()
def ingest(
    sources: Annotated[
        list[str], typer.Argument(help="URLs, files or folders; '-' reads URLs from stdin.")
    ],
    wait: Annotated[
        bool, typer.Option("--wait", help="Show progress until every item is stored or failed.")
    ] = False,
    local: Annotated[
        bool, typer.Option("--local", help="Run the four stages in this process, with no broker.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="With --wait: give up waiting after this many seconds.")
    ] = None,
) -> None:
    """Send articles through the pipeline."""
    items = expand_sources(sources)
    if not items:
        raise _fail("nothing to ingest")
    _ready(get_settings())
    outcomes = _ingest_local(items) if local else _ingest_queued(items, wait, timeout)
    if outcomes is None:
        return
    _print_outcomes(outcomes)
    if any(outcome.status != "stored" for outcome in outcomes):
        raise typer.Exit(1)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
    )


def _ingest_local(items: list[str]) -> list[Outcome]:
    settings = get_settings()
    outcomes = []
    with _progress() as progress:
        task = progress.add_task("local", total=len(items))
        for source in items:
            try:
                stored = stages.run_local(source, settings)
                outcomes.append(Outcome(source, "stored", stored.canonical_url, stored.article_id))
            except NewsflowError as error:
                outcomes.append(Outcome(source, "failed", f"{error.reason}: {error}"))
            except (
                Exception
            ) as error:  # recorded by run_local; one bad page must not stop the batch
                outcomes.append(
                    Outcome(source, "failed", f"internal_error: {type(error).__name__}: {error}")
                )
            progress.advance(task)
    return outcomes


def _ingest_queued(items: list[str], wait: bool, timeout: float | None) -> list[Outcome] | None:
    from workers.tasks import article_chain

    results = _send(
        {source: (lambda source=source: article_chain(source).apply_async()) for source in items},
        hint="start Redis, or use --local",
    )
    if not wait:
        console.print(f"queued {len(items)} item(s); follow them in Flower or with --wait")
        return None
    return _await_chains(results, "ingest", timeout)


def _send(chains: dict[str, Any], *, hint: str = "start Redis") -> dict[str, Any]:
    """Send each item's chain (built by the callable); a clear exit if Redis is away."""
    from workers.app import app as celery_app

    try:
        # Ask once, quickly: otherwise each send would retry on its own before failing.
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=5)
        return {item: send() for item, send in chains.items()}
    except (KombuOperationalError, RedisError, OSError) as error:
        raise _fail(
            f"cannot reach the broker at {maybe_sanitize_url(get_settings().broker_url)} "
            f"({error}); {hint}"
        ) from error


def _await_chains(results: dict[str, Any], label: str, timeout: float | None) -> list[Outcome]:
    """Follow each chain, with a progress bar, until it is stored or failed (or time is up)."""
    from workers.app import app as celery_app

    if not celery_app.control.ping(timeout=1.0):
        errors.print(
            "[yellow]no worker answered:[/yellow] the items wait in the queues until one starts "
            "(`newsflow worker`)"
        )
    outcomes = {source: Outcome(source, "pending") for source in results}
    deadline = None if timeout is None else time.monotonic() + timeout
    with _progress() as progress:
        task = progress.add_task(label, total=len(results))
        while any(outcome.status == "pending" for outcome in outcomes.values()):
            for source, result in results.items():
                if outcomes[source].status == "pending":
                    outcomes[source] = chain_outcome(source, result)
                    if outcomes[source].status != "pending":
                        progress.advance(task)
            if deadline is not None and time.monotonic() > deadline:
                for outcome in outcomes.values():
                    if outcome.status == "pending":
                        outcome.detail = "not finished when --timeout ran out (queued or retrying)"
                break
            time.sleep(0.2)
    return list(outcomes.values())


def chain_outcome(source: str, last: Any) -> Outcome:
    """Where one article's chain stands: stored, failed (and why) or still pending."""
    if last.successful():
        stored = last.result
        return Outcome(source, "stored", stored["canonical_url"], stored["article_id"])
    # Celery marks every task after a failed one in a chain failed too; the first failed
    # task is the one that recorded why.
    first_failed = None
    node = last
    while node is not None:
        if node.failed():
            first_failed = node
        node = node.parent
    if first_failed is not None:
        return Outcome(source, "failed", _failure_detail(first_failed))
    return Outcome(source, "pending")


def _failure_detail(result: Any) -> str:
    # The task's own failure record has the exact reason; the result backend only has the
    # exception as Celery could rebuild it.
    with session_scope(get_settings()) as session:
        failure = failure_for_task(session, task_id=result.id)
        if failure is not None:
            return f"{failure.reason}: {failure.message}"
    error = result.result
    return f"{getattr(error, 'reason', None) or type(error).__name__}: {error}"


def _print_outcomes(outcomes: list[Outcome]) -> None:
    table = Table(title="ingest")
    table.add_column("source", overflow="fold", max_width=60)
    table.add_column("status")
    table.add_column("article")
    table.add_column("detail", overflow="fold")
    style = {"stored": "green", "failed": "red", "pending": "yellow"}
    for outcome in outcomes:
        table.add_row(
            outcome.source,
            f"[{style[outcome.status]}]{outcome.status}",
            str(outcome.article_id or ""),
            outcome.detail,
        )
    console.print(table)
    counts = {status: sum(o.status == status for o in outcomes) for status in style}
    console.print(", ".join(f"{count} {status}" for status, count in counts.items() if count))


@app.command()
def extract(
    source: Annotated[str, typer.Argument(help="A file or an http(s) URL.")],
    url: Annotated[
        str | None, typer.Option(help="The page's address, for a file saved from the web.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the article as one JSON object.")
    ] = False,
) -> None:
    """Clean and extract one document and print the article; no database, no broker."""
    from pipeline.clean.html import clean
    from pipeline.extract.article import extract as extract_article
    from pipeline.fetch.download import fetch
    from pipeline.fetch.encoding import decode

    try:
        page = fetch(source, get_settings())
        text = decode(page.content, page.encoding)
        document = clean(text, page.kind, url=url or page.url)
        article = extract_article(document)
    except NewsflowError as error:
        raise _fail(f"{error.reason}: {error}") from error
    data = article_json(article)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _print_article(data)


def _dated(value: str | None, precision: str | None) -> str | None:
    """A date as precise as its source: the day alone when only the day is known."""
    if not value:
        return None
    if precision == "day":
        return value[:10]
    return f"{value} (no zone given)" if precision == "local-time" else value


def _print_article(data: dict[str, Any]) -> None:
    console.print(f"[bold]{data['title'] or '(no title)'}[/bold]")
    facts = [
        ("id", data["id"]),
        ("url", data["canonical_url"] or data["url"]),
        ("authors", ", ".join(data["authors"])),
        ("agencies", ", ".join(data["agencies"])),
        ("published", _dated(data["published_at"], data["published_precision"])),
        ("section", data["section"]),
        ("tags", ", ".join(data["tags"])),
        ("language", data["language"]),
        ("site", data["site_name"]),
        ("words", data["word_count"]),
        ("duplicate of", data.get("duplicate_of")),
        ("duplicates", ", ".join(map(str, data.get("duplicates") or ()))),
        ("extractor", data["extractor_version"]),
    ]
    for name, value in facts:
        if value:
            console.print(f"[dim]{name}:[/dim] {value}")
    console.print()
    console.print(data["body"], markup=False, highlight=False)


@app.command()
def articles(
    limit: Annotated[int, typer.Option(min=1, help="How many, most recently stored first.")] = 20,
    unique: Annotated[
        bool, typer.Option("--unique", help="Hide duplicates: originals only.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List stored articles; a duplicate names its first-seen original (`duplicate_of`)."""
    settings = get_settings()
    _ready(settings)
    with session_scope(settings) as session:
        rows = list_articles(session, limit=limit, unique=unique)
        items = [_stored_json(row) for row in rows]
        total = count_articles(session, unique=unique)
    if as_json:
        typer.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    kind = "unique articles" if unique else "articles"
    table = Table(title=f"{kind} ({len(items)} of {total})")
    for column in ("id", "title", "published", "lang", "words", "url"):
        table.add_column(column, overflow="fold")
    for item in items:
        copy = f" [dim](duplicate of {item['duplicate_of']})" if item["duplicate_of"] else ""
        table.add_row(
            str(item["id"]),
            (item["title"] or "") + copy,
            (item["published_at"] or "")[:10],
            item["language"] or "",
            str(item["word_count"]),
            item["canonical_url"] or "",
        )
    console.print(table)


@app.command()
def article(
    article_id: Annotated[int, typer.Argument(metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show one stored article."""
    _ready(get_settings())
    with session_scope(get_settings()) as session:
        try:
            row = get_article(session, article_id=article_id)
        except NewsflowError as error:
            raise _fail(str(error)) from error
        data = _stored_json(row)
        data["duplicates"] = duplicates_of(session, article_id=article_id)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _print_article(data)


def _stored_json(row: Any) -> dict[str, Any]:
    """A stored article as printed: its fields, and the original it duplicates (if any)."""
    return article_json(row_to_article(row), article_id=row.id) | {"duplicate_of": row.duplicate_of}


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues to serve.")] = ",".join(
        stages.STAGES
    ),
    concurrency: Annotated[int | None, typer.Option(help="Processes or threads.")] = None,
    pool: Annotated[
        str | None, typer.Option(help="prefork, threads or solo; default by queue.")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
    hostname: Annotated[str | None, typer.Option(help="Worker name, as Flower shows it.")] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Port of this worker's Prometheus endpoint; 0 turns it off."),
    ] = None,
) -> None:
    """Run a worker: prefork for the CPU stages, many threads for a fetch-only worker."""
    if metrics_port is not None:
        # Read by the worker through its settings, like every other setting.
        os.environ["NEWSFLOW_METRICS_PORT"] = str(metrics_port)
        get_settings.cache_clear()
    from workers.app import app as celery_app

    names = [name.strip() for name in queues.split(",") if name.strip()]
    unknown = sorted(set(names) - set(stages.STAGES))
    if unknown or not names:
        raise _fail(
            f"unknown queue(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(stages.STAGES)}"
        )
    settings = get_settings()
    # Fetching waits on the network, not the CPU: threads serve it cheaply and in numbers.
    io_only = names == ["fetch"]
    pool = pool or ("threads" if io_only else "prefork")
    if concurrency is None:
        concurrency = (
            settings.fetch_concurrency
            if io_only
            else (settings.worker_concurrency or os.cpu_count() or 2)
        )
    celery_app.worker_main(
        [
            "worker",
            f"--queues={','.join(names)}",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            f"--hostname={hostname or 'newsflow-' + '-'.join(names) + '@%h'}",
            "--task-events",
        ]
    )


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The whole pipeline on one screen: queues, workers, throughput, failures, sources."""
    from workers.status import collect, render

    _ready(get_settings())
    report = collect(get_settings())
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        render(report, console)
    if report.broker_error:
        raise typer.Exit(1)  # what could be read is printed; scripts still learn of the outage


@app.command()
def beat(loglevel: Annotated[str, typer.Option(help="Log level.")] = "info") -> None:
    """Run Celery beat, the scheduler (run exactly one)."""
    from workers.app import app as celery_app
    from workers.schedule import reprocess_schedule

    settings = get_settings()
    try:
        reprocess_schedule(settings.reprocess_schedule)
    except NewsflowError as error:
        raise _fail(str(error)) from error
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    celery_app.start(
        [
            "beat",
            f"--loglevel={loglevel}",
            f"--schedule={settings.data_dir / 'celerybeat-schedule'}",
        ]
    )


@app.command()
def flower(
    address: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve Flower, the task-level monitor, on 127.0.0.1:5555 by default."""
    from workers.app import app as celery_app

    settings = get_settings()
    address = address or settings.flower_address
    # Flower's HTTP API is off without authentication. On loopback only this machine can reach
    # it, so it is opened there; on any other address the operator must set up auth.
    if _is_loopback(address):
        os.environ.setdefault("FLOWER_UNAUTHENTICATED_API", "true")
    celery_app.start(["flower", f"--address={address}", f"--port={port or settings.flower_port}"])


def _is_loopback(address: str) -> bool:
    try:
        infos = socket.getaddrinfo(address, None)
    except OSError:
        return False
    return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def parse_interval(text: str) -> int:
    """Seconds from "90", "90s", "10m", "2h" or "1d"."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise typer.BadParameter(f"{text!r} is not an interval like 90s, 10m, 2h or 1d")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


@app.command()
def reconcile(
    older_than: Annotated[
        float | None,
        typer.Option(
            help="Only pages fetched this many seconds ago or more; default: twice the "
            "visibility timeout, after which Redis no longer redelivers by itself."
        ),
    ] = None,
) -> None:
    """Send on pages whose chain stopped after fetch with no article and no failure (a
    message the broker lost). Each is recorded as `message_lost` and sent once. Beat runs
    this every 15 minutes."""
    from workers.tasks import send_unfinished

    settings = get_settings()
    _ready(settings)
    [count] = _send({"reconcile": lambda: send_unfinished(settings, older_than)}).values()
    console.print(f"sent on {count} unfinished page(s)")


@app.command()
def reprocess(
    everything: Annotated[
        bool, typer.Option("--all", help="Every article, whatever extractor made it.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Only articles first stored on or after DATE (ISO)."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Only a source's articles (its id or URL), or a site's (host name)."),
    ] = None,
    older_than_version: Annotated[
        str | None,
        typer.Option(
            metavar="V", help="Only articles made by extractor versions first seen before V."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be reprocessed; send nothing.")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Show progress, then which fields changed in how many."),
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="With --wait: give up waiting after this many seconds.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many articles.")] = None,
) -> None:
    """Run clean, extract and store again on stored raw pages (never refetching), through the
    queues. By default: the articles an older extractor made. Each keeps its id."""
    from pipeline.models import Selection
    from pipeline.reprocess import backlog
    from workers.reprocess import send

    settings = get_settings()
    _ready(settings)
    selection = Selection(
        everything=everything,
        older_than_version=older_than_version,
        since=_parse_since(since) if since else None,
        source=source,
    )
    try:
        counts = backlog(settings, selection)
    except NewsflowError as error:
        raise _fail(str(error)) from error
    orphans = counts.pop("(no stored page)", 0)
    total = min(sum(counts.values()), limit or sys.maxsize)
    console.print(f"this extractor: {extractor_version()}")
    table = Table(title="selected")
    table.add_column("made by extractor")
    table.add_column("articles", justify="right")
    for version, count in counts.items():
        table.add_row(version, str(count))
    if counts:
        console.print(table)
    if orphans:
        errors.print(f"[yellow]{orphans} selected article(s) have no stored page[/yellow]: skipped")
    if dry_run:
        console.print(f"would reprocess {total}")
        return
    if not total:
        console.print(
            "nothing to reprocess" + ("" if everything else " (--all takes every article)")
        )
        return
    results: list[Any] = []
    with _progress() as progress:
        task = progress.add_task("sending", total=total)

        def sent(_target: Any, result: Any) -> None:
            results.append(result)
            progress.advance(task)

        _send({"reprocess": lambda: send(settings, selection, limit=limit, sent=sent)})
    console.print(f"sent {len(results)} article(s) for reprocessing")
    if wait:
        _print_reprocessed(_await_reprocessed(results, timeout))


def _parse_since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(
            f"{text!r} is not a date like 2026-11-01 (UTC unless it says otherwise)",
            param_hint="--since",
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _await_reprocessed(results: list[Any], timeout: float | None) -> list[Any]:
    """Follow the chains with a progress bar until each is stored or failed (or time is up)."""
    from workers.app import app as celery_app
    from workers.reprocess import Outcome, outcomes

    if not celery_app.control.ping(timeout=1.0):
        errors.print(
            "[yellow]no worker answered:[/yellow] the pages wait in the queues until one starts "
            "(`newsflow worker`)"
        )
    final: list[Outcome | None] = [None] * len(results)
    deadline = None if timeout is None else time.monotonic() + timeout
    with _progress() as progress:
        task = progress.add_task("reprocess", total=len(results))
        while True:
            pending = [index for index, outcome in enumerate(final) if outcome is None]
            if not pending or (deadline is not None and time.monotonic() > deadline):
                break
            for index, outcome in zip(
                pending, outcomes([results[index] for index in pending]), strict=True
            ):
                if outcome.status != "pending":
                    final[index] = outcome
                    progress.advance(task)
            time.sleep(0.3)
    return [outcome or Outcome("pending") for outcome in final]


def _print_reprocessed(outcomes: list[Any]) -> None:
    """Which fields changed in how many articles; what failed and why."""
    stored = [outcome for outcome in outcomes if outcome.status == "stored"]
    changed = Counter(field for outcome in stored for field in outcome.changed)
    unchanged = sum(not outcome.changed for outcome in stored)
    console.print(
        f"reprocessed {len(stored)} article(s): {len(stored) - unchanged} changed, "
        f"{unchanged} unchanged"
    )
    if changed:
        table = Table(title="fields changed")
        table.add_column("field")
        table.add_column("articles", justify="right")
        for field, count in changed.most_common():
            table.add_row(field, str(count))
        console.print(table)
    others = sorted({outcome.extractor_version for outcome in stored} - {extractor_version(), None})
    if others:
        # Workers still running older (or newer) code: the articles are stored, but not by
        # this extractor, and stay in the backlog.
        errors.print(
            f"[yellow]the workers run extractor {', '.join(others)}, this command "
            f"{extractor_version()}:[/yellow] restart them on this version, then reprocess again"
        )
    failed = [outcome for outcome in outcomes if outcome.status == "failed"]
    pending = sum(outcome.status == "pending" for outcome in outcomes)
    if failed:
        reasons: Counter[str] = Counter()
        with session_scope(get_settings()) as session:
            for outcome in failed:
                record = failure_for_task(session, task_id=outcome.failed_task)
                reasons[record.reason if record else "unknown"] += 1
        console.print(
            f"[red]{len(failed)} failed[/red] ("
            + ", ".join(f"{reason}: {count}" for reason, count in reasons.most_common())
            + "); the stored articles are kept as they were; see `newsflow failures list`"
        )
    if pending:
        console.print(f"[yellow]{pending} not finished[/yellow] when --timeout ran out")
    if failed or pending or others:
        raise typer.Exit(1)


# --- failures ----------------------------------------------------------------------------------

StageOption = Annotated[
    str | None, typer.Option("--stage", help="Only this stage: fetch, clean, extract or store.")
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Only this reason, e.g. http_500 or too_large.")
]


def _check_stage(stage: str | None) -> None:
    if stage is not None and stage not in stages.STAGES:
        raise _fail(f"unknown stage {stage!r}; choose from {', '.join(stages.STAGES)}")


@failures_app.command("list")
def failures_list(
    stage: StageOption = None,
    reason: ReasonOption = None,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Resolved (replayed or since stored) ones too.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="How many, most recent first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Failures recorded by the stages: what, why, how often, first and last seen."""
    _check_stage(stage)
    settings = get_settings()
    _ready(settings)
    with session_scope(settings) as session:
        rows = [
            failure.model_dump(mode="json")
            for failure in list_failures(
                session,
                stage=stage,
                reason=reason,
                include_resolved=include_resolved,
                limit=limit,
            )
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"failures ({len(rows)}{'' if include_resolved else ' open'})")
    for column in ("id", "stage", "reason", "item", "tries", "first seen", "last seen", "message"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["stage"],
            row["reason"] + (" (retryable)" if row["retryable"] else ""),
            row["item"],
            str(row["attempts"]),
            row["first_seen"][:19],
            row["last_seen"][:19],
            row["message"][:200] + (" [green](resolved)" if row["resolved"] else ""),
        )
    console.print(table)
    if not rows:
        console.print("no failures" + ("" if include_resolved else " open"))


@failures_app.command("retry")
def failures_retry(
    stage: StageOption = None,
    reason: ReasonOption = None,
    ids: Annotated[
        list[int] | None, typer.Option("--id", help="Only this failure (repeatable).")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Show progress until each is stored or fails again.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="With --wait: give up waiting after this many seconds.")
    ] = None,
) -> None:
    """Send open failures through the queues again; each is marked resolved, and reopened if it
    fails again. A failed fetch is fetched again; a later stage starts again from the stored
    page, never refetching it."""
    from workers.replay import replay

    _check_stage(stage)
    settings = get_settings()
    _ready(settings)
    with session_scope(settings) as session:
        failures = list_failures(session, stage=stage, reason=reason, ids=ids)
    missing = sorted(set(ids or ()) - {failure.id for failure in failures})
    if missing:
        errors.print(f"[yellow]not open or not found:[/yellow] {', '.join(map(str, missing))}")
    if not failures:
        console.print("nothing to retry")
        return
    skipped: list[str] = []

    def send(failure: Any, label: str) -> Any:
        try:
            return replay(failure, settings)
        except (NewsflowError, ValueError) as error:  # ValueError: a malformed payload
            skipped.append(label)
            errors.print(f"[yellow]cannot replay[/yellow] {label}: {error}")
            return None

    labels = {f"#{failure.id} {failure.stage} {failure.item}": failure for failure in failures}
    results = _send(
        {
            label: (lambda f=failure, label=label: send(f, label))
            for label, failure in labels.items()
        }
    )
    sent = {label: result for label, result in results.items() if result is not None}
    console.print(
        f"replayed {len(sent)} failure(s)" + (f", {len(skipped)} could not be" if skipped else "")
    )
    if wait and sent:
        outcomes = _await_chains(sent, "retry", timeout)
        _print_outcomes(outcomes)
        if any(outcome.status != "stored" for outcome in outcomes):
            raise typer.Exit(1)
    if skipped:
        raise typer.Exit(1)


@sources_app.command("add")
def sources_add(
    url: Annotated[str, typer.Argument(help="A feed, a sitemap, or a site's home page.")],
    interval: Annotated[str, typer.Option(help="How often to poll: 90s, 10m, 2h, 1d.")] = "10m",
    name: Annotated[str | None, typer.Option(help="A name to show.")] = None,
    rate: Annotated[
        float | None, typer.Option(help="Requests per second to this source's host.")
    ] = None,
) -> None:
    """Add a source. A home page adds the feeds and sitemaps it leads to."""
    from pipeline.fetch.download import make_client
    from pipeline.sources.registry import add_sources

    settings = get_settings()
    _ready(settings)
    seconds = parse_interval(interval)
    try:
        with make_client(settings) as client:
            added = add_sources(url, settings, client, interval=seconds, name=name, rate=rate)
    except NewsflowError as error:
        raise _fail(f"{error.reason}: {error}") from error
    for source_id, source_url, created in added:
        console.print(f"{'added' if created else 'already there'}: #{source_id} {source_url}")


@sources_app.command("import")
def sources_import(
    file: Annotated[Path, typer.Argument(help="An OPML file, or a list of URLs, one a line.")],
    interval: Annotated[str, typer.Option(help="How often to poll each.")] = "10m",
) -> None:
    """Add every feed of an OPML file or a URL list, as they are (no discovery)."""
    settings = get_settings()
    _ready(settings)
    text = file.read_text(encoding="utf-8", errors="replace")
    urls = (
        opml_urls(text)
        if "<opml" in text[:2000].lower()
        else [
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        ]
    )
    seconds = parse_interval(interval)
    created_count = 0
    with session_scope(settings) as session:
        for url in urls:
            _, created = add_source(session, url=url, name=None, interval=seconds, rate=None)
            created_count += created
    console.print(f"{created_count} added, {len(urls) - created_count} already there")


def opml_urls(text: str) -> list[str]:
    """The feed URLs (``xmlUrl``) of an OPML outline, nested groups included."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    root = etree.fromstring(text.encode("utf-8"), parser)
    if root is None:
        raise _fail("the file is not readable OPML")
    urls = [str(node.get("xmlUrl")).strip() for node in root.iter("outline") if node.get("xmlUrl")]
    return list(dict.fromkeys(url for url in urls if url.startswith(("http://", "https://"))))


@sources_app.command("list")
def sources_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """The sources, with their last poll, status, new items, errors and next poll."""
    settings = get_settings()
    _ready(settings)
    with session_scope(settings) as session:
        rows = [source.model_dump(mode="json") for source in list_sources(session)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"sources ({len(rows)})")
    for column in ("id", "url", "kind", "status", "new", "errors", "last poll", "next poll"):
        table.add_column(column, overflow="fold")
    for row in rows:
        status = "paused" if row["paused"] else (row["last_status"] or "never polled")
        table.add_row(
            str(row["id"]),
            row["url"],
            row["kind"] or "",
            status,
            str(row["new_items"]),
            str(row["errors_in_row"]),
            (row["last_polled_at"] or "")[:19],
            (row["next_poll_at"] or "")[:19],
        )
    console.print(table)


def _set_paused(source_ids: list[int], paused: bool) -> None:
    settings = get_settings()
    _ready(settings)
    with session_scope(settings) as session:
        for source_id in source_ids:
            try:
                get_source(session, source_id=source_id).paused = paused
            except NewsflowError as error:
                raise _fail(str(error)) from error


@sources_app.command("pause")
def sources_pause(source_ids: Annotated[list[int], typer.Argument(metavar="ID...")]) -> None:
    """Stop polling sources (their state is kept)."""
    _set_paused(source_ids, True)


@sources_app.command("resume")
def sources_resume(source_ids: Annotated[list[int], typer.Argument(metavar="ID...")]) -> None:
    """Poll paused sources again."""
    _set_paused(source_ids, False)


@sources_app.command("remove")
def sources_remove(source_ids: Annotated[list[int], typer.Argument(metavar="ID...")]) -> None:
    """Forget sources; the item URLs they brought stay seen."""
    settings = get_settings()
    _ready(settings)
    with session_scope(settings) as session:
        for source_id in source_ids:
            try:
                remove_source(session, source_id=source_id)
            except NewsflowError as error:
                raise _fail(str(error)) from error


@sources_app.command("poll")
def sources_poll(
    source_ids: Annotated[list[int] | None, typer.Argument(metavar="[ID...]")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Poll every source.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Return once the articles found are stored or failed.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="With --wait: stop waiting after this.")
    ] = None,
) -> None:
    """Poll sources now, through the workers."""
    from celery import exceptions as celery_exceptions
    from celery.result import AsyncResult

    from workers.app import app as celery_app
    from workers.tasks import poll

    settings = get_settings()
    _ready(settings)
    with session_scope(settings) as session:
        listed = list_sources(session)
        known = [source.id for source in listed if source.id]
        active = [source.id for source in listed if source.id and not source.paused]
    # --all leaves paused sources alone; naming one polls it anyway.
    chosen = active if all_sources else list(source_ids or [])
    if not chosen:
        raise _fail("name source ids, or use --all")
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise _fail(f"no such source: {', '.join(map(str, unknown))}")
    polls = [poll.apply_async((source_id,)) for source_id in chosen]
    if not wait:
        console.print(f"polling {len(polls)} source(s)")
        return
    deadline = None if timeout is None else time.monotonic() + timeout
    articles: list[AsyncResult] = []
    failed_polls = 0
    for result in polls:
        remaining = None if deadline is None else max(0.1, deadline - time.monotonic())
        try:
            found = result.get(timeout=remaining, propagate=False)
        except celery_exceptions.TimeoutError:
            found = None
        if isinstance(found, dict):
            articles += [AsyncResult(task_id, app=celery_app) for task_id in found["articles"]]
        else:
            failed_polls += 1
    stored = failed = 0
    with _progress() as progress:
        bar = progress.add_task("articles", total=len(articles))
        pending = list(articles)
        while pending and (deadline is None or time.monotonic() < deadline):
            for result in list(pending):
                if result.ready():
                    pending.remove(result)
                    stored += result.successful()
                    failed += not result.successful()
                    progress.advance(bar)
            time.sleep(0.2)
    console.print(
        f"{len(polls) - failed_polls} of {len(polls)} source(s) polled: {len(articles)} new "
        f"item(s), {stored} stored, {failed} failed, {len(articles) - stored - failed} pending"
    )
    if failed_polls:
        errors.print("some polls failed or did not finish: see `newsflow sources list`")
    if failed_polls or failed or stored + failed < len(articles):
        raise typer.Exit(1)


@bench_app.command("extract")
def bench_extract(
    root: Annotated[
        Path,
        typer.Argument(help="The corpora's folder, or one corpus folder."),
    ] = Path("../shared/corpus"),
    corpus: Annotated[
        list[str] | None,
        typer.Option(help="Run this corpus only (repeat for more); default: every one."),
    ] = None,
    part: Annotated[
        str, typer.Option(help="tuning, validation or both (by a fixed hash of the site).")
    ] = "both",
    jobs: Annotated[int, typer.Option(min=1, help="Processes to spread the pages over.")] = 1,
    worst: Annotated[
        int, typer.Option(min=0, help="How many of the worst tuning pages to list.")
    ] = 0,
    out: Annotated[
        Path | None, typer.Option(help='Write newsflow\'s bodies as {key: {"articleBody": ...}}.')
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(help="Append the output, dated, with its command, to this Markdown file."),
    ] = None,
) -> None:
    """Body, snippets, dates, titles and authors: newsflow beside trafilatura, same run."""
    from pipeline.corpora import PARTS
    from workers import benchmark

    if part not in {*PARTS, "both"}:
        raise _fail(f"--part is tuning, validation or both, not {part!r}")
    try:
        folders = benchmark.corpus_folders(root, corpus)
    except FileNotFoundError as error:
        raise _fail(str(error)) from error
    parts = PARTS if part == "both" else (part,)
    output = Console(record=True, width=max(console.width, 100))
    found = benchmark.report(output, folders, parts=parts, jobs=jobs, worst=worst)
    if out is not None:
        bodies = {
            key: {"articleBody": prediction.body}
            for predictions in found.values()
            for key, prediction in predictions["newsflow"].items()
        }
        out.write_text(json.dumps(bodies, ensure_ascii=False, indent=1), encoding="utf-8")
        output.print(f"predictions written to {out}")
    if record is not None:
        command = " ".join(["newsflow bench extract", *sys.argv[3:]])
        stamp = datetime.now(UTC).strftime("%Y-%m-%d")
        text = output.export_text()
        with record.open("a", encoding="utf-8") as file:
            file.write(f"\n## {stamp}: `{command}`\n\n```\n{text.rstrip()}\n```\n")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the current schema."""
    upgrade(get_settings())
    current, _ = schema_state(get_settings())
    console.print(f"database schema at revision {current}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision and the one this code expects."""
    current, head = schema_state(get_settings())
    console.print(f"database: {current or '(no schema yet)'}; this newsflow: {head}")
    if current != head:
        errors.print("the schema is not current: run `newsflow db upgrade`")
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
