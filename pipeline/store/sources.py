"""Sources and the URLs they brought: registration, the poll schedule's claims, and which
URLs are new.

As everywhere in the store: keyword-only functions over an open session; none of them
commits, the caller owns the transaction (see :func:`pipeline.store.db.session_scope`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from pipeline.errors import NotFound
from pipeline.store.db import dialect_insert
from pipeline.store.tables import SeenUrl, Source
from pipeline.urls import canonicalize


def add_source(
    session: Session,
    *,
    url: str,
    name: str | None,
    interval: int,
    rate: float | None,
    kind: str | None = None,
) -> tuple[Source, bool]:
    """The source for ``url``, created if new (of ``kind``, when known before its first
    poll); (source, created). One there already is kept as it was."""
    existing = session.exec(select(Source).where(Source.url == url)).first()
    if existing is not None:
        return existing, False
    source = Source(
        url=url,
        name=name,
        kind=kind,
        base_interval=interval,
        interval=interval,
        rate_limit=rate,
        next_poll_at=datetime.now(UTC),
    )
    session.add(source)
    session.flush()
    return source, True


def get_source(session: Session, *, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"source {source_id} is not in the database")
    return source


def list_sources(session: Session) -> list[Source]:
    return list(session.exec(select(Source).order_by(col(Source.id))))


def remove_source(session: Session, *, source_id: int) -> None:
    """Forget a source; the URLs it brought stay seen, so they are not fetched again."""
    source = get_source(session, source_id=source_id)
    session.execute(
        update(SeenUrl).where(col(SeenUrl.source_id) == source_id).values(source_id=None)
    )
    session.delete(source)


def due_sources(session: Session, *, now: datetime) -> list[int]:
    """Sources whose next poll time has come, oldest first."""
    statement = (
        select(Source.id)
        .where(col(Source.paused).is_(False))
        .where((col(Source.next_poll_at).is_(None)) | (col(Source.next_poll_at) <= now))
        .order_by(col(Source.next_poll_at))
    )
    return [source_id for source_id in session.exec(statement) if source_id is not None]


def claim_source(session: Session, *, source_id: int, now: datetime, until: datetime) -> bool:
    """Push a due source's next poll to ``until``; False when another claimed it first."""
    result = session.execute(
        update(Source)
        .where(col(Source.id) == source_id)
        .where((col(Source.next_poll_at).is_(None)) | (col(Source.next_poll_at) <= now))
        .values(next_poll_at=until)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def unseen(session: Session, *, urls: list[str]) -> list[str]:
    """Those of ``urls`` never seen before, in order: an index lookup, in batches."""
    known: set[str] = set()
    for start in range(0, len(urls), 500):
        batch = urls[start : start + 500]
        known.update(session.exec(select(SeenUrl.url).where(col(SeenUrl.url).in_(batch))))
    return [url for url in dict.fromkeys(urls) if url not in known]


def item_rate(session: Session, *, url: str) -> float | None:
    """The rate of the source whose poll found the item ``url``, if one did and has a rate."""
    statement = (
        select(Source.rate_limit)
        .join(SeenUrl, col(SeenUrl.source_id) == col(Source.id))
        .where(SeenUrl.url == canonicalize(url))
    )
    return session.exec(statement).first()


def mark_seen(session: Session, *, urls: list[str], source_id: int | None) -> list[str]:
    """Record ``urls`` as seen; returns those this call was first to record (race-free)."""
    first: list[str] = []
    for url in dict.fromkeys(urls):
        statement = (
            dialect_insert(session)(SeenUrl)
            .values(url=url, source_id=source_id, first_seen=datetime.now(UTC))
            .on_conflict_do_nothing(index_elements=["url"])
            .returning(SeenUrl.__table__.c.id)  # type: ignore[attr-defined]
        )
        if session.execute(statement).scalar() is not None:
            first.append(url)
    return first
