"""Sources polled through real workers: feeds, conditional GETs, rate limits, robots.txt,
and the network guard, against a real local site."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from sqlmodel import select

from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.tables import ArticleRow, Failure, Source
from tests.conftest import newsflow, wait_until
from tests.e2e.test_pipeline import ARTICLE_HTML
from tests.httpserver import LocalServer, Reply

HTML = {"Content-Type": "text/html; charset=utf-8"}


def article(server: LocalServer, path: str, title: str) -> str:
    page = ARTICLE_HTML.format(title=title, sentence=f"This is the story of {title.lower()}.")
    return server.route(path, Reply(200, page.encode(), HTML))


def rss(items: list[tuple[str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{title}</title><link>{url}</link><author>desk@example.org (Jane Roe)</author>"
        f"<pubDate>Tue, 02 Mar 2021 09:30:00 +0000</pubDate></item>"
        for url, title in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Daily</title>{entries}</channel></rss>'.encode()


class ConditionalFeed:
    """A feed that answers 304 to a request carrying its current ETag."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self.body, self.content_type, self.version = body, content_type, 1
        self.conditional_requests = 0

    def update(self, body: bytes) -> None:
        self.body, self.version = body, self.version + 1

    def __call__(self, headers: dict[str, str]) -> Reply:
        etag = f'"v{self.version}"'
        modified = format_datetime(datetime(2021, 3, 2, 9, self.version, tzinfo=UTC), usegmt=True)
        if headers.get("If-None-Match") or headers.get("If-Modified-Since"):
            self.conditional_requests += 1
        if headers.get("If-None-Match") == etag:
            return Reply(304, b"", {"ETag": etag})
        return Reply(
            200,
            self.body,
            {"Content-Type": self.content_type, "ETag": etag, "Last-Modified": modified},
        )


def stored(settings: Settings) -> dict[str, ArticleRow]:
    with session_scope(settings) as session:
        return {row.url or "": row for row in session.exec(select(ArticleRow))}


def test_feeds_and_a_news_sitemap_are_stored_once_and_only_new_items_fetched_again(
    http_server: LocalServer, start_worker: Any, settings: Settings
) -> None:
    rss_items = [
        (article(http_server, f"/news/r{n}", f"River report {n}"), f"River report {n}")
        for n in range(3)
    ]
    atom_items = [article(http_server, f"/news/a{n}", f"Atom story {n}") for n in range(2)]
    sitemap_items = [article(http_server, f"/news/s{n}", f"Sitemap story {n}") for n in range(2)]
    feed = ConditionalFeed(rss(rss_items), "application/rss+xml")
    atom = "".join(
        f"<entry><title>Atom story {n}</title><link href='{url}'/><id>{url}</id>"
        f"<updated>2021-03-02T09:30:00Z</updated></entry>"
        for n, url in enumerate(atom_items)
    )
    sitemap = "".join(
        f"<url><loc>{url}</loc><news:news><news:publication><news:name>Daily</news:name>"
        f"<news:language>en</news:language></news:publication>"
        f"<news:publication_date>2021-03-02T09:30:00Z</news:publication_date>"
        f"<news:title>Sitemap story {n}</news:title></news:news></url>"
        for n, url in enumerate(sitemap_items)
    )
    sources = [
        http_server.route("/rss.xml", feed),
        http_server.route(
            "/atom.xml",
            Reply(
                200,
                f'<feed xmlns="http://www.w3.org/2005/Atom"><title>D</title>{atom}</feed>'.encode(),
                {"Content-Type": "application/atom+xml"},
            ),
        ),
        http_server.route(
            "/news-sitemap.xml",
            Reply(
                200,
                (
                    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                    f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{sitemap}</urlset>'
                ).encode(),
                {"Content-Type": "application/xml"},
            ),
        ),
    ]
    start_worker()
    for url in sources:
        added = newsflow("sources", "add", url, "--interval", "10m")
        assert added.returncode == 0 and "added" in added.stdout, added.stdout + added.stderr

    first = newsflow("sources", "poll", "--all", "--wait", "--timeout", "120")
    assert first.returncode == 0, first.stdout + first.stderr
    articles = stored(settings)
    every_item = [url for url, _ in rss_items] + atom_items + sitemap_items
    assert sorted(articles) == sorted(every_item)
    assert all(http_server.count(path) == 1 for path in [f"/news/r{n}" for n in range(3)])
    # The feed's statements fill what the page leaves out: the page names no author.
    assert articles[rss_items[0][0]].authors == ["Jane Roe"]

    second = newsflow("sources", "poll", "--all", "--wait", "--timeout", "60")
    assert second.returncode == 0 and "0 new item(s)" in second.stdout, second.stdout
    assert feed.conditional_requests == 1
    assert all(http_server.count(f"/news/r{n}") == 1 for n in range(3))

    new_url = article(http_server, "/news/r9", "River report 9")
    feed.update(rss([*rss_items, (new_url, "River report 9")]))
    third = newsflow("sources", "poll", "--all", "--wait", "--timeout", "60")
    assert third.returncode == 0 and "1 new item(s)" in third.stdout, third.stdout
    assert http_server.count("/news/r9") == 1
    assert all(http_server.count(f"/news/r{n}") == 1 for n in range(3))
    assert len(stored(settings)) == len(every_item) + 1

    listed = newsflow("sources", "list", "--json")
    states = {row["url"]: row for row in __import__("json").loads(listed.stdout)}
    assert states[sources[0]]["last_status"] == "ok" and states[sources[0]]["etag"] == '"v2"'
    assert states[sources[1]]["kind"] == "atom" and states[sources[2]]["kind"] == "news-sitemap"


