"""Feeds and sitemaps: what a source publishes about its articles, read into a ``ParsedFeed``.

XML sitemaps (plain, index and Google News) are read with lxml, JSON Feed with ``json``, and
every other syndication format (RSS 0.9x/1.0/2.0, Atom, RDF) with feedparser, which copes with
the broken encodings and markup real feeds have. The bytes come from the network, so reading
them must be safe: no entity expansion, no network, no local files, and a cap on what a gzipped
body may expand to. Whatever is wrong with the input, the caller sees only ``MalformedFeed``.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import urlsplit

import feedparser
from lxml import etree

from pipeline.errors import MalformedFeed, NewsflowError
from pipeline.fetch.encoding import charset_from_content_type, detect_encoding
from pipeline.models import FeedEntry, ParsedFeed
from pipeline.urls import absolute_url

__all__ = ["discover_feeds", "parse_feed", "sitemaps_from_robots"]

FeedKind = Literal["rss", "atom", "rdf", "json", "sitemap", "sitemap-index", "news-sitemap"]

MAX_DECOMPRESSED_BYTES = 50 * 1024 * 1024
SUMMARY_LIMIT = 1000

_GZIP_MAGIC = b"\x1f\x8b"
_NEWS_NAMESPACE_PREFIX = "http://www.google.com/schemas/sitemap-news/"
_FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml",
    }
)
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
_XML_ENCODING = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*\bencoding\s*=", re.I)


def parse_feed(
    content: bytes,
    *,
    url: str,
    content_type: str | None = None,
    max_bytes: int = MAX_DECOMPRESSED_BYTES,
) -> ParsedFeed:
    """Read a feed or sitemap fetched from ``url`` into its items, with absolute http(s) links.

    A gzipped body is expanded first, to at most ``max_bytes``. Items without a usable link are
    left out and a URL listed twice is kept once (the first). Raises ``MalformedFeed`` for
    anything that cannot be read as a feed or sitemap, and for nothing else.
    """
    if content.startswith(_GZIP_MAGIC):
        content = _gunzip(content, max_bytes=max_bytes, url=url)
    try:
        if _looks_like_json(content):
            return _parse_json_feed(content, url=url)
        root = _root_name(content)
        if root in ("urlset", "sitemapindex"):
            return _parse_sitemap(content, url=url)
        return _parse_syndication(content, url=url, content_type=content_type)
    except MalformedFeed:
        raise
    except Exception as error:
        # feedparser and lxml have many ways to fail on hostile bytes; the worker must see one
        # permanent, recorded reason rather than a crash it would retry.
        raise MalformedFeed(f"{url}: unreadable feed ({type(error).__name__}: {error})") from error


def discover_feeds(html: str, *, url: str) -> list[str]:
    """The feeds a page announces with ``<link rel="alternate" type="...">``, absolute, in order.

    This is how a homepage added as a source leads to the feeds that list its articles.
    """
    finder = _FeedLinkFinder()
    # The stdlib parser gives up on a few odd constructs; a broken tail must not cost the links
    # already found.
    with contextlib.suppress(Exception):
        finder.feed(html)
        finder.close()
    base = absolute_url(url, finder.base) if finder.base else None
    return _unique_web_urls(finder.hrefs, base=base or url)


def sitemaps_from_robots(text: str, *, url: str) -> list[str]:
    """The sitemaps a robots.txt lists on its ``Sitemap:`` lines, absolute and without repeats."""
    found = []
    for line in text.lstrip("\ufeff").splitlines():
        key, colon, value = line.partition(":")
        if not colon or key.strip().lower() != "sitemap":
            continue
        # A comment starts at a "#" that begins the value or follows a space; a "#" inside a URL
        # is part of it.
        value = re.sub(r"(^|\s)#.*", "", value).strip()
        if value:
            found.append(value.split()[0])
    return _unique_web_urls(found, base=url)


# --- decompression ---------------------------------------------------------------------------


def _gunzip(content: bytes, *, max_bytes: int, url: str) -> bytes:
    """Expand a gzip body piece by piece, stopping as soon as it passes ``max_bytes``.

    A few kilobytes of gzip can expand to gigabytes; ``gzip.decompress`` would build all of it
    in memory before anyone could look at its size.
    """
    output = bytearray()
    pending = content
    try:
        # A gzip file may hold several members one after another (``cat a.gz b.gz``).
        while pending.startswith(_GZIP_MAGIC):
            decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            while not decompressor.eof:
                chunk = decompressor.decompress(pending, max_bytes - len(output) + 1)
                output += chunk
                if len(output) > max_bytes:
                    raise MalformedFeed(f"{url}: gzip body expands to more than {max_bytes} bytes")
                pending = decompressor.unconsumed_tail
                if not chunk and not pending:
                    raise MalformedFeed(f"{url}: gzip body is truncated")
            pending = decompressor.unused_data
    except zlib.error as error:
        raise MalformedFeed(f"{url}: gzip body does not decompress: {error}") from error
    return bytes(output)


# --- sitemaps --------------------------------------------------------------------------------


def _xml_parser() -> etree.XMLParser:
    # Sitemaps come from anyone: no entity expansion (billion laughs), no fetching of DTDs,
    # bounded depth and text size, and what can be recovered from a broken file is kept.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, recover=True, load_dtd=False
    )


def _root_name(content: bytes) -> str | None:
    """The local name of the document's first element, read without parsing the whole file."""
    parser = etree.XMLPullParser(
        events=("start",), resolve_entities=False, no_network=True, huge_tree=False, recover=True
    )
    for start in range(0, len(content), 4096):
        try:
            parser.feed(content[start : start + 4096])
            for _event, element in parser.read_events():
                return _local_name(element)
        except etree.LxmlError:
            return None
    return None


