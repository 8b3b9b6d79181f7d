"""Following what was sent to the workers until it is stored, failed, or time is up.

Every ``--wait`` waits the same way (:func:`wait_for`): look at each result not yet settled,
advance the progress bar for each that has, pause, and stop when none is left or the deadline
has passed. What "settled" means is the caller's: a chain's last task for ``ingest``, one
round trip for a whole batch for ``reprocess``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.markup import escape

from .console import Column, console, print_rows, progress_bar, unrepeated

if TYPE_CHECKING:
    from pipeline.models import StoredRef
    from pipeline.settings import Settings

Item = TypeVar("Item")
State = TypeVar("State")

# How often the results are looked at again while waiting.
INTERVAL = 0.2

# The --timeout of each command that can --wait.
WaitTimeout = Annotated[
    float | None, typer.Option(help="With --wait: give up waiting after this many seconds.")
]


@dataclass
class IngestResult:
    """What became of one item sent through the four stages."""

    source: str
    status: str  # stored, failed, pending
    detail: str = ""
    article_id: int | None = None


def run_here(label: str, run: Callable[[], StoredRef]) -> IngestResult:
    """Run one item's stages in this process and say what became of it. The stages record a
    failure themselves; here it is reported, and the batch goes on."""
    from pipeline.errors import NewsflowError

    try:
        stored = run()
    except NewsflowError as error:
        return IngestResult(label, "failed", f"{error.reason}: {error}")
    except Exception as error:  # one bad page must not stop the batch
        return IngestResult(label, "failed", f"internal_error: {type(error).__name__}: {error}")
    return IngestResult(label, "stored", stored.canonical_url, stored.article_id)


def deadline(timeout: float | None) -> float | None:
    """The monotonic time at which ``timeout`` seconds from now run out (None: never)."""
    return None if timeout is None else time.monotonic() + timeout


def wait_for(
    items: Sequence[Item],
    settle: Callable[[list[Item]], list[State | None]],
    *,
    until: float | None,
    label: str | None = None,
    interval: float = INTERVAL,
) -> list[State | None]:
    """Each item's final state, as ``settle`` gives it; None for those still pending at
    ``until``.

    ``settle`` gets the items not settled yet and answers, for each, its final state or None.
    Each item is looked at once at least, even when the deadline has passed already. With a
    ``label``, a progress bar counts the settled items.
    """
    final: list[State | None] = [None] * len(items)
    pending = list(range(len(items)))
    with progress_bar(shown=label is not None) as progress:
        bar = progress.add_task(label or "", total=len(items))
        while pending:
            states = settle([items[index] for index in pending])
            for index, state in zip(pending, states, strict=True):
                if state is not None:
                    final[index] = state
                    progress.advance(bar)
            pending = [index for index in pending if final[index] is None]
            if not pending or (until is not None and time.monotonic() > until):
                break
            time.sleep(interval)
    return final


def finished(results: list[Any]) -> list[Any | None]:
    """Each Celery result that is ready (succeeded, or failed for good); None for the others."""
    return [result if result.ready() else None for result in results]


def first_failure(last: Any) -> Any | None:
    """The first failed task of a chain, found from its last task's result; None if none failed.

    Celery marks every task after a failed one in a chain failed too; the first failed task is
    the one that recorded why.
    """
    found = None
    node = last
    while node is not None:
        if node.failed():
            found = node
        node = node.parent
    return found


def settled(last: Any) -> bool:
    """Whether a chain has ended: its last task succeeded, or one of its tasks failed."""
    return bool(last.successful()) or first_failure(last) is not None


def chain_result(source: str, last: Any, settings: Settings) -> IngestResult:
    """Where one article's chain stands: stored, failed (and why) or still pending."""
    if last.successful():
        stored = last.result
        return IngestResult(source, "stored", stored["canonical_url"], stored["article_id"])
    failed = first_failure(last)
    if failed is not None:
        return IngestResult(source, "failed", failure_detail(failed, settings))
    return IngestResult(source, "pending")


def failure_detail(result: Any, settings: Settings) -> str:
    """``reason: message`` of a failed task."""
    from pipeline.store.db import session_scope
    from pipeline.store.failures import failure_for_task

    # The task's own failure record has the exact reason; the result backend only has the
    # exception as Celery could rebuild it.
    with session_scope(settings) as session:
        failure = failure_for_task(session, task_id=result.id)
        if failure is not None:
            return f"{failure.reason}: {failure.message}"
    error = result.result
    return f"{getattr(error, 'reason', None) or type(error).__name__}: {error}"


def wait_for_chains(
    app: Any, results: dict[str, Any], settings: Settings, *, label: str, timeout: float | None
) -> list[IngestResult]:
    """Follow each item's chain (by its last task's result) until it is stored or failed."""
    pairs = list(results.items())

    def settle(batch: list[tuple[str, Any]]) -> list[IngestResult | None]:
        found = [chain_result(source, last, settings) for source, last in batch]
        return [result if result.status != "pending" else None for result in found]

    final = wait_for(pairs, settle, until=deadline(timeout), label=label)
    return [
        result
        or IngestResult(
            source, "pending", "not finished when --timeout ran out (queued or retrying)"
        )
        for (source, _), result in zip(pairs, final, strict=True)
    ]


INGEST_COLUMNS = (
    Column("source", "whole"),
    Column("status"),
    Column("article", record="article {}"),
    Column("stored as", "whole", record="stored as {}"),
    Column("detail", "shorten", lines=2),
)

STATUS_STYLES = {"stored": "green", "failed": "red", "pending": "yellow"}


def print_ingest_results(results: list[IngestResult]) -> None:
    """The items laid out for the terminal, then how many were stored, failed or pending."""
    print_rows("ingest", INGEST_COLUMNS, [ingest_cells(result) for result in results])
    counts = {status: sum(r.status == status for r in results) for status in STATUS_STYLES}
    console.print(", ".join(f"{count} {status}" for status, count in counts.items() if count))


def ingest_cells(result: IngestResult) -> list[str]:
    """A stored item's address as stored, unless it only says the source again; why the
    others failed or are still pending (the source, shown whole beside it, not said again)."""
    stored = result.status == "stored"
    stored_as = result.detail if stored and not same_address(result.source, result.detail) else ""
    return [
        escape(result.source),
        f"[{STATUS_STYLES[result.status]}]{result.status}",
        str(result.article_id or ""),
        escape(stored_as),
        "" if stored else escape(unrepeated(result.detail, result.source)),
    ]


def same_address(source: str, url: str) -> bool:
    """Whether ``url`` is ``source`` again: the same address, or the ``file://`` URL of the
    file ``source`` names."""
    if url == source:
        return True
    if "://" in source:
        return False
    try:
        return Path(source).expanduser().resolve().as_uri() == url
    except (OSError, ValueError):
        return False
