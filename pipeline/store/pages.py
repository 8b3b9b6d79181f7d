"""Raw pages: the fetched bytes, kept once per URL and content, and the pages whose chain
stopped on the way.

As everywhere in the store: keyword-only functions over an open session; none of them
commits, the caller owns the transaction (see :func:`pipeline.store.db.session_scope`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from pipeline.errors import NotFound
from pipeline.models import FetchedPage
from pipeline.store.db import dialect_insert
from pipeline.store.tables import ArticleRow, Failure, RawPage


def save_raw_page(
    session: Session, *, page: FetchedPage, entry: dict[str, Any] | None = None
) -> int:
    """Keep the fetched bytes, with what the feed said of them (``entry``); the same bytes
    from the same URL are stored once."""
    inserted = insert_raw_page(session, page=page, entry=entry)
    if inserted is not None:
        return inserted
    existing = _raw_page_id(session, url=page.url, sha256=page.sha256)
    if existing is None:  # only a row deleted in between could do this
        raise NotFound(f"the raw page of {page.url} vanished as it was stored")
    if entry is not None:
        # The same bytes, now found in a feed: keep what the feed says of them.
        stored = session.get(RawPage, existing)
        if stored is not None and not stored.entry:
            stored.entry = entry
    return existing


def insert_raw_page(
    session: Session, *, page: FetchedPage, entry: dict[str, Any] | None = None
) -> int | None:
    """Keep the page's bytes if this URL's same bytes are not kept yet: the new row's id, or
    None when they were."""
    # One statement, and race-free: of two workers storing the same page at once, one inserts
    # and the other finds it there.
    inserted = session.execute(
        dialect_insert(session)(RawPage)
        .values(
            source=page.source,
            url=page.url,
            sha256=page.sha256,
            status_code=page.status_code,
            content_type=page.content_type,
            encoding=page.encoding,
            kind=page.kind,
            headers=page.headers,
            size=len(page.content),
            content=page.content,
            fetched_at=page.fetched_at,
            entry=entry,
            archive=page.archive,
            kept_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["url", "sha256"])
        .returning(col(RawPage.id))
    ).scalar()
    return None if inserted is None else int(inserted)


def _raw_page_id(session: Session, *, url: str, sha256: str) -> int | None:
    statement = select(RawPage.id).where(RawPage.url == url, RawPage.sha256 == sha256)
    return session.exec(statement).first()


def get_raw_page(session: Session, *, page_id: int) -> RawPage:
    page = session.get(RawPage, page_id)
    if page is None:
        raise NotFound(f"raw page {page_id} is not in the database")
    return page


def unfinished_pages(session: Session, *, before: datetime, limit: int = 1000) -> list[RawPage]:
    """Pages kept before ``before`` that no article came from and no failure names.

    Their chain stopped on the way: a message lost by the broker. A page superseded by a newer
    fetch of the same URL (by fetch time, then by id) is not one of them: its article is the
    newer page's.
    """
    newer = aliased(RawPage)
    kept = func.coalesce(col(RawPage.kept_at), col(RawPage.fetched_at))
    statement = (
        select(RawPage)
        .where(kept < before)
        .where(~exists().where(col(ArticleRow.raw_page_id) == RawPage.id))
        .where(~exists().where(col(Failure.raw_page_id) == RawPage.id))
        .where(
            ~exists().where(
                col(newer.url) == RawPage.url,
                (col(newer.fetched_at) > RawPage.fetched_at)
                | ((col(newer.fetched_at) == RawPage.fetched_at) & (col(newer.id) > RawPage.id)),
            )
        )
        .order_by(col(RawPage.id))
        .limit(limit)
    )
    return list(session.exec(statement))