def _parse_sitemap(content: bytes, *, url: str) -> ParsedFeed:
    try:
        root = etree.fromstring(content, parser=_xml_parser(), base_url=url)
    except etree.LxmlError as error:
        raise MalformedFeed(f"{url}: sitemap is not readable XML: {error}") from error
    if root is None:
        raise MalformedFeed(f"{url}: sitemap is not readable XML")
    if _local_name(root) == "sitemapindex":
        locations = (_location(item) for item in _children(root, "sitemap"))
        sitemaps = _unique_web_urls((loc for loc in locations if loc), base=url)
        return ParsedFeed(kind="sitemap-index", sitemaps=tuple(sitemaps))

    entries: list[FeedEntry] = []
    seen: set[str] = set()
    has_news = False
    for item in _children(root, "url"):
        link = _web_url(_location(item), base=url)
        if link is None or link in seen:
            continue
        seen.add(link)
        title = None
        published = _w3c_date(_child_text(item, "lastmod"))
        news = next(
            (
                child
                for child in item
                if _local_name(child) == "news"
                and etree.QName(child).namespace is not None
                and str(etree.QName(child).namespace).startswith(_NEWS_NAMESPACE_PREFIX)
            ),
            None,
        )
        if news is not None:
            has_news = True
            title = _squash(_child_text(news, "title"))
            # The publication date is the article's; lastmod may be any later edit.
            published = _w3c_date(_child_text(news, "publication_date")) or published
        entries.append(FeedEntry(url=link, title=title, published=published))
    return ParsedFeed(kind="news-sitemap" if has_news else "sitemap", entries=tuple(entries))


def _local_name(element: Any) -> str | None:
    if not isinstance(element.tag, str):  # comments and processing instructions
        return None
    return str(etree.QName(element).localname)


def _children(element: Any, name: str) -> Iterator[Any]:
    # Namespaces differ in the wild (sitemaps.org, the old google.com one, none at all), so
    # elements are matched by local name, within the parent's own namespace.
    namespace = etree.QName(element).namespace
    for child in element:
        if _local_name(child) == name and etree.QName(child).namespace == namespace:
            yield child


def _child_text(element: Any, name: str) -> str | None:
    for child in _children(element, name):
        text = "".join(child.itertext()).strip()
        if text:
            return text
    return None


def _location(item: Any) -> str | None:
    # Some sitemaps put the URL straight into <url>/<sitemap> without a <loc>; crawlers accept
    # that, and so do we.
    return _child_text(item, "loc") or (item.text or "").strip() or None


def _w3c_date(text: str | None) -> datetime | None:
    """A sitemap date (W3C datetime: ``2024``, ``2024-05``, ``2024-05-01T10:00Z`` ...) in UTC."""
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


