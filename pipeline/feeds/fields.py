"""The values an item carries, read the same way whatever the format: text, links and dates.

Every format's reader hands its raw values through these, so that an entry from an RSS feed, a
JSON Feed and a sitemap reads alike: whitespace squashed, markup reduced to its text, summaries
capped, links absolute and on the web, dates aware and in UTC.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

from pipeline.urls import absolute_url

__all__ = ["SUMMARY_LIMIT", "cap", "html_text", "squash", "unique_web_urls", "w3c_date", "web_url"]

SUMMARY_LIMIT = 1000

# Tags after which text runs on in a new block: stripping them must leave a space, not glue
# the last word of one paragraph to the first of the next.
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    }
)
_WHITESPACE = re.compile(r"\s+")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def squash(text: str | None) -> str | None:
    """``text`` with each run of whitespace made one space; None for nothing but whitespace."""
    if not text:
        return None
    return _WHITESPACE.sub(" ", text).strip() or None


def cap(text: str | None) -> str | None:
    """At most ``SUMMARY_LIMIT`` characters, cut at a word where one is near the end."""
    if text is None or len(text) <= SUMMARY_LIMIT:
        return text
    cut = text[: SUMMARY_LIMIT - 1]
    space = cut.rfind(" ")
    if space > SUMMARY_LIMIT * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_text(html: str) -> str | None:
    """The text of an HTML fragment (a summary, an item's content), squashed."""
    collector = _TextCollector()
    # An odd construct deep in a summary must cost the rest of that summary, not the feed.
    with contextlib.suppress(Exception):
        collector.feed(html)
        collector.close()
    return squash("".join(collector.parts))


def web_url(reference: str | None, *, base: str) -> str | None:
    """``reference`` made absolute against ``base``, if that gives an http(s) URL."""
    link = absolute_url(base, reference)
    if link is None:
        return None
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return link


def unique_web_urls(references: Iterable[str], *, base: str) -> list[str]:
    """The web URLs among ``references``, absolute, each once, in their first order."""
    found: dict[str, None] = {}
    for reference in references:
        link = web_url(reference, base=base)
        if link is not None:
            found.setdefault(link, None)
    return list(found)


def w3c_date(text: str | None) -> datetime | None:
    """A W3C datetime (``2024``, ``2024-05``, ``2024-05-01T10:00Z`` ...) in UTC.

    Sitemaps and JSON Feed both write their dates this way.
    """
    if not text:
        return None
    text = text.strip()
    partial = _PARTIAL_DATE.match(text)
    if partial:
        return datetime(int(partial[1]), int(partial[2] or 1), 1, tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)  # RFC 822 dates, which some sitemaps use
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        # A date without a zone is taken as UTC: the spec requires a zone with a time, and
        # a bare date has no better reading.
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
