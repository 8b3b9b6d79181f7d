"""Finding an article's first-seen original in the store, and keeping what finds it.

The judgement (what is a duplicate) is :mod:`pipeline.dedup`'s; this module looks candidates
up by index (the body's digest, then the signature's bands) so that the cost of a lookup does
not grow with the number of articles stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, insert, text
from sqlmodel import Session, col, select

from .. import dedup
from .tables import ArticleBand, ArticleRow


def lock(session: Session, fingerprint: dedup.Fingerprint) -> None:
    """Hold, until the transaction ends, a lock on each key this body can be found by.

    Two near-duplicates share a band, so two workers storing them at once take turns: the
    second sees the first and links to it. On SQLite the write lock already serialises stores.
    """
    if session.get_bind().dialect.name != "postgresql" or not fingerprint.comparable:
        return
    keys = sorted({*fingerprint.bands, _key(fingerprint.body_hash)})  # one order: no deadlock
    session.execute(
        text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
        {"keys": keys},
    )


def _key(body_hash: str) -> int:
    return int.from_bytes(bytes.fromhex(body_hash[:16]), "big", signed=True)


def find_original(
    session: Session, fingerprint: dedup.Fingerprint, *, before_id: int | None = None
) -> int | None:
    """The id of the first-seen original this body repeats, among articles stored before
    ``before_id``; None when it repeats none."""
    if not fingerprint.comparable:
        return None
    earlier = [] if before_id is None else [col(ArticleRow.id) < before_id]
    # No ORDER BY id LIMIT 1: on a table not yet analysed, PostgreSQL would answer that by
    # walking the primary key, a scan of every article. Exact copies are few; the first wins.
    exact = session.exec(
        select(ArticleRow.id, ArticleRow.duplicate_of)
        .where(col(ArticleRow.body_hash) == fingerprint.body_hash, *earlier)
        .limit(1000)
    ).all()
    if exact:
        first_id, original = min(exact, key=lambda row: row[0] or 0)
        return original or first_id
    candidates = _candidates(session, fingerprint.bands, before_id)
    if not candidates:
        return None
    rows = session.exec(
        select(ArticleRow.id, ArticleRow.duplicate_of, ArticleRow.body)
        .where(col(ArticleRow.id).in_(candidates))
        .order_by(col(ArticleRow.id))
    )
    for article_id, duplicate_of, body in rows:
        other = frozenset(dedup.shingles(dedup.words(body)))
        if dedup.similarity(fingerprint.shingles, other).duplicate:
            return duplicate_of or article_id
    return None


def _candidates(session: Session, bands: Iterable[int], before_id: int | None) -> list[int]:
    """The articles sharing most bands with this one, best first."""
    keys = list(bands)
    if not keys:
        return []
    shared = func.count()
    statement = (
        select(ArticleBand.article_id)
        .where(col(ArticleBand.key).in_(keys))
        .group_by(col(ArticleBand.article_id))
        .order_by(shared.desc(), col(ArticleBand.article_id))
        .limit(dedup.MAX_CANDIDATES)
    )
    if before_id is not None:
        statement = statement.where(col(ArticleBand.article_id) < before_id)
    return list(session.exec(statement))


def save_bands(session: Session, *, article_id: int, bands: Iterable[int]) -> None:
    """Replace the article's bands with these (a reprocessed body has new ones)."""
    session.execute(delete(ArticleBand).where(col(ArticleBand.article_id) == article_id))
    rows = [{"article_id": article_id, "key": key} for key in bands]
    if rows:
        session.execute(insert(ArticleBand), rows)