# --- JSON Feed -------------------------------------------------------------------------------


def _looks_like_json(content: bytes) -> bool:
    # Judged by the bytes, not the Content-Type: servers label feeds wrongly in both directions.
    return content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _parse_json_feed(content: bytes, *, url: str) -> ParsedFeed:
    """A JSON Feed (jsonfeed.org, 1.0 and 1.1), which feedparser 6 does not read."""
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise MalformedFeed(f"{url}: not a feed or sitemap (invalid JSON: {error})") from error
    if not isinstance(document, dict) or not (
        "jsonfeed.org/version/" in str(document.get("version", ""))
        or isinstance(document.get("items"), list)
    ):
        raise MalformedFeed(f"{url}: not a feed or sitemap (JSON, but not a JSON Feed)")
    items = document.get("items")
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        link = _web_url(_string(item.get("url")) or _string(item.get("external_url")), base=url)
        if link is None or link in seen:
            continue
        seen.add(link)
        summary = _string(item.get("summary")) or _string(item.get("content_text"))
        if summary is None and _string(item.get("content_html")):
            summary = _html_text(str(item["content_html"]))
        entries.append(
            FeedEntry(
                url=link,
                title=_squash(_string(item.get("title"))),
                published=_w3c_date(
                    _string(item.get("date_published")) or _string(item.get("date_modified"))
                ),
                author=_json_author(item) or _json_author(document),
                summary=_cap(_squash(summary)),
            )
        )
    return ParsedFeed(
        kind="json", title=_squash(_string(document.get("title"))), entries=tuple(entries)
    )


def _json_author(holder: dict[str, Any]) -> str | None:
    # 1.1 has a list of authors, 1.0 a single author.
    authors = holder.get("authors")
    candidates = authors if isinstance(authors, list) else [holder.get("author")]
    names = [
        _squash(_string(author.get("name"))) for author in candidates if isinstance(author, dict)
    ]
    return ", ".join(name for name in names if name) or None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# --- RSS, Atom, RDF --------------------------------------------------------------------------


def _parse_syndication(content: bytes, *, url: str, content_type: str | None) -> ParsedFeed:
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
        link = _web_url(_entry_link(raw), base=url)
        if link is None or link in seen:
            continue
        seen.add(link)
        entries.append(
            FeedEntry(
                url=link,
                title=_detail_text(raw, "title"),
                published=_struct_time(parsed_date),
                author=_squash(raw.get("author")),
                summary=_cap(_detail_text(raw, "summary")),
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


def _kind(version: str) -> FeedKind:
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
        return _squash(value)
    return _html_text(value)


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


# --- HTML ------------------------------------------------------------------------------------


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


def _html_text(html: str) -> str | None:
    collector = _TextCollector()
    # An odd construct deep in a summary must cost the rest of that summary, not the feed.
    with contextlib.suppress(Exception):
        collector.feed(html)
        collector.close()
    return _squash("".join(collector.parts))


class _FeedLinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        if tag != "link" or not values.get("href"):
            return
        rels = values.get("rel", "").lower().split()
        media_type = values.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rels and media_type in _FEED_TYPES:
            self.hrefs.append(values["href"])


# --- small helpers ---------------------------------------------------------------------------


def _web_url(reference: str | None, *, base: str) -> str | None:
    """``reference`` made absolute against ``base``, if that gives an http(s) URL."""
    link = absolute_url(base, reference)
    if link is None:
        return None
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return link


def _unique_web_urls(references: Iterable[str], *, base: str) -> list[str]:
    found: dict[str, None] = {}
    for reference in references:
        link = _web_url(reference, base=base)
        if link is not None:
            found.setdefault(link, None)
    return list(found)


def _squash(text: str | None) -> str | None:
    if not text:
        return None
    return _WHITESPACE.sub(" ", text).strip() or None


def _cap(text: str | None) -> str | None:
    """At most ``SUMMARY_LIMIT`` characters, cut at a word where one is near the end."""
    if text is None or len(text) <= SUMMARY_LIMIT:
        return text
    cut = text[: SUMMARY_LIMIT - 1]
    space = cut.rfind(" ")
    if space > SUMMARY_LIMIT * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"
