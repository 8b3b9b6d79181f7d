"""The outbox: every item sent to be fetched, until it is fetched or its failure recorded.

Kombu's Redis transport takes a message off its queue and notes it as unacknowledged in a
second command; a worker killed between the two loses the message with no trace in Redis.
The row here is that trace. As everywhere in the store: keyword-only functions over an open
session, the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, delete, select, update

from pipeline.store.db import dialect_insert
from pipeline.store.tables import Outbox


def note_sent(session: Session, *, payloads: Iterable[dict[str, Any]]) -> None:
    """Record each item (its fetch task's payload) as sent now; an item sent before is sent
    again, and counted."""
    now = datetime.now(UTC)
    for payload in payloads:
        values = {"payload": payload, "sent_at": now, "due_at": now}
        statement = (
            dialect_insert(session)(Outbox)
            .values(source=payload["source"], sends=1, **values)
            .on_conflict_do_update(
                index_elements=["source"], set_={**values, "sends": Outbox.sends + 1}
            )
        )
        session.execute(statement)


def note_waiting(session: Session, *, source: str, until: datetime) -> None:
    """The item's fetch waits, in Redis, until ``until``: it is not lost before then."""
    session.execute(update(Outbox).where(col(Outbox.source) == source).values(due_at=until))


def note_done(session: Session, *, source: str) -> None:
    """The item was fetched, or its failure recorded: nothing is owed any more."""
    session.execute(delete(Outbox).where(col(Outbox.source) == source))


def overdue(session: Session, *, before: datetime, limit: int = 10_000) -> list[Outbox]:
    """Items that should have been fetched before ``before`` and were not: their message was
    lost. Oldest first."""
    statement = (
        select(Outbox).where(col(Outbox.due_at) < before).order_by(col(Outbox.due_at)).limit(limit)
    )
    return list(session.exec(statement))
