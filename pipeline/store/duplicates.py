"""Linking an article to its first-seen original in the store, and keeping what finds it.

The judgement (what is a copy) is :mod:`pipeline.store.fingerprints`'s; this module looks
candidates up by index (the body's digest, then the signature's bands) so that the cost of a
lookup does not grow with the number of articles stored, and keeps the links true when a stored
body changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, text, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from pipeline.store import fingerprints
from pipeline.store.tables import ArticleBand, ArticleRow


def lock(session: Session, fingerprint: fingerprints.Fingerprint) -> None:
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


@dataclass(frozen=True)
class _Stored:
    id: int
    duplicate_of: int | None
    candidate: fingerprints.Candidate


def link(
    session: Session,
    *,
    article_id: int,
    article: fingerprints.Candidate,
    fingerprint: fingerprints.Fingerprint,
    body_changed: bool,
) -> int | None:
    """Link the article just written to the first-seen original it repeats (returned; None
    when it is an original), and keep the links around it true.

    - Its own copies follow it: to its original if it now has one, and away from it if its
      new body no longer matches them.
    - An original stored after it that repeats it (stored before this body was known: an
      article from before duplicate detection, now reprocessed) becomes its copy.
    """
    found = _candidates(session, fingerprint, article_id)
    original = _original(article, found, before_id=article_id)
    session.execute(
        update(ArticleRow).where(col(ArticleRow.id) == article_id).values(duplicate_of=original)
    )
    if body_changed:
        stale = [
            copy.id
            for copy in _copies(session, article_id)
            if not fingerprints.repeats(copy.candidate, article)
        ]
        _set_original(session, stale, None)
    if original is not None:
        # Copies of a copy are copies of its original: links never chain.
        session.execute(
            update(ArticleRow)
            .where(col(ArticleRow.duplicate_of) == article_id)
            .values(duplicate_of=original)
        )
        return original
    later = [
        c.id
        for c in found
        if c.id > article_id
        and c.duplicate_of is None
        and fingerprints.repeats(c.candidate, article)
    ]
    if later:
        session.execute(
            update(ArticleRow)
            .where(col(ArticleRow.duplicate_of).in_(later))
            .values(duplicate_of=article_id)
        )
        _set_original(session, later, article_id)
    return None


def find_original(
    session: Session, *, article: fingerprints.Candidate, fingerprint: fingerprints.Fingerprint
) -> int | None:
    """The first-seen original a body not yet stored repeats (the lookup alone)."""
    return _original(article, _candidates(session, fingerprint, None), before_id=None)


def _original(
    article: fingerprints.Candidate, found: list[_Stored], *, before_id: int | None
) -> int | None:
    earlier = [
        c
        for c in found
        if (before_id is None or c.id < before_id) and fingerprints.repeats(article, c.candidate)
    ]
    first = min(earlier, key=lambda c: c.id, default=None)
    return None if first is None else (first.duplicate_of or first.id)


def _set_original(session: Session, article_ids: list[int], original: int | None) -> None:
    if article_ids:
        session.execute(
            update(ArticleRow)
            .where(col(ArticleRow.id).in_(article_ids))
            .values(duplicate_of=original)
        )


def _candidates(
    session: Session, fingerprint: fingerprints.Fingerprint, article_id: int | None
) -> list[_Stored]:
    """Stored articles (other than ``article_id``) that may repeat this body, or it them: the
    same digest, or the most bands shared. Index lookups; a few dozen rows read at most."""
    if not fingerprint.comparable:
        return []
    table = ArticleRow.__table__  # type: ignore[attr-defined]
    # Bodies with the same digest have the same words, so the same shingles as this one: no
    # body to read, nothing to compute. A wire story syndicated a thousand times costs a
    # thousand small rows here, not a thousand bodies.
    # No ORDER BY id LIMIT: on a table not yet analysed, PostgreSQL may answer that by walking
    # the primary key, a scan of every article.
    exact_rows = session.execute(
        sql_select(table.c.id, table.c.duplicate_of, table.c.canonical_url, table.c.title)
        .where(table.c.body_hash == fingerprint.body_hash)
        .limit(1000)
    )
    exact = [
        _Stored(
            id=found_id,
            duplicate_of=duplicate_of,
            candidate=fingerprints.Candidate(url=url, title=title, shingles=fingerprint.shingles),
        )
        for found_id, duplicate_of, url, title in exact_rows
        if found_id != article_id
    ]
    shared = func.count()
    banded = (
        select(ArticleBand.article_id)
        .where(col(ArticleBand.key).in_(fingerprint.bands))
        .group_by(col(ArticleBand.article_id))
        .order_by(shared.desc(), col(ArticleBand.article_id))
        .limit(fingerprints.MAX_CANDIDATES)
    )
    ids = set(session.exec(banded)) - {found.id for found in exact} - {article_id}
    return exact + (_load(session, col(ArticleRow.id).in_(sorted(ids))) if ids else [])


def _copies(session: Session, article_id: int) -> list[_Stored]:
    return _load(session, col(ArticleRow.duplicate_of) == article_id)


def _load(session: Session, condition: Any) -> list[_Stored]:
    table = ArticleRow.__table__  # type: ignore[attr-defined]
    columns = (table.c.id, table.c.duplicate_of, table.c.canonical_url, table.c.title)
    rows = session.execute(sql_select(*columns, table.c.body).where(condition))
    return [
        _Stored(
            id=found_id,
            duplicate_of=duplicate_of,
            candidate=fingerprints.Candidate(
                url=url,
                title=title,
                shingles=frozenset(fingerprints.shingles(fingerprints.words(body))),
            ),
        )
        for found_id, duplicate_of, url, title, body in rows
    ]


def save_bands(session: Session, *, article_id: int, bands: Iterable[int]) -> None:
    """Replace the article's bands with these (a reprocessed body has new ones)."""
    table = ArticleBand.__table__  # type: ignore[attr-defined]
    session.execute(delete(table).where(table.c.article_id == article_id))
    rows = [{"article_id": article_id, "key": key} for key in bands]
    if rows:
        # Core, not the ORM's bulk path: 42 plain rows, executemany.
        session.connection().execute(table.insert(), rows)
