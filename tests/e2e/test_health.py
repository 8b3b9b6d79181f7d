"""Source health through real workers: a site changes its template, and the alarm says so
(and clears when the site returns); interstitial pages come out as failures with their kind."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.tables import ArticleRow, Failure, RawPage
from tests.conftest import free_port, newsflow
from tests.e2e.test_prometheus import scrape, value
from tests.httpserver import LocalServer, Reply

HTML = {"Content-Type": "text/html; charset=utf-8"}
WORDS = [
    "council",
    "river",
    "budget",
    "school",
    "harbour",
    "plan",
    "road",
    "vote",
    "market",
    "winter",
    "station",
    "museum",
    "bridge",
    "farmers",
    "police",
    "hospital",
    "library",
    "festival",
    "rail",
    "mayor",
    "court",
    "water",
    "energy",
    "housing",
    "park",
]
VERBS = [
    "said",
    "agreed",
    "asked",
    "approved",
    "delayed",
    "reviewed",
    "opened",
    "closed",
    "planned",
    "expected",
]

USUAL = """<!doctype html><html lang="en"><head><title>{title} | The Valley Courier</title>
<meta name="author" content="{author}">
<meta property="article:published_time" content="2026-11-{day:02d}T08:00:00Z">
<meta property="og:image" content="/img/{number}.jpg"></head>
<body><header><nav><a href="/">Home</a> <a href="/local">Local</a></nav></header>
<article><h1>{title}</h1><p class="byline">By {author}</p>
<p class="standfirst">{standfirst}</p>{paragraphs}</article>
<footer><p>The Valley Courier, 1 Market Street</p></footer></body></html>"""

# The new template: the story's text is no longer in the page (a script loads it), the
# byline is gone; the headline, date, image and standfirst remain.
CHANGED = """<!doctype html><html lang="en"><head><title>{title} | The Valley Courier</title>
<meta property="article:published_time" content="2026-11-{day:02d}T08:00:00Z">
<meta property="og:image" content="/img/{number}.jpg"></head>
<body><header><nav><a href="/">Home</a> <a href="/local">Local</a></nav></header>
<main><h1>{title}</h1><p class="standfirst">{standfirst}</p>
<div class="story-body" data-story="{number}"></div></main>
<footer><p>The Valley Courier, 1 Market Street</p></footer></body></html>"""


def sentence(generator: random.Random) -> str:
    words = [generator.choice(WORDS) for _ in range(generator.randint(8, 14))]
    words.insert(2, generator.choice(VERBS))
    return " ".join(words).capitalize() + "."


class Site:
    """A news site on the test server: a feed whose items grow, each article in the template
    the site uses when it is added."""

    def __init__(self, server: LocalServer, name: str) -> None:
        self.server, self.name, self.items = server, name, []
        self.feed = server.route(f"/{name}/feed.xml", self._feed)
        self.generator = random.Random(name)

    def publish(self, count: int, template: str) -> None:
        for _ in range(count):
            number = len(self.items) + 1
            title = f"{self.name.title()} story {number}: " + " ".join(
                self.generator.sample(WORDS, 4)
            )
            page = template.format(
                title=title,
                author=f"{self.generator.choice(['Ann', 'Ben', 'Cleo'])} Writer",
                day=1 + number % 28,
                number=number,
                standfirst=" ".join(sentence(self.generator) for _ in range(2)),
                paragraphs="".join(
                    f"<p>{' '.join(sentence(self.generator) for _ in range(4))}</p>"
                    for _ in range(6)
                ),
            )
            url = self.server.route(f"/{self.name}/{number}", Reply(200, page.encode(), HTML))
            self.items.append((url, title))

    def _feed(self, _headers: dict[str, str]) -> Reply:
        entries = "".join(
            f"<item><title>{title}</title><link>{url}</link></item>" for url, title in self.items
        )
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{self.name}</title>{entries}</channel></rss>'
        return Reply(200, body.encode(), {"Content-Type": "application/rss+xml"})


def poll_all() -> None:
    polled = newsflow("sources", "poll", "--all", "--wait", "--timeout", "400", timeout=460)
    assert polled.returncode == 0, polled.stdout + polled.stderr


def health() -> dict[str, dict[str, Any]]:
    shown = newsflow("sources", "health", "--json")
    assert shown.returncode == 0, shown.stderr
    return {row["url"]: row for row in json.loads(shown.stdout) if row["source_id"]}


def test_a_template_change_degrades_its_source_alone_until_the_site_returns(
    http_server: LocalServer, start_worker: Any, settings: Settings
) -> None:
    changing, steady = Site(http_server, "valley"), Site(http_server, "hills")
    changing.publish(40, USUAL)
    steady.publish(40, USUAL)
    port = free_port()
    start_worker(extra_env={"NEWSFLOW_METRICS_PORT": str(port)})
    for site in (changing, steady):
        added = newsflow("sources", "add", site.feed, "--name", site.name.title())
        assert added.returncode == 0, added.stderr
    poll_all()
    first = health()
    assert first[changing.feed]["state"] == first[steady.feed]["state"] == "learning"

    changing.publish(40, CHANGED)
    steady.publish(40, USUAL)
    poll_all()
    after = health()
    report = after[changing.feed]
    assert report["state"] == "degraded", report
    alarms = {alarm["field"]: alarm for alarm in report["alarms"]}
    assert {"authors", "body_words"} <= set(alarms), alarms
    assert (alarms["authors"]["baseline"], alarms["authors"]["recent"]) == (1.0, 0.0)
    assert alarms["body_words"]["recent"] * 4 < alarms["body_words"]["baseline"]
    assert report["last_day"]["pages"] == 80 and report["recent"]["pages"] == 40
    assert after[steady.feed]["state"] == "ok", after[steady.feed]

    status = newsflow("status", "--json")
    (shown,) = json.loads(status.stdout)["sources_degraded"]
    assert shown["url"] == changing.feed and "authors" in {a["field"] for a in shown["alarms"]}
    screen = newsflow("status", env={"COLUMNS": "80"}).stdout
    assert "sources degraded" in screen and "authors 100% → 0%" in screen
    table = newsflow("sources", "health", env={"COLUMNS": "80"})
    assert table.returncode == 0 and "degraded" in table.stdout and "authors" in table.stdout
    # The worker's gauge, one series per source id (first read at this scrape).
    samples = scrape(port)
    for site, degraded in ((changing, 1), (steady, 0)):
        source = str(after[site.feed]["source_id"])
        assert value(samples, "newsflow_source_degraded", source=source) == degraded
        assert value(samples, "newsflow_source_pages_last_day", source=source) == 80

    # The site goes back to its old template: the alarm clears by itself.
    changing.publish(40, USUAL)
    steady.publish(40, USUAL)
    poll_all()
    again = health()
    assert again[changing.feed]["state"] == "ok", again[changing.feed]
    assert again[steady.feed]["state"] == "ok"


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "interstitials"


def test_interstitial_pages_are_failures_of_their_kind_and_articles_are_stored(
    http_server: LocalServer, start_worker: Any, settings: Settings
) -> None:
    expected: dict[str, str | None] = json.loads((FIXTURES / "manifest.json").read_text())
    urls = {}
    for name, kind in expected.items():
        content_type = "text/plain" if name.endswith(".txt") else "text/html"
        body = (FIXTURES / name).read_bytes()
        urls[
            http_server.route(
                f"/pages/{name}",
                Reply(200, body, {"Content-Type": f"{content_type}; charset=utf-8"}),
            )
        ] = kind
    start_worker()
    ingested = newsflow("ingest", *urls, "--wait", "--timeout", "300", timeout=360)
    assert ingested.returncode == 1, ingested.stdout + ingested.stderr  # the walls failed
    with session_scope(settings) as session:
        stored = {row.url for row in session.exec(select(ArticleRow))}
        failed = {
            page.url: failure.reason
            for failure, page in session.exec(
                select(Failure, RawPage).where(col(Failure.raw_page_id) == col(RawPage.id))
            )
        }
    outcome = {url: ("article" if url in stored else failed.get(url)) for url in urls}
    wanted = {
        url: "article" if kind is None else f"interstitial:{kind}" for url, kind in urls.items()
    }
    assert outcome == wanted
    # A challenge was fetched again, each time after a backoff, until its attempts ran out
    # (NEWSFLOW_MAX_RETRIES=3 here); the record is the fetch's, so a replay fetches again.
    with session_scope(settings) as session:
        challenged = {
            failure.item: failure
            for failure in session.exec(
                select(Failure).where(Failure.reason == "interstitial:challenge")
            )
        }
    for url, kind in urls.items():
        fetches = http_server.count(url.removeprefix(http_server.base_url))
        assert fetches == (4 if kind == "challenge" else 1), (url, fetches)
        if kind == "challenge":
            assert challenged[url].stage == "fetch" and challenged[url].retryable
            assert challenged[url].payload == {"source": url, "entry": None, "rate": None}
    # Nothing else was stored, and the walls count in their site's health.
    assert stored == {url for url, kind in urls.items() if kind is None}
    (site,) = [
        row
        for row in json.loads(newsflow("sources", "health", "--json").stdout)
        if row["scope"].startswith("host:")
    ]
    assert site["last_day"]["interstitials"] == sum(kind is not None for kind in urls.values())
