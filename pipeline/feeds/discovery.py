"""Where a site's feeds are: the ``<link rel="alternate">`` of its pages, and the
``Sitemap:`` lines of its robots.txt."""

from __future__ import annotations

import contextlib
import re
from html.parser import HTMLParser

from pipeline.feeds.fields import unique_web_urls
from pipeline.urls import absolute_url

__all__ = ["discover_feeds", "sitemaps_from_robots"]

_FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml",
    }
)


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
    return unique_web_urls(finder.hrefs, base=base or url)


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
    return unique_web_urls(found, base=url)


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
