"""Feeds and sitemaps: what a source publishes about its articles, read into a ``ParsedFeed``.

One module a format: ``syndication`` (RSS, Atom, RDF), ``sitemaps`` (plain, index, Google
News) and ``jsonfeed``; ``fields`` reads the values they share alike; ``parse`` tells the
formats apart; ``discovery`` finds a site's feeds from its pages and its robots.txt.
"""

from pipeline.feeds.discovery import discover_feeds, sitemaps_from_robots
from pipeline.feeds.parse import parse_feed

__all__ = ["discover_feeds", "parse_feed", "sitemaps_from_robots"]
