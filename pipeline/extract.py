"""The extract stage: the structured article, field by field from the best source for it.

The publisher's own statements (JSON-LD, OpenGraph, ``<meta>``) win where they exist, since they
are exact; trafilatura's metadata and htmldate fill what they leave out; the cleaned document
gives the body, captions, breadcrumbs and teasers.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta, timezone

import py3langid
from dateutil import parser as date_parser

from .bylines import names_from_byline
from .models import Article, CleanedDocument, FeedEntry, Image, PageMetadata
from .urls import choose_canonical
from .version import extractor_version
from .words import word_count

_WORD = re.compile(r"\w+", re.UNICODE)
_HOME = {"home", "homepage", "start", "startseite", "accueil", "inicio", "portada"}
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
# Zone abbreviations news sites print after a time; dateutil knows none of them by itself.
_HOURS = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "WET": 0,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "MEZ": 1,
    "MESZ": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
    "IST": 5.5,
    "SGT": 8,
    "HKT": 8,
    "JST": 9,
    "KST": 9,
    "AEST": 10,
    "AEDT": 11,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
}
_TZINFOS = {name: timezone(timedelta(hours=hours)) for name, hours in _HOURS.items()}


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
    images = list(document.images)
    if page.image and all(image.url != page.image for image in images):
        images.insert(0, Image(url=page.image))
    return Article(
        url=document.url,
        canonical_url=choose_canonical(document.url, page.canonical_url),
        title=title,
        description=page.description or document.description or entry.summary,
        authors=page.authors
        or document.authors
        or tuple(names_from_byline(entry.author) if entry.author else ()),
        agencies=page.agencies or document.agencies,
        published_at=parse_datetime(page.published or document.date_text) or entry.published,
        modified_at=parse_datetime(page.modified),
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


def parse_datetime(value: str | None) -> datetime | None:
    """An ISO 8601 or human date; None when absent, unreadable or implausible."""
    if not value:
        return None
    try:
        with warnings.catch_warnings():
            # An unknown zone name leaves the time naive, which is what we want, quietly.
            warnings.simplefilter("ignore", date_parser.UnknownTimezoneWarning)
            parsed = date_parser.parse(value, fuzzy=True, tzinfos=_TZINFOS)
    except (ValueError, OverflowError):
        return None
    comparable = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if comparable < _EARLIEST or comparable > datetime.now(UTC) + timedelta(days=2):
        return None
    return parsed


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
