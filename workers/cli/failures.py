"""``newsflow failures``: what failed for good and why, and sending it through again."""

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from .console import (
    Column,
    check_stage,
    console,
    error_exit,
    errors,
    moment,
    print_listing,
    settings_with_database,
    unrepeated,
)
from .results import WaitTimeout

if TYPE_CHECKING:
    from pipeline.settings import Settings
    from pipeline.store.tables import Failure

group = typer.Typer(
    help="Items that failed for good: why, and sending them through again.",
    no_args_is_help=True,
)

StageOption = Annotated[
    str | None, typer.Option("--stage", help="Only this stage: fetch, clean, extract or store.")
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Only this reason, e.g. http_500 or too_large.")
]
RetryWait = Annotated[
    bool, typer.Option("--wait", help="Show progress until each is stored or fails again.")
]


@group.command("list")
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
    from pipeline.store.db import session_scope
    from pipeline.store.failures import list_failures

    check_stage(stage)
    settings = settings_with_database()
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
    title = f"failures ({len(rows)}{'' if include_resolved else ' open'})"
    print_listing(rows, title, FAILURE_COLUMNS, failure_cells, as_json=as_json)
    if not rows and not as_json:
        console.print("no failures" + ("" if include_resolved else " open"))


FAILURE_COLUMNS = (
    Column("id", record="[bold]#{}[/bold]"),
    Column("stage"),
    Column("reason"),
    Column("resolved"),
    Column("tries", drop=1, record="tries {}"),
    Column("first seen", drop=2, record="first seen {}"),
    Column("last seen", record="last seen {}"),
    Column("item", "whole"),
    Column("message", "shorten", lines=2),
)


def failure_cells(row: dict[str, Any]) -> list[str]:
    """One failure as ``failures list`` shows it."""
    return [
        str(row["id"]),
        row["stage"],
        row["reason"] + (" (retryable)" if row["retryable"] else ""),
        "[green]resolved" if row["resolved"] else "",
        str(row["attempts"]),
        moment(row["first_seen"]),
        moment(row["last_seen"]),
        escape(row["item"]),
        escape(unrepeated(row["message"], row["item"])),
    ]


@group.command("retry")
def failures_retry(
    stage: StageOption = None,
    reason: ReasonOption = None,
    ids: Annotated[
        list[int] | None, typer.Option("--id", help="Only this failure (repeatable).")
    ] = None,
    wait: RetryWait = False,
    timeout: WaitTimeout = None,
) -> None:
    """Send open failures through the queues again.

    Each is marked resolved, and reopened if it fails again. A failed fetch is fetched again;
    a later stage starts again from the stored page, never refetching it."""
    from pipeline.store.db import session_scope
    from pipeline.store.failures import list_failures
    from workers.app import create_app

    from .results import print_ingest_results, wait_for_chains

    check_stage(stage)
    settings = settings_with_database()
    with session_scope(settings) as session:
        failures = list_failures(session, stage=stage, reason=reason, ids=ids)
    missing = sorted(set(ids or ()) - {failure.id for failure in failures})
    if missing:
        errors.print(f"[yellow]not open or not found:[/yellow] {', '.join(map(str, missing))}")
    if not failures:
        console.print("nothing to retry")
        if missing:
            raise typer.Exit(1)  # every failure asked for by id is unknown: say so by status
        return
    app = create_app(settings)
    sent, skipped = send_failures(app, settings, failures)
    console.print(
        f"replayed {len(sent)} failure(s)" + (f", {len(skipped)} could not be" if skipped else "")
    )
    if wait and sent:
        results = wait_for_chains(app, sent, settings, label="retry", timeout=timeout)
        print_ingest_results(results)
        if any(result.status != "stored" for result in results):
            raise typer.Exit(1)
    if skipped:
        raise typer.Exit(1)


def send_failures(
    app: Any, settings: "Settings", failures: list["Failure"]
) -> tuple[dict[str, Any], list[str]]:
    """Send each failure's item through again: the chains sent, by label, and the labels of
    those that could not be (a record with nothing to start again from, a malformed payload)."""
    from pipeline.errors import BrokerUnavailable, NewsflowError
    from workers.failure_retry import retry_failure

    from .sending import send_to_broker

    skipped: list[str] = []

    def send(failure: "Failure", label: str) -> Any:
        try:
            return retry_failure(failure, settings)
        except BrokerUnavailable:
            raise  # not this item's fault: the whole command stops
        except (NewsflowError, ValueError) as error:  # ValueError: a malformed payload
            skipped.append(label)
            errors.print(f"[yellow]cannot replay[/yellow] {label}: {error}")
            return None

    labels = {f"#{failure.id} {failure.stage} {failure.item}": failure for failure in failures}
    try:
        results = send_to_broker(
            app,
            settings,
            {label: partial(send, failure, label) for label, failure in labels.items()},
        )
    except BrokerUnavailable as error:
        raise error_exit(f"{error}; start Redis") from error
    return {label: result for label, result in results.items() if result is not None}, skipped
