"""Reading and writing the store.

Keyword-only functions over an open session; none of them commits: the caller owns the
transaction (see :func:`pipeline.store.db.session_scope`). Writes are idempotent, so a task that
runs twice leaves the same rows as one that ran once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from pipeline.errors import NewsflowError, NotFound, TransientError
from pipeline.fetch.download import FetchedPage
from pipeline.models import ARTICLE_KEYS, Article, StoredRef
from pipeline.store import duplicates, fingerprints
from pipeline.store.tables import ArticleRow, ExtractorVersion, Failure, RawPage, SeenUrl, Source

# The article's own fields as stored; the row adds its id and keys on the canonical URL.
_ARTICLE_FIELDS = tuple(key for key in ARTICLE_KEYS if key not in {"id", "canonical_url"})


def save_raw_page(
    session: Session, *, page: FetchedPage, entry: dict[str, Any] | None = None
) -> int:
    """Keep the fetched bytes, with what the feed said of them (``entry``); the same bytes
    from the same URL are stored once."""
    sha256 = page.sha256
    existing = _raw_page_id(session, url=page.url, sha256=sha256)
    if existing is not None:
        if entry is not None:
            # The same bytes, now found in a feed: keep what the feed says of them.
            stored = session.get(RawPage, existing)
            if stored is not None and not stored.entry:
                stored.entry = entry
        return existing
    row = RawPage(
        source=page.source,
        url=page.url,
        sha256=sha256,
        status_code=page.status_code,
        content_type=page.content_type,
        encoding=page.encoding,
        kind=page.kind,
        headers=page.headers,
        size=len(page.content),
        content=page.content,
        fetched_at=page.fetched_at,
        entry=entry,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another worker stored the same page between our look and our write.
        existing = _raw_page_id(session, url=page.url, sha256=sha256)
        if existing is None:
            raise
        return existing
    assert row.id is not None
    return row.id


def _raw_page_id(session: Session, *, url: str, sha256: str) -> int | None:
    statement = select(RawPage.id).where(RawPage.url == url, RawPage.sha256 == sha256)
    return session.exec(statement).first()


def get_raw_page(session: Session, *, page_id: int) -> RawPage:
    page = session.get(RawPage, page_id)
    if page is None:
        raise NotFound(f"raw page {page_id} is not in the database")
    return page


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
        raise ValueError("an article needs a URL to be stored")
    fingerprint = fingerprints.fingerprint(article.body)
    values = _article_values(article)
    values["body_hash"] = fingerprint.body_hash if fingerprint.comparable else None
    duplicates.lock(session, fingerprint)
    now = datetime.now(UTC)
    table = ArticleRow.__table__  # type: ignore[attr-defined]
    target = _row(session, table.c.id == article.article_id) if article.article_id else None
    if target is not None:
        before = target
        if _older(article.page_id, target["raw_page_id"]):
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
            statement = _insert(session)(ArticleRow).values(
                canonical_url=canonical_url, created_at=now, updated_at=now, **values
            )
            # ON CONFLICT makes the write race-free: two workers storing one article leave one
            # row. An article from an older fetch (a lower raw page id: a retry that arrives
            # late) does not overwrite one from a newer fetch.
            incoming = statement.excluded.raw_page_id
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.canonical_url],
                set_={**values, "updated_at": now},
                where=(
                    incoming.is_(None)
                    | table.c.raw_page_id.is_(None)
                    | (incoming >= table.c.raw_page_id)
                ),
            ).returning(table.c.id)
            article_id = session.execute(statement).scalar()
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


def _row(session: Session, condition: Any) -> Any:
    table = ArticleRow.__table__  # type: ignore[attr-defined]
    return session.execute(select(table).where(condition)).mappings().first()


def _older(incoming: int | None, stored: int | None) -> bool:
    """An article from an older fetch than the one stored (a late retry): it must not win."""
    return incoming is not None and stored is not None and incoming < stored


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


def _insert(session: Session) -> Any:
    """The dialect's own insert(): both spell an upsert as ON CONFLICT ... DO UPDATE."""
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[
        session.get_bind().dialect.name
    ]


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
        _insert(session)(ExtractorVersion)
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


def row_to_article(row: ArticleRow) -> Article:
    """The stored row as the typed record the stages use."""
    return Article.model_validate(
        {name: getattr(row, name) for name in _ARTICLE_FIELDS}
        | {"canonical_url": row.canonical_url, "page_id": row.raw_page_id}
    )


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
        _insert(session)(Failure)
        .values(stage=stage, item=item, first_seen=now, **values)
        .on_conflict_do_update(index_elements=["stage", "item"], set_=values)
    )
    session.execute(statement)


def failure_for_task(session: Session, *, task_id: str) -> Failure | None:
    """The failure a task recorded, if it recorded one."""
    return session.exec(select(Failure).where(Failure.task_id == task_id)).first()


def resolve_failures(session: Session, *, stage: str, item: str) -> None:
    """Mark an item's open failures at ``stage`` resolved: it has since gone through."""
    session.execute(
        update(Failure)
        .where(
            col(Failure.stage) == stage, col(Failure.item) == item, col(Failure.resolved).is_(False)
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


def unfinished_pages(session: Session, *, before: datetime, limit: int = 1000) -> list[RawPage]:
    """Pages fetched before ``before`` that no article came from and no failure names.

    Their chain stopped on the way: a message lost by the broker. A page superseded by a newer
    fetch of the same URL is not one of them.
    """
    newer = aliased(RawPage)
    statement = (
        select(RawPage)
        .where(col(RawPage.fetched_at) < before)
        .where(~exists().where(col(ArticleRow.raw_page_id) == RawPage.id))
        .where(~exists().where(col(Failure.raw_page_id) == RawPage.id))
        .where(~exists().where(col(newer.url) == RawPage.url, col(newer.id) > RawPage.id))
        .order_by(col(RawPage.id))
        .limit(limit)
    )
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


# --- sources -----------------------------------------------------------------------------------


def add_source(
    session: Session, *, url: str, name: str | None, interval: int, rate: float | None
) -> tuple[Source, bool]:
    """The source for ``url``, created if new; (source, created)."""
    existing = session.exec(select(Source).where(Source.url == url)).first()
    if existing is not None:
        return existing, False
    source = Source(
        url=url,
        name=name,
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


def mark_seen(session: Session, *, urls: list[str], source_id: int | None) -> list[str]:
    """Record ``urls`` as seen; returns those this call was first to record (race-free)."""
    first: list[str] = []
    for url in dict.fromkeys(urls):
        statement = (
            _insert(session)(SeenUrl)
            .values(url=url, source_id=source_id, first_seen=datetime.now(UTC))
            .on_conflict_do_nothing(index_elements=["url"])
            .returning(SeenUrl.__table__.c.id)  # type: ignore[attr-defined]
        )
        if session.execute(statement).scalar() is not None:
            first.append(url)
    return first
