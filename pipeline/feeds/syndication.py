"""RSS (0.9x, 1.0, 2.0), Atom and RDF, read with feedparser.

feedparser copes with the broken encodings and markup real feeds have. It is handed a stream,
never bytes that it might take for a file's path, and a charset where the feed names none and
is not UTF-8.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any, Literal

import feedparser

from pipeline.errors import MalformedFeed, NewsflowError
from pipeline.feeds.fields import cap, html_text, squash, web_url
from pipeline.fetch.encoding import charset_from_content_type, detect_encoding
from pipeline.models import FeedEntry, ParsedFeed

__all__ = ["parse_syndication"]

SyndicationKind = Literal["rss", "atom", "rdf"]

_XML_ENCODING = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*\bencoding\s*=", re.I)


def parse_syndication(content: bytes, *, url: str, content_type: str | None) -> ParsedFeed:
    """An RSS, Atom or RDF feed's items with a web link, each once.

    ``MalformedFeed`` for a document that is no feed, and for a broken one that yields nothing
    usable: "not readable" must not pass for "no news today".
    """
    # A stream, not the bytes themselves: feedparser treats a bytes argument that names an
    # existing file as that file's path, so a body of b"/etc/passwd" would read it.
    result = feedparser.parse(
        io.BytesIO(content),
        response_headers={
            "content-location": url,
            "content-type": _with_charset(content, content_type) or "",
        },
    )
    version = str(result.get("version") or "")
    raw_entries = list(result.get("entries") or [])
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if isinstance(problem, feedparser.NonXMLContentType):
        # Only the server's label is wrong (text/html, text/plain, none at all): the document
        # itself parsed, and an empty but well-formed feed is still a feed.
        problem = None
    if not raw_entries and (not version or problem is not None):
        detail = f" ({problem})" if problem is not None else ""
        raise MalformedFeed(f"{url}: not a feed or sitemap{detail}")

    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for raw in raw_entries:
        # dict.get, not FeedParserDict.get: the latter maps a missing "updated_parsed" onto
        # "published_parsed" with a DeprecationWarning.
        parsed_date = dict.get(raw, "published_parsed") or dict.get(raw, "updated_parsed")
        link = web_url(_entry_link(raw), base=url)
        if link is None or link in seen:
            continue
        seen.add(link)
        entries.append(
            FeedEntry(
                url=link,
                title=_detail_text(raw, "title"),
                published=_struct_time(parsed_date),
                author=squash(raw.get("author")),
                summary=cap(_detail_text(raw, "summary")),
            )
        )
    if not entries and problem is not None:
        # Broken XML that yielded nothing usable: say so, rather than "no news today".
        raise MalformedFeed(f"{url}: not a readable feed ({problem})")
    return ParsedFeed(
        kind=_kind(version),
        title=_detail_text(result.get("feed") or {}, "title"),
        entries=tuple(entries),
    )


def _with_charset(content: bytes, content_type: str | None) -> str | None:
    """``content_type`` with the detected charset, for a feed that names none and is not UTF-8.

    Without a declared encoding feedparser assumes UTF-8 and falls back to windows-1252, which
    turns an undeclared EUC-JP or Big5 feed into mojibake; the pipeline's own detection reads
    such feeds right.
    """
    if charset_from_content_type(content_type) or _XML_ENCODING.match(content):
        return content_type
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return content_type
    try:
        encoding = detect_encoding(content)
    except NewsflowError:
        return content_type
    media_type = (content_type or "").split(";")[0].strip() or "application/xml"
    return f"{media_type}; charset={encoding}"


def _kind(version: str) -> SyndicationKind:
    if version.startswith("atom"):
        return "atom"
    # RSS 0.90 and 1.0 are RDF documents; the others are plain RSS.
    if version in ("rss090", "rss10"):
        return "rdf"
    return "rss"


def _entry_link(entry: Any) -> str | None:
    link = entry.get("link")
    if isinstance(link, str) and link.strip():
        return link
    for candidate in entry.get("links") or []:
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return str(candidate["href"])
    return None


def _detail_text(holder: Any, key: str) -> str | None:
    value = holder.get(key)
    if not isinstance(value, str):
        return None
    detail = holder.get(f"{key}_detail") or {}
    if detail.get("type") == "text/plain":
        return squash(value)
    return html_text(value)


def _struct_time(value: Any) -> datetime | None:
    """feedparser's parsed date (a UTC ``struct_time``) as an aware datetime."""
    if value is None:
        return None
    try:
        year, month, day, hour, minute, second = value[:6]
        # struct_time allows a leap second (60); datetime does not.
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        return None
