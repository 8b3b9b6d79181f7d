"""``newsflow ingest``: items sent through the four stages, by the workers or in this process."""

import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from .archives import (
    STDIN,
    ingest_archives,
    is_archive,
    is_archive_item,
    print_archive_summary,
    stdin_is_archive,
)
from .console import console, error_exit, errors, progress_bar, settings_with_database
from .results import IngestResult, WaitTimeout, print_ingest_results, run_here

if TYPE_CHECKING:
    from pipeline.settings import Settings

DOCUMENT_SUFFIXES = {".html", ".htm", ".xhtml", ".shtml", ".txt", ".text"}


def ingest(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="URLs, files or folders; WARC files (.warc, .warc.gz); '-' reads URLs, or a "
            "WARC, from stdin."
        ),
    ],
    wait: Annotated[
        bool, typer.Option("--wait", help="Show progress until every item is stored or failed.")
    ] = False,
    local: Annotated[
        bool,
        typer.Option(
            "--local", help="Run the four stages in this process, with no queue or worker."
        ),
    ] = False,
    timeout: WaitTimeout = None,
) -> None:
    """Send articles through the pipeline."""

    from pipeline.settings import get_settings

    items = expand_sources(sources)
    if not items:
        raise error_exit("nothing to ingest")
    settings = get_settings()
    items, refused = admitted(items, settings)
    if refused and not items:
        raise typer.Exit(2)  # nothing the user gave can be fetched: a usage error
    archives = [item for item in items if is_archive_item(item)]
    items = [item for item in items if not is_archive_item(item)]
    settings = settings_with_database()
    failed = bool(refused)
    if archives:
        tallies, outcome = ingest_archives(
            archives, settings, local=local, wait=wait, timeout=timeout
        )
        print_archive_summary(tallies, outcome)
        failed = (
            failed
            or any(tally.broken for tally in tallies)
            or any(result.status != "stored" for result in outcome or [])
        )
    if items:
        results = (
            ingest_locally(items, settings)
            if local
            else ingest_queued(items, settings, wait=wait, timeout=timeout)
        )
        if results is not None:
            print_ingest_results(results)
            failed = failed or any(result.status != "stored" for result in results)
    if failed:
        raise typer.Exit(1)


def expand_sources(arguments: list[str]) -> list[str]:
    """URLs and paths as given; a folder stands for its documents and WARC files, ``-`` for
    URLs read from stdin (or for stdin itself, when it holds a WARC)."""
    from pipeline.sources.opml import url_lines

    sources: list[str] = []
    for argument in arguments:
        if argument == "-" and stdin_is_archive():
            sources.append(STDIN)
        elif argument == "-":
            sources.extend(url_lines(sys.stdin))
        elif "://" not in argument and Path(argument).is_dir():
            folder = Path(argument)
            # Only documents: a folder of saved pages often holds a README or a licence too.
            sources.extend(
                str(path.resolve())
                for path in sorted(folder.rglob("*"))
                if path.is_file()
                and (path.suffix.lower() in DOCUMENT_SUFFIXES or is_archive(path.name))
                and not any(part.startswith(".") for part in path.relative_to(folder).parts)
            )
        elif "://" not in argument and Path(argument).exists():
            sources.append(str(Path(argument).resolve()))
        else:
            sources.append(argument)
    return sources


def admitted(items: list[str], settings: "Settings") -> tuple[list[str], int]:
    """The items that can be fetched, and how many were refused: each refusal is said on
    stderr, in one line that names the item, before anything is sent or stored."""
    from pipeline.errors import NewsflowError
    from pipeline.fetch.admission import refuse_unfetchable

    kept = []
    for item in items:
        try:
            if item != STDIN:
                refuse_unfetchable(item, settings)
        except NewsflowError as error:
            errors.print(f"[red]refused:[/red] {escape(str(error))}")
        else:
            kept.append(item)
    return kept, len(items) - len(kept)


def ingest_locally(items: list[str], settings: "Settings") -> list[IngestResult]:
    """The four stages in this process, item after item; a failure is recorded and reported,
    and the batch goes on."""
    from pipeline import stages
    from pipeline.fetch.fetcher import make_fetcher

    results = []
    # One fetcher for the batch: its rate limits and robots.txt rules hold from one item to
    # the next, through Redis when it answers and in this process when it does not.
    with progress_bar() as progress, make_fetcher(settings) as fetcher:
        task = progress.add_task("local", total=len(items))
        for source in items:
            results.append(
                run_here(source, partial(stages.run_local, source, settings, fetcher=fetcher))
            )
            progress.advance(task)
    return results


def ingest_queued(
    items: list[str], settings: "Settings", *, wait: bool, timeout: float | None
) -> list[IngestResult] | None:
    """Send each item's chain to the workers; with ``wait``, follow them to their end."""
    from pipeline.errors import BrokerUnavailable
    from pipeline.stages import fetch_payload, note_sent
    from workers.app import create_app
    from workers.broker import check_broker

    from .results import wait_for_chains
    from .sending import send_to_broker

    app = create_app(settings)
    try:
        check_broker(app)  # before noting anything as owed
        # Noted before sending: a message lost on its way is sent again by `newsflow reconcile`.
        note_sent(settings, [fetch_payload(source) for source in items])
        results = send_to_broker(
            app,
            settings,
            {source: partial(send_chain, source) for source in items},
        )
    except BrokerUnavailable as error:
        raise error_exit(f"{error}; start Redis, or use --local") from error
    if not wait:
        console.print(f"queued {len(items)} item(s); follow them in Flower or with --wait")
        return None
    return wait_for_chains(app, results, settings, label="ingest", timeout=timeout)


def send_chain(source: str) -> Any:
    """Send one item's four stages; the chain's last result."""
    from workers.tasks import article_chain

    return article_chain(source).apply_async()
