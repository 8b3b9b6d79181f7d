"""The extract stage: the structured article, field by field from the best source for it.

The publisher's own statements (JSON-LD, OpenGraph, ``<meta>``) win where they exist, since they
are exact; trafilatura's metadata and htmldate fill what they leave out; the cleaned document
gives the body, captions, breadcrumbs and teasers.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta, timezone

import htmldate
import py3langid
import trafilatura
from dateutil import parser as date_parser

from .clean import parse_html
from .metadata import PageMetadata, read_metadata, split_names
from .models import Article, CleanedDocument, Image
from .urls import choose_canonical
from .version import extractor_version

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


def extract(document: CleanedDocument, html: str | None = None) -> Article:
    """Build the article from the cleaned document and, for HTML, the page's own metadata."""
    meta, headlines = (
        _page_metadata(html, document.url)
        if html is not None and document.kind == "html"
        else (None, [])
    )
    title = (meta.title if meta else None) or document.title
    body = "\n\n".join(_without_headline(document.paragraphs, title, document.title, *headlines))
    breadcrumbs = [
        crumb
        for crumb in (meta.breadcrumbs if meta and meta.breadcrumbs else document.breadcrumbs)
        if crumb.lower() not in _HOME
    ]
    section = (meta.section if meta else None) or (breadcrumbs[0] if breadcrumbs else None)
    tags = list(meta.tags if meta else [])
    for crumb in breadcrumbs[1:]:
        if crumb not in tags:
            tags.append(crumb)
    images = list(document.images)
    if meta and meta.image and all(image.url != meta.image for image in images):
        images.insert(0, Image(url=meta.image))
    return Article(
        url=document.url,
        canonical_url=choose_canonical(document.url, meta.canonical_url if meta else None),
        title=title,
        description=(meta.description if meta else None) or document.description,
        authors=tuple((meta.authors if meta else None) or document.authors),
        published_at=parse_datetime(meta.published if meta else document.date_text),
        modified_at=parse_datetime(meta.modified if meta else None),
        section=section,
        tags=tuple(tags),
        language=_language(body, meta.language if meta else None),
        site_name=meta.site_name if meta else None,
        body=body,
        images=tuple(images),
        related=document.related,
        word_count=len(_WORD.findall(body)),
        extractor_version=extractor_version(),
        page_id=document.page_id,
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


def _page_metadata(html: str, url: str | None) -> tuple[PageMetadata, list[str]]:
    """The page's metadata, and every headline it shows (to keep them out of the body)."""
    tree = parse_html(html)
    meta = read_metadata(tree)
    headlines = [element.text_content() for element in tree.xpath("//h1")[:3]]
    fallback = trafilatura.extract_metadata(tree, default_url=url, extensive=False)
    if fallback is not None:
        headlines.append(fallback.title or "")
        meta.title = meta.title or fallback.title
        meta.description = meta.description or fallback.description
        if not meta.authors and fallback.author:
            meta.authors = [
                name for part in fallback.author.split(";") for name in split_names(part)
            ]
        meta.site_name = meta.site_name or fallback.sitename
        if not meta.tags and fallback.tags:
            meta.tags = list(fallback.tags)
        if not meta.section and fallback.categories:
            meta.section = fallback.categories[0]
    if not meta.published:
        meta.published = htmldate.find_date(
            tree, url=url, original_date=True, extensive_search=False
        )
    return meta, headlines


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
    if len(_WORD.findall(body)) >= 20:
        code, _ = py3langid.classify(body[:20_000])
        return str(code)
    return declared_code
