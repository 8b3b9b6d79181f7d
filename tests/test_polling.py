"""Polling rules and politeness, with a real Redis shared by two limiters."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis as redis_client
from sqlmodel import select

from pipeline.errors import Blocked, Throttled
from pipeline.fetch.politeness import Politeness, rate_key
from pipeline.sources.opml import opml_urls
from pipeline.sources.polling import LONGEST_INTERVAL, SHORTEST_INTERVAL, next_interval
from workers.cli.sources import parse_interval


def test_the_interval_adapts_within_bounds() -> None:
    assert next_interval(base=600, current=600, new_items=0, failed=False, errors_in_row=0) == 900
    assert next_interval(base=600, current=5000, new_items=3, failed=False, errors_in_row=0) == 600
    assert next_interval(base=600, current=600, new_items=0, failed=True, errors_in_row=3) == 4800
    assert (
        next_interval(base=600, current=600, new_items=0, failed=True, errors_in_row=30)
        == LONGEST_INTERVAL
    )
    assert (
        next_interval(base=10, current=10, new_items=1, failed=False, errors_in_row=0)
        == SHORTEST_INTERVAL
    )
    assert (
        next_interval(base=600, current=80_000, new_items=0, failed=False, errors_in_row=0)
        == LONGEST_INTERVAL
    )


def _no_robots(_: str) -> str:
    return ""


def test_two_limiters_share_one_hosts_rate_through_redis(redis_url: str) -> None:
    shared = redis_client.Redis.from_url(redis_url)
    shared.delete(rate_key("http://rate.example/"), "newsflow:robots:http://rate.example")
    first = Politeness(redis=shared, user_agent="newsflow-test", default_rate=2.0)
    second = Politeness(
        redis=redis_client.Redis.from_url(redis_url), user_agent="newsflow-test", default_rate=2.0
    )
    # The host's robots.txt takes the first slot, the page the next, half a second on.
    first.check("http://rate.example/a", rate=None, robots_text=_no_robots, patience=1)
    with pytest.raises(Throttled) as caught:
        second.check("http://rate.example/b", rate=None, robots_text=_no_robots)
    assert 0 < (caught.value.retry_after or 0) <= 0.5
    # Another host: its own slots.
    first.check("http://other.example/a", rate=None, robots_text=_no_robots, patience=1)
    # The wait reserved the next slot: a third fetch queues behind it, not beside it...
    with pytest.raises(Throttled) as third:
        first.check("https://RATE.example:443/c", rate=None, robots_text=_no_robots)
    assert third.value.slot is not None and caught.value.slot is not None
    assert third.value.slot > caught.value.slot + 0.3
    # ...and the waiting fetch goes at its turn on its reservation, without a new claim.
    time.sleep(max(0.0, caught.value.slot - time.time()))
    second.check(
        "http://rate.example/b", rate=None, robots_text=_no_robots, reserved=caught.value.slot
    )


def test_robots_txt_disallow_and_crawl_delay_are_honoured_and_cached(redis_url: str) -> None:
    shared = redis_client.Redis.from_url(redis_url)
    shared.delete(rate_key("http://robots.example/"), "newsflow:robots:http://robots.example")
    asked: list[str] = []

    def robots(url: str) -> str:
        asked.append(url)
        return "User-agent: *\nDisallow: /private/\nCrawl-delay: 3\n"

    polite = Politeness(redis=shared, user_agent="newsflow-test", default_rate=100.0)
    with pytest.raises(Blocked, match=r"robots\.txt"):
        polite.check("http://robots.example/private/page", rate=None, robots_text=robots)
    polite.check("http://robots.example/public/page", rate=None, robots_text=robots)
    with pytest.raises(Throttled) as caught:
        polite.check("http://robots.example/public/other", rate=None, robots_text=robots)
    assert (caught.value.retry_after or 0) > 2  # Crawl-delay: 3 outweighs 100 requests/s
    assert asked == ["http://robots.example/robots.txt"]


def test_intervals_and_opml() -> None:
    assert [parse_interval(text) for text in ("90", "90s", "10m", "2h", "1d")] == [
        90,
        90,
        600,
        7200,
        86400,
    ]
    opml = (
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="News">'
        '<outline text="A" type="rss" xmlUrl="https://a.example/feed.xml"/>'
        '<outline text="B" type="rss" xmlUrl="https://b.example/rss"/></outline>'
        '<outline text="dup" xmlUrl="https://a.example/feed.xml"/><outline text="bad" xmlUrl="ftp://x/y"/>'
        "</body></opml>"
    )
    assert opml_urls(opml) == ["https://a.example/feed.xml", "https://b.example/rss"]


def test_a_home_page_leads_to_its_feeds_and_sitemaps(http_server: Any, settings: Any) -> None:
    from pipeline.fetch.fetcher import make_fetcher
    from pipeline.sources.polling import discover
    from tests.httpserver import Reply

    home = http_server.route(
        "/",
        Reply(
            200,
            (
                b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml">'
                b'<link rel="Alternate" type="application/atom+xml" href="https://elsewhere.example/atom">'
                b"</head><body><p>Welcome</p></body></html>"
            ),
            {"Content-Type": "text/html"},
        ),
    )
    http_server.route(
        "/robots.txt",
        Reply(200, b"User-agent: *\nSitemap: /sitemaps/news.xml\n", {"Content-Type": "text/plain"}),
    )
    with make_fetcher(settings) as fetcher:
        found = discover(home, fetcher)
    assert found == [
        http_server.url("/rss.xml"),
        "https://elsewhere.example/atom",
        http_server.url("/sitemaps/news.xml"),
    ]


def test_a_sitemap_index_is_followed_to_its_sitemaps(http_server: Any, settings: Any) -> None:
    import gzip

    from pipeline.fetch.fetcher import make_fetcher
    from pipeline.sources.polling import fetch_feed
    from tests.httpserver import Reply

    def urlset(*paths: str) -> bytes:
        locs = "".join(f"<url><loc>{http_server.url(path)}</loc></url>" for path in paths)
        return (
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'.encode()
        )

    http_server.route("/a.xml", Reply(200, urlset("/1", "/2"), {"Content-Type": "application/xml"}))
    http_server.route(
        "/b.xml.gz",
        Reply(200, gzip.compress(urlset("/2", "/3")), {"Content-Type": "application/gzip"}),
    )
    index = http_server.route(
        "/index.xml",
        Reply(
            200,
            (
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{http_server.url('/a.xml')}</loc></sitemap>"
                f"<sitemap><loc>{http_server.url('/b.xml.gz')}</loc></sitemap></sitemapindex>"
            ).encode(),
            {"Content-Type": "application/xml"},
        ),
    )
    with make_fetcher(settings) as fetcher:
        outcome = fetch_feed(index, settings, fetcher)
    assert outcome.kind == "sitemap-index"
    assert [entry.url for entry in outcome.entries] == [
        http_server.url(p) for p in ("/1", "/2", "/3")
    ]


def test_a_redirect_to_a_page_robots_txt_disallows_is_refused(
    http_server: Any, settings: Any
) -> None:
    from pipeline.fetch.download import fetch, make_client
    from tests.httpserver import Reply

    http_server.route(
        "/robots.txt",
        Reply(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}),
    )
    http_server.route("/private/page", Reply(200, b"<p>secret</p>", {"Content-Type": "text/html"}))
    moved = http_server.route("/moved", Reply(302, b"", {"Location": "/private/page"}))
    polite = Politeness(redis=None, user_agent="newsflow-test", default_rate=100.0)
    with (
        make_client(settings, politeness=polite) as client,
        pytest.raises(Blocked, match=r"robots\.txt"),
    ):
        fetch(moved, settings, client=client)
    assert http_server.count("/private/page") == 0


def test_a_broken_sitemap_in_an_index_costs_only_its_own_items(
    http_server: Any, settings: Any
) -> None:
    from pipeline.fetch.fetcher import make_fetcher
    from pipeline.sources.polling import fetch_feed
    from tests.httpserver import Reply

    good = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{http_server.url("/1")}</loc></url></urlset>'
    http_server.route("/good.xml", Reply(200, good.encode(), {"Content-Type": "application/xml"}))
    index = http_server.route(
        "/index.xml",
        Reply(
            200,
            (
                '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{http_server.url('/gone.xml')}</loc></sitemap>"
                f"<sitemap><loc>{http_server.url('/good.xml')}</loc></sitemap></sitemapindex>"
            ).encode(),
            {"Content-Type": "application/xml"},
        ),
    )
    with make_fetcher(settings) as fetcher:
        outcome = fetch_feed(index, settings, fetcher)
    assert [entry.url for entry in outcome.entries] == [http_server.url("/1")]


def test_an_item_seen_is_always_owed_and_is_sent_once_its_row_is_written(
    http_server: Any, settings: Any
) -> None:
    """Marked seen and noted in the outbox in one transaction, then sent: a send that fails
    leaves the items owed, for reconcile, and the next poll does not send them twice."""
    from pipeline.fetch.fetcher import make_fetcher
    from pipeline.sources.registry import poll_source
    from pipeline.stages import lost_fetches
    from pipeline.store.db import session_scope
    from pipeline.store.sources import add_source
    from pipeline.store.tables import Outbox
    from tests.httpserver import Reply

    items = "".join(f"<item><link>{http_server.url(f'/story/{n}')}</link></item>" for n in range(3))
    feed = http_server.route(
        "/feed.xml",
        Reply(
            200,
            f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode(),
            {"Content-Type": "application/rss+xml"},
        ),
    )
    with session_scope(settings) as session:
        source, _ = add_source(session, url=feed, name=None, interval=600, rate=None)
        source_id = source.id
    assert source_id is not None

    stories = [http_server.url(f"/story/{n}") for n in range(3)]

    def broker_away(new: list[Any]) -> None:
        with session_scope(settings) as session:  # a fetch that ran at once finds its row
            assert {row.source for row in session.exec(select(Outbox))} == set(stories)
        raise ConnectionError("the broker is away")

    sent: list[str] = []
    with make_fetcher(settings) as fetcher:
        with pytest.raises(ConnectionError):
            poll_source(source_id, settings, fetcher, enqueue=broker_away)
        found = poll_source(
            source_id, settings, fetcher, enqueue=lambda new: sent.extend(i.entry.url for i in new)
        )
    assert found == [] and sent == []  # seen already: not sent twice by the poll
    assert [payload["source"] for payload in lost_fetches(settings, older_than=-1)] == stories


def test_only_one_of_two_dispatchers_claims_a_due_source(any_db_settings: Any) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from pipeline.sources.registry import claim_due
    from pipeline.store.db import session_scope
    from pipeline.store.sources import add_source

    with session_scope(any_db_settings) as session:
        add_source(session, url="https://due.example/feed", name=None, interval=600, rate=None)
    barrier = threading.Barrier(2)

    def claim(_: int) -> list[int]:
        barrier.wait(timeout=10)
        return claim_due(any_db_settings)

    with ThreadPoolExecutor(max_workers=2) as pool:
        claims = list(pool.map(claim, range(2)))
    assert sorted(len(found) for found in claims) == [0, 1]
