"""``newsflow sources``: the feeds, sitemaps and sites polled on a schedule."""

import re
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from .console import (
    Column,
    console,
    error_exit,
    errors,
    moment,
    print_listing,
    settings_with_database,
    unrepeated,
)
from .health import sources_health

if TYPE_CHECKING:
    from pipeline.settings import Settings

group = typer.Typer(help="Feeds, sitemaps and sites polled on a schedule.", no_args_is_help=True)

SourceIds = Annotated[list[int], typer.Argument(metavar="ID...")]


def parse_interval(text: str) -> int:
    """Seconds from "90", "90s", "10m", "2h" or "1d"."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise typer.BadParameter(f"{text!r} is not an interval like 90s, 10m, 2h or 1d")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


@group.command("add")
def sources_add(
    url: Annotated[str, typer.Argument(help="A feed, a sitemap, or a site's home page.")],
    interval: Annotated[str, typer.Option(help="How often to poll: 90s, 10m, 2h, 1d.")] = "10m",
    name: Annotated[str | None, typer.Option(help="A name to show.")] = None,
    rate: Annotated[
        float | None, typer.Option(help="Requests per second to this source's host.")
    ] = None,
) -> None:
    """Add a source. A home page adds the feeds and sitemaps it leads to."""
    from pipeline.errors import NewsflowError
    from pipeline.fetch.admission import refuse_unfetchable
    from pipeline.fetch.fetcher import make_fetcher
    from pipeline.settings import get_settings
    from pipeline.sources.registry import feeds_behind, register_sources

    seconds = parse_interval(interval)
    try:
        refuse_unfetchable(url, get_settings())
    except NewsflowError as error:
        raise error_exit(escape(str(error)), code=2) from error
    settings = settings_with_database()
    try:
        with make_fetcher(settings) as fetcher:
            found = feeds_behind(url, fetcher)
        added = register_sources(found, settings, interval=seconds, name=name, rate=rate)
    except NewsflowError as error:
        raise error_exit(f"{error.reason}: {error}") from error
    for source in added:
        console.print(
            f"{'added' if source.created else 'already there'}: #{source.id} {source.url}"
        )


@group.command("import")
def sources_import(
    file: Annotated[Path, typer.Argument(help="An OPML file, or a list of URLs, one a line.")],
    interval: Annotated[str, typer.Option(help="How often to poll each.")] = "10m",
) -> None:
    """Add every feed of an OPML file or a URL list, as they are (no discovery)."""
    from pipeline.errors import NewsflowError
    from pipeline.sources.opml import feed_urls
    from pipeline.sources.registry import register_sources

    settings = settings_with_database()
    try:
        urls = feed_urls(file.read_text(encoding="utf-8", errors="replace"))
    except NewsflowError as error:
        raise error_exit(str(error)) from error
    added = register_sources(urls, settings, interval=parse_interval(interval))
    created = sum(source.created for source in added)
    console.print(f"{created} added, {len(urls) - created} already there")


@group.command("list")
def sources_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """The sources: name, kind, status, new items, last and next poll, and the last error."""
    from pipeline.store.db import session_scope
    from pipeline.store.sources import list_sources

    settings = settings_with_database()
    with session_scope(settings) as session:
        rows = [source.model_dump(mode="json") for source in list_sources(session)]
    print_listing(rows, f"sources ({len(rows)})", SOURCE_COLUMNS, source_cells, as_json=as_json)


group.command("health")(sources_health)

SOURCE_COLUMNS = (
    Column("id", record="[bold]#{}[/bold]"),
    Column("name", "shorten"),
    Column("kind"),
    Column("status"),
    Column("new", drop=3, record="{} new"),
    Column("errors", drop=2, record="{} error(s) in a row"),
    Column("last poll", drop=1, record="polled {}"),
    Column("next poll", drop=4, record="next {}"),
    Column("url", "whole"),
    Column("last error", "shorten", lines=2),
)

STATUS_STYLES = {"ok": "green", "not_modified": "green", "error": "red", "failing": "bold red"}


def source_cells(row: dict[str, Any]) -> list[str]:
    """One source as ``sources list`` shows it; a paused one's next poll waits for ``resume``."""
    status = "paused" if row["paused"] else (row["last_status"] or "never polled")
    return [
        str(row["id"]),
        escape(row["name"] or ""),
        row["kind"] or "",
        f"[{STATUS_STYLES.get(status, 'yellow')}]{status}",
        str(row["new_items"]) if row["last_polled_at"] else "",
        str(row["errors_in_row"] or ""),
        moment(row["last_polled_at"]),
        "" if row["paused"] else moment(row["next_poll_at"]),
        escape(row["url"]),
        escape(unrepeated(row["last_error"] or "", row["url"])),
    ]


@group.command("pause")
def sources_pause(source_ids: SourceIds) -> None:
    """Stop polling sources (their state is kept)."""
    set_paused(source_ids, True)


@group.command("resume")
def sources_resume(source_ids: SourceIds) -> None:
    """Poll paused sources again."""
    set_paused(source_ids, False)


