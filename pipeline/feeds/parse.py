"""Which format a feed's bytes are in, read by that format's reader into a ``ParsedFeed``.

The format is judged by the bytes, not the Content-Type, which servers get wrong in both
directions: a JSON object is a JSON Feed, a ``<urlset>`` or ``<sitemapindex>`` a sitemap, and
anything else goes to feedparser, which knows RSS, Atom and RDF. The bytes come from the
network, so whatever is wrong with them, the caller sees only ``MalformedFeed``.
"""

from __future__ import annotations

from pipeline.errors import MalformedFeed, TooLarge, Undecodable
from pipeline.feeds.jsonfeed import looks_like_json, parse_json_feed
from pipeline.feeds.sitemaps import is_sitemap, parse_sitemap
from pipeline.feeds.syndication import parse_syndication
from pipeline.fetch.compression import MAX_LAYERS, is_gzip, unwrap
from pipeline.models import ParsedFeed

__all__ = ["MAX_DECOMPRESSED_BYTES", "parse_feed"]

MAX_DECOMPRESSED_BYTES = 50 * 1024 * 1024


def parse_feed(
    content: bytes,
    *,
    url: str,
    content_type: str | None = None,
    max_bytes: int = MAX_DECOMPRESSED_BYTES,
) -> ParsedFeed:
    """Read a feed or sitemap fetched from ``url`` into its items, with absolute http(s) links.

    A gzipped body is expanded first, to at most ``max_bytes``, by the rules of
    :mod:`pipeline.fetch.compression` (a truncated one gives what it held). Items without a
    usable link are left out and a URL listed twice is kept once (the first). Raises
    ``MalformedFeed`` for anything that cannot be read as a feed or sitemap, and for nothing
    else.
    """
    content = _expanded(content, url=url, max_bytes=max_bytes)
    try:
        if looks_like_json(content):
            return parse_json_feed(content, url=url)
        if is_sitemap(content):
            return parse_sitemap(content, url=url)
        return parse_syndication(content, url=url, content_type=content_type)
    except MalformedFeed:
        raise
    except Exception as error:
        # feedparser and lxml have many ways to fail on hostile bytes; the worker must see one
        # permanent, recorded reason rather than a crash it would retry.
        raise MalformedFeed(f"{url}: unreadable feed ({type(error).__name__}: {error})") from error


def _expanded(content: bytes, *, url: str, max_bytes: int) -> bytes:
    try:
        content, _layers = unwrap(content, max_bytes, url=url)
    except (TooLarge, Undecodable) as error:
        raise MalformedFeed(str(error)) from error
    if is_gzip(content):
        raise MalformedFeed(f"{url} is gzip inside gzip, more than {MAX_LAYERS} layers deep")
    return content
