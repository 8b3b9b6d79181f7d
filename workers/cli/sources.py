"""``newsflow sources``: the feeds, sitemaps and sites polled on a schedule."""

import re
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .console import console, error_exit, errors, print_listing, settings_with_database

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
    from pipeline.fetch.fetcher import make_fetcher
    from pipeline.sources.registry import feeds_behind, register_sources

    settings = settings_with_database()
    seconds = parse_interval(interval)
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
    """The sources, with their last poll, status, new items, errors and next poll."""
    from pipeline.store.db import session_scope
    from pipeline.store.sources import list_sources

    settings = settings_with_database()
    with session_scope(settings) as session:
        rows = [source.model_dump(mode="json") for source in list_sources(session)]
    print_listing(rows, f"sources ({len(rows)})", SOURCE_COLUMNS, source_cells, as_json=as_json)


SOURCE_COLUMNS = ("id", "url", "kind", "status", "new", "errors", "last poll", "next poll")


def source_cells(row: dict[str, Any]) -> list[str]:
    """One source as ``sources list`` shows it."""
    return [
        str(row["id"]),
        row["url"],
        row["kind"] or "",
        "paused" if row["paused"] else (row["last_status"] or "never polled"),
        str(row["new_items"]),
        str(row["errors_in_row"]),
        (row["last_polled_at"] or "")[:19],
        (row["next_poll_at"] or "")[:19],
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
        polls = list(send_to_broker(app, settings, sends).values())
    except BrokerUnavailable as error:
        raise error_exit(f"{error}; start Redis") from error
    if not wait:
        console.print(f"polling {len(polls)} source(s)")
        return
    wait_for_polls(app, polls, timeout)


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


def wait_for_polls(app: Any, polls: list[Any], timeout: float | None) -> None:
    """Wait for the polls, then for the articles they sent; exit 1 unless all were stored."""
    from celery.result import AsyncResult

    from .results import deadline, finished, wait_for

    until = deadline(timeout)
    polled = wait_for(polls, finished, until=until)
    # A poll that finished returns what it found and sent on; a failed one, its error.
    answers = [result.result for result in polled if result is not None]
    completed = [answer for answer in answers if isinstance(answer, dict)]
    failed_polls = len(polls) - len(completed)
    articles = [AsyncResult(task_id, app=app) for poll in completed for task_id in poll["articles"]]
    ended = wait_for(articles, finished, until=until, label="articles")
    stored = sum(result is not None and bool(result.successful()) for result in ended)
    failed = sum(result is not None and not result.successful() for result in ended)
    console.print(
        f"{len(polls) - failed_polls} of {len(polls)} source(s) polled: {len(articles)} new "
        f"item(s), {stored} stored, {failed} failed, {len(articles) - stored - failed} pending"
    )
    if failed_polls:
        errors.print("some polls failed or did not finish: see `newsflow sources list`")
    if failed_polls or failed or stored + failed < len(articles):
        raise typer.Exit(1)
