"""XML sitemaps: plain ones, indexes of sitemaps, and Google News sitemaps, read with lxml.

Sitemaps come from anyone, so the XML is read with no entity expansion, no network and no
local files, and what can be recovered from a broken file is kept. Elements are matched by
their local name, since the namespace a sitemap uses differs in the wild.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from pipeline.errors import MalformedFeed
from pipeline.feeds.fields import squash, unique_web_urls, w3c_date, web_url
from pipeline.models import FeedEntry, ParsedFeed

__all__ = ["is_sitemap", "parse_sitemap"]

_NEWS_NAMESPACE_PREFIX = "http://www.google.com/schemas/sitemap-news/"
# How libxml2 reports a document that ends inside an element, named by its local name: only
# the innermost one in recent versions, every one still open in older ones.
_CUT_INSIDE_LOC = re.compile(r"^Premature end of data in tag loc line ")


def is_sitemap(content: bytes) -> bool:
    """Whether the document's first element is a ``<urlset>`` or a ``<sitemapindex>``."""
    return _root_name(content) in ("urlset", "sitemapindex")


def parse_sitemap(content: bytes, *, url: str) -> ParsedFeed:
    """A sitemap's entries (for an index, the sitemaps it lists), absolute and each once.

    A sitemap cut short inside a ``<loc>`` (truncated in transit) loses the item that ``<loc>``
    belongs to: half a URL is not one, and would be fetched as if it were.
    """
    parser = _xml_parser()
    try:
        root = etree.fromstring(content, parser=parser, base_url=url)
    except etree.LxmlError as error:
        raise MalformedFeed(f"{url}: sitemap is not readable XML: {error}") from error
    if root is None:
        raise MalformedFeed(f"{url}: sitemap is not readable XML")
    cut = any(_CUT_INSIDE_LOC.match(error.message) for error in parser.error_log)
    if _local_name(root) == "sitemapindex":
        items = _whole(root, list(_children(root, "sitemap")), cut=cut)
        locations = (_location(item) for item in items)
        sitemaps = unique_web_urls((loc for loc in locations if loc), base=url)
        return ParsedFeed(kind="sitemap-index", sitemaps=tuple(sitemaps))

    entries: list[FeedEntry] = []
    seen: set[str] = set()
    has_news = False
    for item in _whole(root, list(_children(root, "url")), cut=cut):
        link = web_url(_location(item), base=url)
        if link is None or link in seen:
            continue
        seen.add(link)
        title = None
        published = w3c_date(_child_text(item, "lastmod"))
        news = next((child for child in item if _is_news(child)), None)
        if news is not None:
            has_news = True
            title = squash(_child_text(news, "title"))
            # The publication date is the article's; lastmod may be any later edit.
            published = w3c_date(_child_text(news, "publication_date")) or published
        entries.append(FeedEntry(url=link, title=title, published=published))
    return ParsedFeed(kind="news-sitemap" if has_news else "sitemap", entries=tuple(entries))


def _xml_parser() -> etree.XMLParser:
    # No entity expansion (billion laughs), no fetching of DTDs, bounded depth and text size,
    # and what can be recovered from a broken file is kept.
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


def _whole(root: Any, items: list[Any], *, cut: bool) -> list[Any]:
    """``items`` without the last one if the document ends inside that item's own ``<loc>``.

    Inside some ``<loc>`` (``cut``) is not enough: an image's ``<image:loc>`` is reported
    alike. The ``<loc>`` the document ends in is its last element, since nothing opened after
    it was closed.
    """
    if not cut or not items:
        return items
    *_, last = root.iter(tag=etree.Element)
    if any(loc is last for loc in _children(items[-1], "loc")):
        return items[:-1]
    return items


def _is_news(element: Any) -> bool:
    if _local_name(element) != "news":
        return False
    namespace = etree.QName(element).namespace
    return namespace is not None and str(namespace).startswith(_NEWS_NAMESPACE_PREFIX)


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
