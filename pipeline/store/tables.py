"""The database tables. Changing one means a new Alembic migration (``make migration``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class IsoDateTime(TypeDecorator[datetime]):
    """A datetime kept as ISO 8601 text, so a publisher's UTC offset (or its absence) survives.

    SQLite drops offsets and PostgreSQL's timestamptz drops the original one; an article's
    "published 09:00 +02:00" is worth keeping as said.
    """

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return value.isoformat() if value is not None else None

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        return datetime.fromisoformat(value) if value else None


class RawPage(SQLModel, table=True):
    """A page exactly as it was fetched; the same bytes from the same URL are one row."""

    __tablename__ = "raw_page"
    __table_args__ = (UniqueConstraint("url", "sha256", name="uq_raw_page_url_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_column=Column(Text, nullable=False))
    url: str = Field(sa_column=Column(Text, nullable=False, index=True))
    sha256: str = Field(max_length=64)
    status_code: int | None = None
    content_type: str | None = None
    encoding: str
    kind: str = Field(max_length=8)
    headers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    fetched_at: datetime
    # What the feed said about the item (a FeedEntry), so that reprocessing the page from its
    # bytes fills the same gaps the first extraction filled from the feed.
    entry: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # The web archive (WARC) the page was read from, by file name; None for a page fetched or
    # read here. Its fetched_at is then the archive's capture date.
    archive: str | None = Field(default=None, sa_column=Column(Text))
    # When the row was written: for a page from an archive, long after its fetched_at. What
    # `newsflow reconcile` measures a stopped chain by.
    kept_at: datetime | None = None


class ArticleRow(SQLModel, table=True):
    """One article, keyed by its canonical URL; storing it again updates the row in place."""

    __tablename__ = "article"
    # Only duplicates are indexed by their original: with every original's NULL in it, the
    # index would look useless to SQLite's planner once analysed (it counts NULLs as equal).
    __table_args__ = (
        Index(
            "ix_article_duplicate_of",
            "duplicate_of",
            sqlite_where=text("duplicate_of IS NOT NULL"),
            postgresql_where=text("duplicate_of IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    canonical_url: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    url: str | None = Field(default=None, sa_column=Column(Text))
    title: str | None = Field(default=None, sa_column=Column(Text))
    description: str | None = Field(default=None, sa_column=Column(Text))
    authors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    agencies: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    published_at: datetime | None = Field(default=None, sa_column=Column(IsoDateTime, index=True))
    published_precision: str | None = Field(default=None, max_length=12)
    modified_at: datetime | None = Field(default=None, sa_column=Column(IsoDateTime))
    section: str | None = None
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str | None = Field(default=None, max_length=8)
    site_name: str | None = None
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    images: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    related: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    word_count: int = 0
    extractor_version: str = Field(index=True)
    raw_page_id: int | None = Field(default=None, foreign_key="raw_page.id", index=True)
    # The normalised body's digest: an exact duplicate is one index lookup away.
    body_hash: str | None = Field(default=None, max_length=64, index=True)
    # The first-seen article this one repeats (a wire copy, a re-post); never a duplicate itself.
    duplicate_of: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="SET NULL")),
    )
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow, index=True)


class ArticleBand(SQLModel, table=True):
    """One band of an article's MinHash signature (see ``pipeline.store.fingerprints``).

    Near-duplicates share at least one band with high probability, so finding candidates is an
    index lookup on ``key``, whatever the number of articles stored.
    """

    __tablename__ = "article_band"
    __table_args__ = (Index("ix_article_band_key", "key"),)

    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    key: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class ExtractorVersion(SQLModel, table=True):
    """Each extractor version that has stored an article, and when it first did.

    Versions are digests, so "older than" means "first seen earlier".
    """

    __tablename__ = "extractor_version"

    version: str = Field(sa_column=Column(String(64), primary_key=True))
    first_seen: datetime = Field(default_factory=utcnow)


class Failure(SQLModel, table=True):
    """A recorded failure of one stage for one item: what failed, why, and how often."""

    __tablename__ = "failure"
    __table_args__ = (UniqueConstraint("stage", "item", name="uq_failure_stage_item"),)

    id: int | None = Field(default=None, primary_key=True)
    stage: str = Field(max_length=16, index=True)
    # What the stage was working on: the source URL or path, or "page:<id>".
    item: str = Field(sa_column=Column(Text, nullable=False))
    raw_page_id: int | None = Field(default=None, foreign_key="raw_page.id", index=True)
    reason: str = Field(max_length=64, index=True)
    error_type: str = Field(max_length=128)
    message: str = Field(sa_column=Column(Text, nullable=False))
    retryable: bool = False
    attempts: int = 1
    task_id: str | None = Field(default=None, index=True)
    # What `newsflow failures retry` sends back into the queues: the fetch task's source and
    # feed entry, or the raw page a later stage worked on. Small by design: never a body.
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    first_seen: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)
    resolved: bool = Field(default=False, index=True)
    replays: int = 0
    replayed_at: datetime | None = None


class Source(SQLModel, table=True):
    """A feed, sitemap or site that newsflow polls, with the state of its polling."""

    __tablename__ = "source"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    name: str | None = None
    # What the last successful poll found there: rss, atom, sitemap, news-sitemap, ...
    kind: str | None = Field(default=None, max_length=16)
    base_interval: int = 600
    interval: int = 600
    rate_limit: float | None = None  # requests per second to this source's host
    paused: bool = Field(default=False, index=True)
    etag: str | None = Field(default=None, sa_column=Column(Text))
    last_modified: str | None = None
    last_polled_at: datetime | None = None
    next_poll_at: datetime | None = Field(default=None, index=True)
    last_status: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    new_items: int = 0
    errors_in_row: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class SeenUrl(SQLModel, table=True):
    """A canonical item URL that has entered the article chain once; looked up by index."""

    __tablename__ = "seen_url"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    first_seen: datetime = Field(default_factory=utcnow)


class Outbox(SQLModel, table=True):
    """An item sent to the fetch queue and not yet fetched, nor failed for good.

    Written in the transaction that decides to send the item, before the message goes out;
    deleted by the fetch stage when it keeps the page or records the failure. A row still
    here long after it was due means the message was lost, and ``newsflow reconcile`` sends
    the item again.
    """

    __tablename__ = "outbox"

    source: str = Field(sa_column=Column(Text, primary_key=True))
    # What the fetch task is sent with: {"source", "entry", "rate"}.
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    sent_at: datetime = Field(default_factory=utcnow)
    # When the fetch should have happened by: when it was sent, moved on by each wait for a
    # rate slot or a retry, so that an item waiting its turn is not taken for lost.
    due_at: datetime = Field(default_factory=utcnow, index=True)
    sends: int = 1


class HealthCounts(SQLModel):
    """What is counted of each page: duplicates, and the articles that filled each of
    the fields whose fill rate health follows (:data:`pipeline.health.tally.FIELDS`; a failure
    fills none)."""

    duplicates: int = 0
    title: int = 0
    authors: int = 0
    published: int = 0
    body: int = 0
    language: int = 0
    image: int = 0


class HealthDay(HealthCounts, table=True):
    """One day of the pages of one source (or, for pages from no source, one host), counted
    by outcome and body length: the baseline a source's recent pages are compared with.

    ``scope`` is ``source:<id>`` or ``host:<name>``. ``outcome`` is ``article`` or the reason
    of a failure (``interstitial:consent``, ``http_404``, ...). An article's body length is
    counted by ``words_bin`` (:func:`pipeline.health.tally.words_bin`), so that medians
    can be read back from the sums; a failure's is -1. Each page adds one to one row, an
    upsert: a day of 100,000 articles is a few thousand rows.
    """

    __tablename__ = "health_day"
    # One scope's days (an alarm's baseline, one source's report) without reading all scopes'.
    __table_args__ = (Index("ix_health_day_scope_day", "scope", "day"),)

    day: date = Field(sa_column=Column(Date, primary_key=True))
    scope: str = Field(sa_column=Column(Text, primary_key=True))
    outcome: str = Field(sa_column=Column(String(64), primary_key=True))
    words_bin: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    pages: int = 0


class HealthRecent(HealthCounts, table=True):
    """One page lately seen of a source or host, as :class:`HealthDay` counted it: the
    recent window a drift alarm judges, which daily sums cannot cut at an article.

    Kept for a day and, past that, for the last few of each scope only.
    """

    __tablename__ = "health_recent"
    __table_args__ = (Index("ix_health_recent_scope_id", "scope", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_column=Column(Text, nullable=False))
    seen_at: datetime = Field(index=True)
    outcome: str = Field(max_length=64)
    words_bin: int = -1


class HealthAlarm(SQLModel, table=True):
    """A source (or host) found degraded, and from when: while the alarm stands, its recent
    pages are compared with the weeks before ``since``, so that the broken pages never become
    the past they are judged against. Deleted when the figures return, or after the horizon,
    when the new figures have become the source's normal."""

    __tablename__ = "health_alarm"

    scope: str = Field(sa_column=Column(Text, primary_key=True))
    since: datetime
    # The pages the alarm was raised against (a Tally, as JSON): kept whole, as the counts
    # they came from age out of the horizon and out of the recent rows.
    baseline: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
