"""Polling a source: a conditional GET, the items it lists, and when to look again.

A poll sends the ETag and Last-Modified it last got, so an unchanged feed costs a 304 and
nothing else. Sitemap indexes are followed (to a bounded depth and count). The interval
adapts: back to the source's base when new items appear, longer while nothing is new,
exponentially longer after errors, within bounds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from pipeline.errors import MalformedFeed, NewsflowError
from pipeline.feeds import discover_feeds, parse_feed, sitemaps_from_robots
from pipeline.fetch.download import looks_like_html
from pipeline.fetch.fetcher import Fetcher
from pipeline.models import FeedEntry
from pipeline.settings import Settings
from pipeline.urls import absolute_url, canonicalize

logger = logging.getLogger(__name__)

MAX_SITEMAPS = 50
MAX_DEPTH = 2
LONGEST_INTERVAL = 24 * 3600
SHORTEST_INTERVAL = 60


@dataclass(frozen=True)
class FetchedFeed:
    """What one poll found: its items (all of them, seen or not) and the validators to send
    next time. ``not_modified`` when the server answered 304."""

    not_modified: bool
    kind: str | None
    entries: tuple[FeedEntry, ...]
    etag: str | None
    last_modified: str | None


def fetch_feed(
    url: str,
    settings: Settings,
    fetcher: Fetcher,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    asked: bool = False,
) -> FetchedFeed:
    """Fetch and parse a feed or sitemap, conditionally; follow a sitemap index's children.

    Every request keeps to robots.txt and its host's rate. ``asked`` says the caller has
    asked about ``url`` itself (a poll does, with the source's own rate and reserved slot).
    """
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    got = fetcher.download(url, headers=headers, asked=asked)
    if got.status_code == 304:
        return FetchedFeed(True, None, (), etag, last_modified)
    parsed = parse_feed(got.content, url=got.url, content_type=got.content_type)
    entries = list(parsed.entries)
    deadline = time.monotonic() + settings.task_soft_time_limit / 2
    follow = _Follow(fetcher, deadline)
    follow.sitemaps(parsed.sitemaps, entries, depth=1)
    return FetchedFeed(
        not_modified=False,
        kind=parsed.kind,
        entries=tuple(_unique(entries)),
        etag=got.headers.get("etag"),
        last_modified=got.headers.get("last-modified"),
    )


class _Follow:
    """Walks a sitemap index: bounded in depth, count and time, polite, and tolerant of a
    broken child (the others' items still count; the broken one is tried next poll)."""

    def __init__(self, fetcher: Fetcher, deadline: float) -> None:
        self.fetcher, self.deadline, self.budget = fetcher, deadline, MAX_SITEMAPS

    def sitemaps(self, urls: tuple[str, ...], entries: list[FeedEntry], *, depth: int) -> None:
        for url in urls:
            if depth > MAX_DEPTH or self.budget <= 0 or time.monotonic() > self.deadline:
                return
            self.budget -= 1
            try:
                # Past the deadline the rest waits for the next poll.
                child = self.fetcher.download(url, deadline=self.deadline)
                parsed = parse_feed(child.content, url=child.url, content_type=child.content_type)
            except NewsflowError as error:
                logger.warning("sitemap %s skipped: %s", url, error)
                continue
            entries.extend(parsed.entries)
            self.sitemaps(parsed.sitemaps, entries, depth=depth + 1)


def _unique(entries: list[FeedEntry]) -> list[FeedEntry]:
    seen: set[str] = set()
    unique = []
    for entry in entries:
        key = canonicalize(entry.url)
        if key not in seen:
            seen.add(key)
            unique.append(entry)
    return unique


def discover(url: str, fetcher: Fetcher) -> list[str]:
    """The feeds and sitemaps behind ``url``: itself if it is one; for a web page, the feeds
    it links (``<link rel="alternate">``), the sitemaps its robots.txt names, and
    ``/sitemap.xml`` when that exists. Each request keeps to robots.txt and its host's rate."""
    got = fetcher.download(url)
    text = got.content.decode("utf-8", errors="replace")
    if not looks_like_html(text[:8192]) or "<rss" in text[:2048] or "<feed" in text[:2048]:
        try:
            parse_feed(got.content, url=got.url, content_type=got.content_type)
        except MalformedFeed:
            pass
        else:
            return [got.url]
    found = discover_feeds(text, url=got.url)
    root = absolute_url(got.url, "/") or got.url
    robots = fetcher.robots_text(absolute_url(root, "/robots.txt") or root)
    found += sitemaps_from_robots(robots, url=root)
    if not any("sitemap" in candidate for candidate in found):
        fallback = absolute_url(root, "/sitemap.xml") or root
        try:
            sitemap = fetcher.download(fallback)
            parse_feed(sitemap.content, url=sitemap.url, content_type=sitemap.content_type)
            found.append(sitemap.url)
        except NewsflowError:
            pass  # no sitemap there: the common case
    return list(dict.fromkeys(found))


def next_interval(
    *, base: int, current: int, new_items: int, failed: bool, errors_in_row: int
) -> int:
    """Seconds until the next poll of a source.

    Errors back off exponentially from the base; new items bring the interval back to the
    base; a quiet poll stretches it by half. Always within [1 minute, 1 day].
    """
    if failed:
        seconds = base * 2 ** min(errors_in_row, 10)
    elif new_items:
        seconds = base
    else:
        seconds = int(current * 1.5)
    return max(SHORTEST_INTERVAL, min(LONGEST_INTERVAL, seconds))
