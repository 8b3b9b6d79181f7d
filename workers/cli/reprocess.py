"""``newsflow reprocess`` and ``reconcile``: stored pages sent through the stages again."""

import sys
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .console import console, error_exit, errors, progress_bar, settings_with_database
from .options import SourceOption
from .results import WaitTimeout

if TYPE_CHECKING:
    from pipeline.models import Selection
    from pipeline.settings import Settings
    from workers.reprocess import Reprocessed


def reconcile(
    older_than: Annotated[
        float | None,
        typer.Option(
            help="Only items due (pages fetched) this many seconds ago or more; default: "
            "twice the visibility timeout, after which Redis no longer redelivers by itself."
        ),
    ] = None,
) -> None:
    """Send again what a message lost by the broker left unfinished.

    Items sent to be fetched and never fetched nor failed, and pages whose chain stopped
    after fetch. Each is recorded as `message_lost` and sent once. Beat runs this every 15
    minutes."""
    from pipeline.errors import BrokerUnavailable
    from workers.app import create_app
    from workers.tasks import send_unfinished

    from .sending import send_to_broker

    settings = settings_with_database()
    app = create_app(settings)
    try:
        [count] = send_to_broker(
            app, settings, {"reconcile": lambda: send_unfinished(settings, older_than)}
        ).values()
    except BrokerUnavailable as error:
        raise error_exit(f"{error}; start Redis") from error
    console.print(f"sent on {count} lost item(s)")


def reprocess(
    everything: Annotated[
        bool, typer.Option("--all", help="Every article, whatever extractor made it.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Only articles first stored on or after DATE (ISO)."),
    ] = None,
    source: SourceOption = None,
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
    timeout: WaitTimeout = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many articles.")] = None,
) -> None:
    """Run clean, extract and store again on stored pages, never refetching them.

    Through the queues. By default: the articles an older extractor made. Each keeps its
    id."""
    from pipeline.models import Selection
    from workers.app import create_app

    settings = settings_with_database()
    selection = Selection(
        everything=everything,
        older_than_version=older_than_version,
        since=parse_since(since) if since else None,
        source=source,
    )
    total = print_backlog(settings, selection, limit)
    if dry_run:
        console.print(f"would reprocess {total}")
        return
    if not total:
        console.print(
            "nothing to reprocess" + ("" if everything else " (--all takes every article)")
        )
        return
    app = create_app(settings)
    results = send_pages(app, settings, selection, total=total, limit=limit)
    console.print(f"sent {len(results)} article(s) for reprocessing")
    if wait:
        print_reprocessed(wait_for_reprocessed(app, results, timeout), settings)


def parse_since(text: str) -> datetime:
    """The moment ``--since`` names; UTC unless it says otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(
            f"{text!r} is not a date like 2026-11-01 (UTC unless it says otherwise)",
            param_hint="--since",
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def print_backlog(settings: "Settings", selection: "Selection", limit: int | None) -> int:
    """Print how many selected articles each extractor version made; how many will be sent."""
    from rich.table import Table

    from pipeline.errors import NewsflowError
    from pipeline.reprocess import backlog
    from pipeline.version import extractor_version

    try:
        counts = backlog(settings, selection)
    except NewsflowError as error:
        raise error_exit(str(error)) from error
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
    return total


def send_pages(
    app: Any, settings: "Settings", selection: "Selection", *, total: int, limit: int | None
) -> list[Any]:
    """Send each selected article's stored page down the chain, with a progress bar; the
    chains' last results."""
    from pipeline.errors import BrokerUnavailable
    from workers.reprocess import send_reprocessing

    from .sending import send_to_broker

    results: list[Any] = []
    with progress_bar() as progress:
        task = progress.add_task("sending", total=total)

        def sent(_target: Any, result: Any) -> None:
            results.append(result)
            progress.advance(task)

        try:
            send_to_broker(
                app,
                settings,
                {
                    "reprocess": lambda: send_reprocessing(
                        settings, selection, limit=limit, sent=sent
                    )
                },
            )
        except BrokerUnavailable as error:
            raise error_exit(f"{error}; start Redis") from error
    return results


def wait_for_reprocessed(
    app: Any, results: list[Any], timeout: float | None
) -> list["Reprocessed"]:
    """Follow the chains until each is stored or failed (or time is up)."""
    from workers.reprocess import Reprocessed, reprocessed

    from .results import deadline, wait_for

    def settle(batch: list[Any]) -> list["Reprocessed | None"]:
        # One round trip for the whole batch: thousands of chains are read at once.
        return [state if state.status != "pending" else None for state in reprocessed(batch)]

    final = wait_for(results, settle, until=deadline(timeout), label="reprocess", interval=0.3)
    return [state or Reprocessed("pending") for state in final]


def print_reprocessed(states: list["Reprocessed"], settings: "Settings") -> None:
    """Which fields changed in how many articles; what failed and why."""
    from rich.table import Table

    from pipeline.store.db import session_scope
    from pipeline.store.failures import failure_for_task
    from pipeline.version import extractor_version

    stored = [state for state in states if state.status == "stored"]
    changed = Counter(field for state in stored for field in state.changed)
    unchanged = sum(not state.changed for state in stored)
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
    made_by = {state.extractor_version for state in stored if state.extractor_version}
    others = sorted(made_by - {extractor_version()})
    if others:
        # Workers still running older (or newer) code: the articles are stored, but not by
        # this extractor, and stay in the backlog.
        errors.print(
            f"[yellow]the workers run extractor {', '.join(others)}, this command "
            f"{extractor_version()}:[/yellow] restart them on this version, then reprocess again"
        )
    failed = [state for state in states if state.status == "failed"]
    pending = sum(state.status == "pending" for state in states)
    if failed:
        reasons: Counter[str] = Counter()
        with session_scope(settings) as session:
            for state in failed:
                record = (
                    failure_for_task(session, task_id=state.failed_task)
                    if state.failed_task
                    else None
                )
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