def set_paused(source_ids: list[int], paused: bool) -> None:
    """Pause or resume each source; the first unknown id stops the command."""
    from pipeline.errors import NewsflowError
    from pipeline.store.db import session_scope
    from pipeline.store.sources import get_source

    settings = settings_with_database()
    with session_scope(settings) as session:
        for source_id in source_ids:
            try:
                get_source(session, source_id=source_id).paused = paused
            except NewsflowError as error:
                raise error_exit(str(error)) from error


@group.command("remove")
def sources_remove(source_ids: SourceIds) -> None:
    """Forget sources; the item URLs they brought stay seen."""
    from pipeline.errors import NewsflowError
    from pipeline.store.db import session_scope
    from pipeline.store.sources import remove_source

    settings = settings_with_database()
    with session_scope(settings) as session:
        for source_id in source_ids:
            try:
                remove_source(session, source_id=source_id)
            except NewsflowError as error:
                raise error_exit(str(error)) from error


@group.command("poll")
def sources_poll(
    source_ids: Annotated[list[int] | None, typer.Argument(metavar="ID...")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Poll every source.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Return once the articles found are stored or failed.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option(help="With --wait: stop waiting after this.")
    ] = None,
) -> None:
    """Poll sources now, through the workers."""
    from pipeline.errors import BrokerUnavailable
    from workers.app import create_app
    from workers.tasks import poll_source

    from .sending import send_to_broker

    settings = settings_with_database()
    chosen = chosen_sources(settings, source_ids or [], every=all_sources)
    app = create_app(settings)
    # Keyed by position: a source named twice is polled twice, as asked.
    sends = {
        str(index): partial(poll_source.apply_async, (source_id,))
        for index, source_id in enumerate(chosen)
    }
    try:
        sent = send_to_broker(app, settings, sends)
    except BrokerUnavailable as error:
        raise error_exit(f"{error}; start Redis") from error
    if not wait:
        console.print(f"polling {len(sent)} source(s)")
        return
    wait_for_polls(app, settings, [(chosen[int(key)], poll) for key, poll in sent.items()], timeout)


def chosen_sources(settings: "Settings", source_ids: list[int], *, every: bool) -> list[int]:
    """The ids to poll: those named, or with ``every`` each source not paused."""
    from pipeline.store.db import session_scope
    from pipeline.store.sources import list_sources

    with session_scope(settings) as session:
        listed = list_sources(session)
        known = [source.id for source in listed if source.id]
        active = [source.id for source in listed if source.id and not source.paused]
    # --all leaves paused sources alone; naming one polls it anyway.
    chosen = active if every else list(source_ids)
    if not chosen:
        raise error_exit("name source ids, or use --all")
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise error_exit(f"no such source: {', '.join(map(str, unknown))}")
    return chosen


def wait_for_polls(
    app: Any, settings: "Settings", polls: list[tuple[int, Any]], timeout: float | None
) -> None:
    """Wait for the polls (each with its source's id), then for the articles they sent; say
    which polls failed and why; exit 1 unless all were stored."""
    from celery.result import AsyncResult

    from .results import deadline, finished, wait_for

    until = deadline(timeout)
    polled = wait_for([poll for _, poll in polls], finished, until=until)
    # A poll that finished returns what it found and sent on; a failed one, its error.
    answers = [None if result is None else result.result for result in polled]
    completed = [answer for answer in answers if isinstance(answer, dict)]
    articles = [AsyncResult(task_id, app=app) for poll in completed for task_id in poll["articles"]]
    ended = wait_for(articles, finished, until=until, label="articles")
    stored = sum(result is not None and bool(result.successful()) for result in ended)
    failed = sum(result is not None and not result.successful() for result in ended)
    console.print(
        f"{len(completed)} of {len(polls)} source(s) polled: {len(articles)} new "
        f"item(s), {stored} stored, {failed} failed, {len(articles) - stored - failed} pending"
    )
    unpolled = [
        (source_id, answer)
        for (source_id, _), answer in zip(polls, answers, strict=True)
        if not isinstance(answer, dict)
    ]
    print_failed_polls(settings, unpolled)
    if unpolled or failed or stored + failed < len(articles):
        raise typer.Exit(1)


def print_failed_polls(settings: "Settings", unpolled: list[tuple[int, Any]]) -> None:
    """A line for each poll that failed, or did not finish (``None``): which source, and
    why."""
    from pipeline.store.db import session_scope
    from pipeline.store.sources import list_sources

    if not unpolled:
        return
    with session_scope(settings) as session:
        sources = {source.id: source for source in list_sources(session)}
    for source_id, error in unpolled:
        source = sources.get(source_id)
        named = f"#{source_id}" + (f" {source.url}" if source else "")
        if error is None:
            errors.print(
                f"[yellow]poll of {escape(named)} did not finish[/yellow] before --timeout "
                "(queued, or waiting for its host's turn)",
            )
            continue
        # The error as the worker raised it, about this poll (the source's last error may be
        # an earlier poll's, when this one gave up waiting for its host).
        reason = getattr(error, "reason", None) or type(error).__name__
        why = unrepeated(f"{reason}: {error}", source.url if source else "")
        errors.print(f"[red]poll of {escape(named)} failed:[/red] {escape(why)}")
