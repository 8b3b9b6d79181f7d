"""The extract stage: the structured article, field by field from the best source for it.

The publisher's own statements (JSON-LD, OpenGraph, ``<meta>``) win where they exist, since they
are exact; trafilatura's metadata and htmldate fill what they leave out; the cleaned document
gives the body, captions, breadcrumbs and teasers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import py3langid

from pipeline.extract.agencies import agencies_in_text
from pipeline.extract.bylines import credits
from pipeline.extract.dates import combine, load_date_parser, with_zone
from pipeline.extract.timestamps import Stamp, parse_stamp
from pipeline.models import Article, CleanedDocument, FeedEntry, Image, PageMetadata
from pipeline.urls import choose_canonical
from pipeline.version import extractor_version
from pipeline.words import word_count

_WORD = re.compile(r"\w+", re.UNICODE)
_HOME = {"home", "homepage", "start", "startseite", "accueil", "inicio", "portada"}


def extract(document: CleanedDocument) -> Article:
    """Build the article from the cleaned document, field by field from the best source.

    For HTML the page's own statements (``document.page``) come first; the cleaned text and
    what was kept apart from it (captions, breadcrumbs, a byline, a date line) fill the rest.
    """
    page = document.page or PageMetadata()
    # A feed's statements come last: the page knows itself better than a listing does.
    entry = document.entry or FeedEntry(url=document.url or "")
    title = page.title or document.title or entry.title
    headlines = (title, document.title, *page.headlines)
    body = "\n\n".join(_without_headline(document.paragraphs, *headlines))
    crumbs = page.breadcrumbs or document.breadcrumbs
    # A breadcrumb trail runs from the home page to the article itself; neither is a topic.
    breadcrumbs = [
        crumb for crumb in crumbs if crumb.lower() not in _HOME and _key(crumb) != _key(title or "")
    ]
    tags = list(page.tags)
    for crumb in breadcrumbs[1:]:
        if _key(crumb) not in {_key(tag) for tag in tags}:
            tags.append(crumb)
    published = published_date(page, document.date_text, entry.published)
    feed_authors, feed_agencies = credits(entry.author) if entry.author else ([], [])
    images = list(document.images)
    if page.image and all(image.url != page.image for image in images):
        images.insert(0, Image(url=page.image))
    return Article(
        url=document.url,
        canonical_url=choose_canonical(document.url, page.canonical_url),
        title=title,
        description=page.description or document.description or entry.summary,
        authors=page.authors or document.authors or tuple(feed_authors),
        # A wire story credits its agency in the byline, or else in a dateline or a credit
        # line of the text ("BERLIN (dpa) -", "© 2025 The Associated Press"), which the clean
        # stage reads before it refines such lines away (``document.agencies``).
        agencies=page.agencies
        or document.agencies
        or tuple(feed_agencies)
        or tuple(agencies_in_text(body)),
        published_at=published.at if published else document.captured_at,
        published_precision=published.precision
        if published
        else ("captured" if document.captured_at else None),
        modified_at=page.modified,
        section=page.section or (breadcrumbs[0] if breadcrumbs else None),
        tags=tuple(tags),
        language=_language(body, page.language),
        site_name=page.site_name,
        body=body,
        images=tuple(images),
        related=document.related,
        word_count=word_count(body),
        extractor_version=extractor_version(),
        page_id=document.page_id,
        article_id=document.article_id,
    )


def _without_headline(paragraphs: tuple[str, ...], *titles: str | None) -> list[str]:
    """The body without a leading repeat of the headline, which the text extractor keeps."""
    keys = {_key(title) for title in titles if title}
    kept = list(paragraphs)
    while kept and _key(kept[0]) in keys:
        kept.pop(0)
    return kept


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def published_date(
    page: PageMetadata, date_text: str | None, feed_date: datetime | None
) -> Stamp | None:
    """When the article was published: the page's own statement, else its date line, with
    the feed's date filling in what they leave out (or standing in when they state nothing).

    The feed knows the moment it listed the item, the page the day its readers see: a page's
    day takes the feed's time when both fall on one day, and a local time its zone when the
    two are one moment.
    """
    stated = Stamp(page.published, page.published_precision or "time") if page.published else None
    stated = stated or parse_stamp(date_text)
    listed = _feed_stamp(feed_date)
    if stated is None or listed is None:
        return stated or listed
    return with_zone(combine(stated, listed), listed)


def _feed_stamp(value: datetime | None) -> Stamp | None:
    """A feed's date: a moment in UTC, unless it is a bare midnight (a sitemap's day)."""
    if value is None:
        return None
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    if moment.utcoffset() == timedelta(0) and moment.time() == time():
        return Stamp(moment, "day")
    return Stamp(moment, "time")


def load_models() -> None:
    """Load now what extraction otherwise builds on first use, in each process that extracts:
    the language identifier's model (0.6 s of CPU) and dateparser's locale patterns (3 s). A
    worker calls this before its pool forks, so that every pool process starts with them in
    memory it shares with the others."""
    py3langid.classify("")
    load_date_parser()


def _language(body: str, declared: str | None) -> str | None:
    """ISO 639-1 code: detected from a long enough body, else the page's declaration."""
    declared_code = None
    if declared:
        match = re.match(r"^\s*([A-Za-z]{2})(?:[-_]|$)", declared)
        declared_code = match.group(1).lower() if match else None
    if len(_WORD.findall(body[:2000])) >= 20:
        # The first paragraphs decide the language as well as the whole text does, faster.
        code, _ = py3langid.classify(body[:1500])
        return str(code)
    return declared_code