def test_two_workers_keep_to_a_hosts_rate_and_to_its_robots_txt(
    http_server: LocalServer, start_worker: Any, settings: Settings
) -> None:
    pages = [article(http_server, f"/story/{n}", f"Rate story {n}") for n in range(20)]
    private = article(http_server, "/private/secret", "Private story")
    http_server.route(
        "/robots.txt",
        Reply(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}),
    )
    http_server.route(
        "/feed.xml",
        Reply(
            200,
            rss([(url, "x") for url in [*pages, private]]),
            {"Content-Type": "application/rss+xml"},
        ),
    )
    slow = {"NEWSFLOW_HOST_RATE": "5"}  # one request every 0.2 s, for both workers together
    start_worker("--queues", "fetch", "--pool", "threads", "--concurrency", "4", extra_env=slow)
    start_worker(extra_env=slow)
    assert newsflow("sources", "add", http_server.url("/feed.xml"), env=slow).returncode == 0

    polled = newsflow("sources", "poll", "--all", "--wait", "--timeout", "150", env=slow)

    assert "20 stored, 1 failed" in polled.stdout, polled.stdout + polled.stderr
    times = sorted(hit.at for hit in http_server.hits if hit.path.startswith("/story/"))
    assert len(times) == 20
    # Five a second, by the server's clock: 20 requests span at least 19 intervals, and any
    # eleven of them in a row at least ten. No request starts before its slot, but one may
    # arrive late on a loaded machine (its neighbour then comes closer than 0.2 s), so each
    # span allows one request half a second late; unlimited, the 20 would take well under 0.1 s.
    assert times[-1] - times[0] >= 19 * 0.2 - 0.5, times
    spans = [later - earlier for earlier, later in zip(times, times[10:], strict=False)]
    assert min(spans) >= 10 * 0.2 - 0.5, spans
    assert http_server.count("/private/secret") == 0
    with session_scope(settings) as session:
        failure = session.exec(select(Failure).where(Failure.item == private)).one()
    assert failure.reason == "blocked" and "robots.txt" in failure.message


