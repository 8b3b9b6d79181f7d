"""Articles: the idempotent upsert, linked to the original they duplicate, and the reads.

As everywhere in the store: keyword-only functions over an open session; none of them
commits, the caller owns the transaction (see :func:`pipeline.store.db.session_scope`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import func, or_, text, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from pipeline.errors import InvalidMessage, NotFound
from pipeline.models import ARTICLE_KEYS, Article, StoredRef, article_json
from pipeline.store import duplicates, fingerprints
from pipeline.store.db import dialect_insert
from pipeline.store.tables import ArticleRow, ExtractorVersion, RawPage

# The article's own fields as stored; the row adds its id and keys on the canonical URL.
_ARTICLE_FIELDS = tuple(key for key in ARTICLE_KEYS if key not in {"id", "canonical_url"})
# What _article_values gives: the fields, and what the store adds.
_STORED_VALUES = (*_ARTICLE_FIELDS, "raw_page_id", "body_hash")


def upsert_article(session: Session, *, article: Article) -> StoredRef:
    """Insert the article, or update its row in place; link it to the first-seen original it
    duplicates (if any).

    The row is the one with the same canonical URL, or for a reprocessing (``article_id``)
    the article it was made from, so that a reprocessed article keeps its id whatever URL its
    page is now read to name. A page stored again under another canonical URL updates its own
    row too.
    """
    canonical_url = article.canonical_url or article.url
    if not canonical_url:
        raise InvalidMessage("an article needs a URL to be stored")
    fingerprint = fingerprints.fingerprint(article.body)
    values = _article_values(article)
    values["body_hash"] = fingerprint.body_hash if fingerprint.comparable else None
    duplicates.lock(session, fingerprint)
    now = datetime.now(UTC)
    table = ArticleRow.__table__  # type: ignore[attr-defined]
    target = _row(session, table.c.id == article.article_id) if article.article_id else None
    if target is not None:
        before = target
        if _older(session, article.page_id, target["raw_page_id"]):
            return _kept(target)
        if canonical_url != target["canonical_url"] and _row(
            session, table.c.canonical_url == canonical_url
        ):
            # Another row already has that URL: both are now one story, which the duplicate
            # link below records; this row keeps its own URL.
            canonical_url = target["canonical_url"]
        article_id: int | None = target["id"]
        session.execute(
            update(ArticleRow)
            .where(col(ArticleRow.id) == article_id)
            .values(canonical_url=canonical_url, updated_at=now, **values)
        )
    else:
        before = _stored(session, canonical_url=canonical_url, page_id=article.page_id)
        if before is not None and before["canonical_url"] != canonical_url:
            session.execute(
                update(ArticleRow)
                .where(col(ArticleRow.id) == before["id"])
                .values(canonical_url=canonical_url, updated_at=now, **values)
            )
            article_id = before["id"]
        else:
            statement = _upsert(dialect_insert(session))
            row = {"canonical_url": canonical_url, "created_at": now, "updated_at": now}
            article_id = session.execute(statement, {**row, **values}).scalar()
            if article_id is None:  # kept the newer version already stored
                return _kept(_row(session, table.c.canonical_url == canonical_url))
    assert article_id is not None
    # A stored body that changed: its bands are new, and its copies may no longer match it.
    body_changed = before is not None and before["body_hash"] != values["body_hash"]
    original = duplicates.link(
        session,
        article_id=article_id,
        article=fingerprints.Candidate(
            url=canonical_url, title=article.title, shingles=fingerprint.shingles
        ),
        fingerprint=fingerprint,
        body_changed=body_changed,
    )
    if before is None or body_changed:
        duplicates.save_bands(session, article_id=article_id, bands=fingerprint.bands)
    return StoredRef(
        article_id=article_id,
        canonical_url=canonical_url,
        created=before is None,
        extractor_version=article.extractor_version,
        changed=_changed(
            before, {**values, "canonical_url": canonical_url, "duplicate_of": original}
        ),
        duplicate_of=original,
    )


@cache
def _upsert(insert: Callable[..., Any]) -> Any:
    """The insert-or-update of an article, built once per dialect: building it for each
    article cost more CPU than running it. Its values are bound when it is executed.

    ON CONFLICT makes the write race-free: two workers storing one article leave one row. An
    article from an older fetch (a retry that arrives late, an older capture) does not
    overwrite one from a newer fetch.
    """
    table = ArticleRow.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    incoming, stored = statement.excluded.raw_page_id, table.c.raw_page_id
    return statement.on_conflict_do_update(
        index_elements=[table.c.canonical_url],
        set_={name: statement.excluded[name] for name in (*_STORED_VALUES, "updated_at")},
        where=or_(incoming.is_(None), stored.is_(None), _NEWER_PAGE),
    ).returning(table.c.id)


# Newer by fetch time, then by page id: an archive's old capture, read in after today's fetch
# of the same URL, has the higher id but not the newer page. Written out: SQLAlchemy cannot
# correlate a subquery with the row an upsert proposes.
_FETCHED = "(SELECT fetched_at FROM raw_page WHERE raw_page.id = {}.raw_page_id)"
_NEWER_PAGE = text(
    f"({_FETCHED.format('excluded')} > {_FETCHED.format('article')}"
    f" OR ({_FETCHED.format('excluded')} = {_FETCHED.format('article')}"
    " AND excluded.raw_page_id >= article.raw_page_id))"
)


def _row(session: Session, condition: Any) -> Any:
    table = ArticleRow.__table__  # type: ignore[attr-defined]
    return session.execute(select(table).where(condition)).mappings().first()


def _older(session: Session, incoming: int | None, stored: int | None) -> bool:
    """An article from an older fetch than the one stored (a late retry, an older capture read
    from an archive): it must not win. Older by fetch time, then by page id."""
    if incoming is None or stored is None or incoming == stored:
        return False
    pages = RawPage.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sql_select(pages.c.id, pages.c.fetched_at).where(pages.c.id.in_((incoming, stored)))
    ).all()
    moments = {page_id: (fetched_at, page_id) for page_id, fetched_at in rows}
    return incoming in moments and stored in moments and moments[incoming] < moments[stored]


def _kept(row: Any) -> StoredRef:
    return StoredRef(
        article_id=row["id"],
        canonical_url=row["canonical_url"],
        created=False,
        duplicate_of=row["duplicate_of"],
    )


# The fields whose change `newsflow reprocess` reports (the extractor version always changes).
_COMPARED = ("canonical_url", *_ARTICLE_FIELDS, "duplicate_of")


def _stored(session: Session, *, canonical_url: str, page_id: int | None) -> Any:
    """The stored row this article updates, as a mapping: by canonical URL, else by page."""
    table = ArticleRow.__table__  # type: ignore[attr-defined]
    row = _row(session, table.c.canonical_url == canonical_url)
    if row is None and page_id is not None:
        # The index on raw_page_id finds the page's rows (one, but for a race); no ORDER BY
        # LIMIT, which PostgreSQL may answer by walking the primary key.
        rows = session.execute(select(table).where(table.c.raw_page_id == page_id)).mappings()
        row = min(rows, key=lambda found: found["id"], default=None)
    return row


def _changed(before: Any, after: dict[str, Any]) -> tuple[str, ...]:
    if before is None:
        return ()
    return tuple(
        name
        for name in _COMPARED
        if name != "extractor_version" and _plain(before[name]) != _plain(after[name])
    )


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _article_values(article: Article) -> dict[str, Any]:
    data = article.model_dump(mode="json")
    values = {name: data[name] for name in _ARTICLE_FIELDS}
    values["published_at"] = article.published_at
    values["modified_at"] = article.modified_at
    values["raw_page_id"] = article.page_id
    return values


def note_extractor_version(session: Session, *, version: str) -> None:
    """Remember when ``version`` first stored an article (what "older" means for digests)."""
    session.execute(
        dialect_insert(session)(ExtractorVersion)
        .values(version=version, first_seen=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["version"])
    )


def extractor_versions(session: Session) -> list[ExtractorVersion]:
    """Every extractor version that has stored an article, oldest first."""
    statement = select(ExtractorVersion).order_by(col(ExtractorVersion.first_seen))
    return list(session.exec(statement))


def get_article(session: Session, *, article_id: int) -> ArticleRow:
    row = session.get(ArticleRow, article_id)
    if row is None:
        raise NotFound(f"article {article_id} is not in the database")
    return row


def list_articles(
    session: Session, *, limit: int = 20, offset: int = 0, unique: bool = False
) -> list[ArticleRow]:
    """The most recently stored articles first; with ``unique``, no duplicates."""
    statement = (
        select(ArticleRow)
        .order_by(col(ArticleRow.updated_at).desc(), col(ArticleRow.id).desc())
        .offset(offset)
        .limit(limit)
    )
    if unique:
        statement = statement.where(col(ArticleRow.duplicate_of).is_(None))
    return list(session.exec(statement))


def count_articles(session: Session, *, unique: bool = False) -> int:
    statement = select(func.count()).select_from(ArticleRow)
    if unique:
        statement = statement.where(col(ArticleRow.duplicate_of).is_(None))
    return session.exec(statement).one()


def duplicates_of(session: Session, *, article_id: int) -> list[int]:
    """The ids of the articles linked to this original, first seen first."""
    statement = (
        select(ArticleRow.id)
        .where(col(ArticleRow.duplicate_of) == article_id)
        .order_by(col(ArticleRow.id))
    )
    return [found for found in session.exec(statement) if found is not None]


def stored_json(row: ArticleRow) -> dict[str, Any]:
    """A stored article as newsflow prints and exports it: the fields of ``article --json``,
    and the original it duplicates (if any)."""
    return article_json(row_to_article(row), article_id=row.id) | {"duplicate_of": row.duplicate_of}


def row_to_article(row: ArticleRow) -> Article:
    """The stored row as the typed record the stages use."""
    return Article.model_validate(
        {name: getattr(row, name) for name in _ARTICLE_FIELDS}
        | {"canonical_url": row.canonical_url, "page_id": row.raw_page_id}
    )
