"""The typed records that pass between stages.

Each is frozen and round-trips through JSON, which is what travels through Redis. None holds a
raw page: a stage that needs the page's bytes re-reads them by ``page_id``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["html", "text"]


@dataclass(frozen=True)
class FetchedPage:
    """A page as it arrived: the raw bytes and what the response said about them.

    Kept by the fetch stage in one process; never sent through Redis (``PageRef`` is).
    """

    source: str
    url: str
    content: bytes
    kind: Kind
    encoding: str
    content_type: str | None
    status_code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The web archive the page was read from (its file name), fetched_at being its capture.
    archive: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Selection:
    """Which stored articles to reprocess. By default: every article an extractor other than
    this one made."""

    everything: bool = False  # every article, whatever made it
    older_than_version: str | None = None  # made by a version first seen before this one
    since: datetime | None = None  # first stored at or after this
    source: str | None = None  # a source's id or URL, or a site's host name
    # Leave out pages whose last reprocessing failed for good: the scheduled run would
    # otherwise send the same ones first every night (`newsflow failures retry` has them).
    skip_failed: bool = False


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FeedEntry(Record):
    """One item of a feed or sitemap: where the article is, and what the feed says about it.

    The feed's statements fill fields the page itself leaves empty.
    """

    url: str
    title: str | None = None
    published: datetime | None = None
    author: str | None = None
    summary: str | None = None


class ParsedFeed(Record):
    """A feed or sitemap, parsed: its items, and for a sitemap index the sitemaps it lists."""

    kind: Literal["rss", "atom", "rdf", "json", "sitemap", "sitemap-index", "news-sitemap"]
    title: str | None = None
    entries: tuple[FeedEntry, ...] = ()
    sitemaps: tuple[str, ...] = ()


class PageRef(Record):
    """A fetched page, saved in the database; what the fetch stage hands on."""

    page_id: int
    url: str
    entry: FeedEntry | None = Field(None, description="What the feed said about this item.")
    article_id: int | None = Field(
        None, description="The stored article a reprocessing of this page updates."
    )


class Image(Record):
    url: str | None = None
    caption: str | None = None
    credit: str | None = None


class Link(Record):
    title: str
    url: str | None = None


# "captured": no source stated the date; a web archive's capture of the page stands in for it.
DatePrecision = Literal["day", "time", "local-time", "captured"]


class PageMetadata(Record):
    """What an HTML page says about itself (JSON-LD, OpenGraph, ``<meta>``, its markup).

    Dates are read and weighed by :mod:`pipeline.extract.dates`, with the precision of the
    publication date as :class:`Article` describes it; the extract stage adds the feed's.
    """

    title: str | None = Field(None, description="The headline, the site's name taken off.")
    headlines: tuple[str, ...] = Field(
        (), description="Every form of the headline shown: first h1, og:title, <title>."
    )
    description: str | None = None
    authors: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    published: datetime | None = None
    published_precision: DatePrecision | None = None
    modified: datetime | None = None
    section: str | None = None
    tags: tuple[str, ...] = Field((), description="Keywords, the headline's own words left out.")
    site_name: str | None = Field(None, description="The outlet, where the page names it.")
    canonical_url: str | None = None
    image: str | None = Field(None, description="The lead image's URL (og:image, JSON-LD).")
    language: str | None = Field(
        None, description="As the page declares it (<html lang>, og:locale)."
    )
    breadcrumbs: tuple[str, ...] = Field((), description="The trail of sections, top first.")


class CleanedDocument(Record):
    """The page with everything that is not the article taken away.

    What was removed but still tells something about the article (captions, breadcrumbs,
    teasers, a "Published ..." line) is kept apart here, for the extract stage.
    """

    page_id: int | None = None
    url: str | None = None
    kind: Literal["html", "text"]
    title: str | None = None
    description: str | None = None
    authors: tuple[str, ...] = ()
    agencies: tuple[str, ...] = ()
    paragraphs: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[Link, ...] = ()
    breadcrumbs: tuple[str, ...] = ()
    date_text: str | None = None
    page: PageMetadata | None = Field(
        None, description="For HTML: the page's statements about itself, read in the same pass."
    )
    entry: FeedEntry | None = Field(None, description="What a feed said about this item.")
    captured_at: datetime | None = Field(
        None, description="For a page read from a web archive: when the archive captured it."
    )
    article_id: int | None = Field(None, description="The stored article this one updates.")


class Article(Record):
    """The structured article: what the extract stage produces and the store stage keeps.

    Dates are always timezone-aware, so that any two can be compared. How much of
    ``published_at`` a source stated is in ``published_precision``:

    - ``"time"``: the moment, with the UTC offset the source gave;
    - ``"local-time"``: a wall-clock time the page gave without its zone, kept as if UTC;
    - ``"day"``: the day only, kept as 00:00 UTC of that day;
    - ``"captured"``: no source stated it; for a page read from a web archive, the moment it
      was captured stands in (the story was published then or before).
    """

    url: str | None = None
    canonical_url: str | None = None
    title: str | None = None
    description: str | None = None
    authors: tuple[str, ...] = Field((), description="People who wrote it, in byline order.")
    agencies: tuple[str, ...] = Field((), description="News agencies credited (AP, Reuters...).")
    published_at: datetime | None = None
    published_precision: DatePrecision | None = None
    modified_at: datetime | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    site_name: str | None = None
    body: str = ""
    images: tuple[Image, ...] = ()
    related: tuple[Link, ...] = ()
    word_count: int = 0
    extractor_version: str
    page_id: int | None = Field(None, description="The raw page this article was extracted from.")
    article_id: int | None = Field(
        None, description="The stored article this one updates (a reprocessing), by id."
    )


ARTICLE_KEYS = (
    "id",
    "url",
    "canonical_url",
    "title",
    "description",
    "authors",
    "agencies",
    "published_at",
    "published_precision",
    "modified_at",
    "section",
    "tags",
    "language",
    "site_name",
    "body",
    "images",
    "related",
    "word_count",
    "extractor_version",
)


def article_json(article: Article, *, article_id: int | None = None) -> dict[str, Any]:
    """The article as newsflow prints it (``--json``): the keys of ``ARTICLE_KEYS``, in order."""
    data = article.model_dump(mode="json")
    data["id"] = article_id
    return {key: data[key] for key in ARTICLE_KEYS}


class StoredRef(Record):
    """What the store stage reports: the article's row and whether it was new."""

    article_id: int
    canonical_url: str
    created: bool
    changed: tuple[str, ...] = Field((), description="Fields this store changed in a stored row.")
    duplicate_of: int | None = Field(None, description="The first-seen original it repeats.")
    extractor_version: str | None = Field(None, description="The extractor that made it.")
