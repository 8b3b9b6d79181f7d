"""Failures: one record per stage and item, updated in place, resolved when the item goes
through, and replayed on request.

As everywhere in the store: keyword-only functions over an open session; none of them
commits, the caller owns the transaction (see :func:`pipeline.store.db.session_scope`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from pipeline.errors import NewsflowError, TransientError
from pipeline.store.db import dialect_insert
from pipeline.store.tables import Failure, RawPage


def record_failure(
    session: Session,
    *,
    stage: str,
    item: str,
    error: BaseException,
    attempts: int,
    raw_page_id: int | None = None,
    task_id: str | None = None,
    payload: dict[str, Any] | None = None,
    resolved: bool = False,
) -> None:
    """Record (or update) the failure of ``stage`` on ``item``, with its reason and attempts.

    ``payload`` is what a replay needs to send the item through again.
    """
    now = datetime.now(UTC)
    if raw_page_id is not None and session.get(RawPage, raw_page_id) is None:
        raw_page_id = None  # a message may name a page that is not there; the item still says it
    values: dict[str, Any] = {
        "raw_page_id": raw_page_id,
        "reason": error.reason if isinstance(error, NewsflowError) else "internal_error",
        "error_type": f"{type(error).__module__}.{type(error).__qualname__}"[:128],
        "message": (str(error) or type(error).__name__)[:4000],
        "retryable": isinstance(error, TransientError),
        "attempts": attempts,
        "task_id": task_id,
        "last_seen": now,
        "resolved": resolved,
    }
    if payload is not None:
        values["payload"] = payload
    # An upsert, so that two workers failing on the same item leave one up-to-date record.
    statement = (
        dialect_insert(session)(Failure)
        .values(stage=stage, item=item, first_seen=now, **values)
        .on_conflict_do_update(index_elements=["stage", "item"], set_=values)
    )
    session.execute(statement)


def first_failure(session: Session, *, stage: str, item: str) -> bool:
    """Whether ``item`` has never failed at ``stage`` before (no record yet)."""
    statement = select(Failure.id).where(Failure.stage == stage, Failure.item == item)
    return session.exec(statement).first() is None


def failure_for_task(session: Session, *, task_id: str) -> Failure | None:
    """The failure a task recorded, if it recorded one."""
    return session.exec(select(Failure).where(Failure.task_id == task_id)).first()


def resolve_failures(session: Session, *, stage: str | Iterable[str], item: str) -> None:
    """Mark an item's open failures at ``stage`` (or at any of several) resolved: it has
    since gone through. One statement, however many stages."""
    stages = [stage] if isinstance(stage, str) else list(stage)
    session.execute(
        update(Failure)
        .where(
            col(Failure.stage).in_(stages),
            col(Failure.item) == item,
            col(Failure.resolved).is_(False),
        )
        .values(resolved=True)
    )


def list_failures(
    session: Session,
    *,
    stage: str | None = None,
    reason: str | None = None,
    ids: list[int] | None = None,
    include_resolved: bool = False,
    limit: int | None = None,
) -> list[Failure]:
    """Recorded failures, the most recent first; open ones only unless ``include_resolved``."""
    statement = select(Failure).order_by(col(Failure.last_seen).desc(), col(Failure.id).desc())
    if stage:
        statement = statement.where(Failure.stage == stage)
    if reason:
        statement = statement.where(Failure.reason == reason)
    if ids:
        statement = statement.where(col(Failure.id).in_(ids))
    if not include_resolved:
        statement = statement.where(col(Failure.resolved).is_(False))
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.exec(statement))


def reopen_failure(session: Session, *, failure_id: int) -> None:
    """Undo :func:`mark_replayed` when the replay could not be sent."""
    session.execute(update(Failure).where(col(Failure.id) == failure_id).values(resolved=False))


def mark_replayed(session: Session, *, failure_id: int) -> None:
    """The failure was sent through again: resolved, unless the replay fails and reopens it."""
    session.execute(
        update(Failure)
        .where(col(Failure.id) == failure_id)
        .values(resolved=True, replays=col(Failure.replays) + 1, replayed_at=datetime.now(UTC))
    )