def test_links_and_redirects_into_private_networks_are_refused_and_recorded(
    http_server: LocalServer, start_worker: Any, settings: Settings
) -> None:
    host = http_server.base_url.removeprefix("http://")
    guarded = {"NEWSFLOW_ALLOW_PRIVATE_NETWORKS": "false", "NEWSFLOW_ALLOWED_HOSTS": host}
    fine = article(http_server, "/ok", "A fine story")
    inward = "http://127.0.0.1:9/admin"
    redirect = http_server.route(
        "/moved", Reply(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})
    )
    http_server.route(
        "/feed.xml",
        Reply(
            200,
            rss([(fine, "ok"), (inward, "in"), (redirect, "moved")]),
            {"Content-Type": "application/rss+xml"},
        ),
    )
    worker = start_worker(extra_env=guarded)
    assert newsflow("sources", "add", http_server.url("/feed.xml"), env=guarded).returncode == 0

    polled = newsflow("sources", "poll", "--all", "--wait", "--timeout", "90", env=guarded)

    assert "1 stored, 2 failed" in polled.stdout, polled.stdout + polled.stderr
    assert worker.alive()
    with session_scope(settings) as session:
        reasons = {f.item: (f.reason, f.message) for f in session.exec(select(Failure))}
    assert reasons[inward][0] == "blocked" and "127.0.0.1" in reasons[inward][1]
    assert reasons[redirect][0] == "blocked" and "169.254.169.254" in reasons[redirect][1]


def test_a_broken_feed_is_recorded_on_its_source_and_polling_goes_on(
    http_server: LocalServer, start_worker: Any, settings: Settings
) -> None:
    good = article(http_server, "/g", "Good story")
    http_server.route(
        "/good.xml", Reply(200, rss([(good, "g")]), {"Content-Type": "application/rss+xml"})
    )
    http_server.route(
        "/bad.xml",
        Reply(
            200, b"<rss><channel><item><title>x</broken", {"Content-Type": "application/rss+xml"}
        ),
    )
    start_worker()
    assert newsflow("sources", "add", http_server.url("/good.xml")).returncode == 0
    with session_scope(settings) as session:
        session.add(
            Source(url=http_server.url("/bad.xml"))
        )  # added as is: discovery would refuse it

    polled = newsflow("sources", "poll", "--all", "--wait", "--timeout", "60")

    assert polled.returncode == 1  # one of the two polls failed, and says so
    assert "1 of 2 source(s) polled: 1 new item(s), 1 stored" in polled.stdout, polled.stdout
    with session_scope(settings) as session:
        bad = session.exec(select(Source).where(Source.url == http_server.url("/bad.xml"))).one()
        assert bad.last_status == "error" and bad.errors_in_row == 1
        assert bad.last_error and bad.last_error.startswith("malformed_feed")
        assert bad.next_poll_at is not None


def test_the_scheduler_polls_each_due_source_once(
    http_server: LocalServer, start_worker: Any, settings: Settings, celery_app: Any
) -> None:
    from pipeline.sources.registry import claim_due
    from workers.tasks import dispatch

    story = article(http_server, "/d", "Dispatched story")
    http_server.route(
        "/due.xml", Reply(200, rss([(story, "d")]), {"Content-Type": "application/rss+xml"})
    )
    with session_scope(settings) as session:
        session.add(Source(url=http_server.url("/due.xml")))
        session.add(
            Source(url=http_server.url("/later.xml"), next_poll_at=datetime(2999, 1, 1, tzinfo=UTC))
        )
        session.add(Source(url=http_server.url("/paused.xml"), paused=True))
    start_worker()

    dispatch.apply_async()

    def polled() -> bool:
        with session_scope(settings) as session:
            return bool(session.exec(select(ArticleRow)).first())

    wait_until(polled, timeout=60, interval=0.3)
    assert http_server.count("/due.xml") == 1
    assert http_server.count("/later.xml") == 0 and http_server.count("/paused.xml") == 0
    assert claim_due(settings) == []  # the poll set its next time; nothing is due now
