"""What ``newsflow`` prints for people, read in a terminal 80 columns wide: nothing wider than
the terminal, no word broken across lines, every URL whole on one line (so that it can be
copied), times whole; ``--json`` keeps the full text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.settings import Settings
from tests.conftest import newsflow
from tests.httpserver import LocalServer, Reply

WIDTH = 80
# A broker that does not answer: `ingest --local` then keeps host rates in this process.
NARROW = {"COLUMNS": str(WIDTH), "NEWSFLOW_BROKER_URL": "redis://127.0.0.1:1/0"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
SLUG = "/2026/12/01/world/europe/geneva-talks-{}.html"
CANONICAL = "/2026/12/01/world/geneva-talks-go-on-{}.html"
TITLE = (
    "The Extraordinarily Long Title of Story {} About the Negotiations Between Many Parties "
    "in Geneva That Went On for Several Weeks"
)
BODY = (
    "<p>Delegates from many countries met in Geneva on Monday for talks expected to last "
    "several weeks, officials said, as the negotiations entered a new phase.</p>"
    "<p>The talks, which began last month, have so far produced few results, but diplomats "
    "remain hopeful that an agreement can be reached before the end of the year.</p>"
    "<p>Observers said the mood in the room was tense but constructive, and that both sides "
    "had made concessions on a number of key points during the first week of the talks.</p>"
)


def page(title: str, canonical: str | None) -> bytes:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (
        f"<html><head><title>{title}</title>{link}"
        '<meta property="article:published_time" content="2026-12-01T10:00:00Z"></head>'
        f"<body><article><h1>{title}</h1>{BODY}</article></body></html>"
    ).encode()


def assert_fits(output: str, whole: list[str]) -> list[str]:
    """Each line at most WIDTH wide, unless it is one long word (a URL printed whole, which
    the terminal wraps); each of ``whole`` on a single line. The lines, for more checks."""
    lines = output.splitlines()
    for line in lines:
        assert len(line) <= WIDTH or " " not in line.strip(), f"too wide:\n{line}\n\n{output}"
    for value in whole:
        assert any(value in line for line in lines), f"not whole on one line: {value}\n{output}"
    return lines


def minute(value: str) -> str:
    """A stored time as the command line shows it: local time, to the minute."""
    when = datetime.fromisoformat(value)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def site(http_server: LocalServer, settings: Settings) -> Iterator[dict[str, Any]]:
    """Three long-titled stories at long URLs (two name a canonical URL elsewhere), a page
    that is not there and an image, ingested in this process at 80 columns."""
    sources = [http_server.url(SLUG.format(n)) for n in range(3)]
    # Declared on the same site, as a canonical link must be to count.
    canonical = [http_server.url(CANONICAL.format(n)) for n in range(2)] + [sources[2]]
    for n, url in enumerate(sources):
        path = url.removeprefix(http_server.base_url)
        own = canonical[n] if canonical[n] != url else None
        http_server.route(path, Reply(200, page(TITLE.format(n), own), HTML))
    missing = http_server.url(SLUG.format("gone"))
    image = http_server.route(
        SLUG.format("photo"),
        Reply(200, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, {"Content-Type": "image/png"}),
    )
    ingested = newsflow("ingest", "--local", *sources, missing, image, env=NARROW)
    yield {
        "ingested": ingested,
        "sources": sources,
        "canonical": canonical,
        "failed": [missing, image],
    }


def test_ingest_fits_and_says_where_each_was_stored_only_when_elsewhere(
    site: dict[str, Any],
) -> None:
    result = site["ingested"]
    assert result.returncode == 1, result.stderr  # two of the five failed
    assert_fits(result.stdout, [*site["sources"], *site["canonical"], *site["failed"]])
    # Stored where it was fetched from: the address is said once, not again as the detail.
    for url in [*site["sources"], *site["failed"]]:
        assert result.stdout.count(url) == 1, result.stdout
    assert "http_404" in result.stdout and "unsupported_content" in result.stdout
    assert "3 stored, 2 failed" in result.stdout


def test_articles_fit_with_titles_shortened_and_urls_whole(site: dict[str, Any]) -> None:
    result = newsflow("articles", env=NARROW)
    assert result.returncode == 0, result.stderr
    lines = assert_fits(result.stdout, site["canonical"])
    for n in range(3):
        # On one line, cut short with an ellipsis: never folded over several.
        title = [line for line in lines if TITLE.format(n)[:42] in line]
        assert len(title) == 1 and title[0].rstrip().endswith("…"), result.stdout
    # The full text is in the JSON.
    listed = json.loads(newsflow("articles", "--json", env=NARROW).stdout)
    assert sorted(item["title"] for item in listed) == sorted(TITLE.format(n) for n in range(3))
    assert sorted(item["canonical_url"] for item in listed) == sorted(site["canonical"])


def test_one_article_reads_in_labelled_lines_and_wrapped_paragraphs(
    site: dict[str, Any],
) -> None:
    listed = json.loads(newsflow("articles", "--json", env=NARROW).stdout)
    first = next(item for item in listed if item["canonical_url"] == site["canonical"][0])
    result = newsflow("article", str(first["id"]), env=NARROW)
    assert result.returncode == 0, result.stderr
    lines = assert_fits(result.stdout, [site["canonical"][0]])
    assert site["canonical"][0] in [line.strip() for line in lines]  # a line of its own
    assert any(re.match(r"published\s+2026-12-01", line) for line in lines), result.stdout
    # Wrapped between words: each line of the body ends a word, and the words are all there.
    body = [line for line in lines if line.startswith(("Delegates", "The talks", "Observers"))]
    assert len(body) == 3, result.stdout
    words = " ".join(line.strip() for line in lines).split()
    assert all(word in words for word in first["body"].split())
    shown = json.loads(newsflow("article", str(first["id"]), "--json", env=NARROW).stdout)
    assert shown["body"] == first["body"]


def test_failures_fit_with_items_whole_and_times_unbroken(site: dict[str, Any]) -> None:
    result = newsflow("failures", "list", env=NARROW)
    assert result.returncode == 0, result.stderr
    lines = assert_fits(result.stdout, site["failed"])
    failures = json.loads(newsflow("failures", "list", "--json", env=NARROW).stdout)
    assert {failure["item"] for failure in failures} == set(site["failed"])
    for failure in failures:
        assert any(minute(failure["last_seen"]) in line for line in lines), result.stdout
        assert any(failure["reason"] in line for line in lines)
    # A message is shortened, never broken a word a line.
    assert not [line for line in lines if len(line.split()) == 1 and "://" not in line]


@pytest.fixture
def feed(http_server: LocalServer) -> str:
    story = http_server.route(SLUG.format("in-the-feed"), Reply(200, page("A story", None), HTML))
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Daily</title>'
        f"<item><title>A story</title><link>{story}</link></item></channel></rss>"
    )
    return http_server.route(
        "/feeds/world/europe/the-daily-world-news-from-europe.xml",
        Reply(200, rss.encode(), {"Content-Type": "application/rss+xml"}),
    )


def test_sources_show_name_kind_and_why_a_poll_failed(
    feed: str, start_worker: Any, settings: Settings
) -> None:
    name = "The Daily World News From Europe, Its Evening Edition, Read Aloud"
    added = newsflow("sources", "add", feed, "--name", name)
    assert added.returncode == 0, added.stderr
    listed = newsflow("sources", "list", env={"COLUMNS": str(WIDTH)})
    lines = assert_fits(listed.stdout, [feed])
    assert "rss" in listed.stdout and "never polled" in listed.stdout  # known when added
    assert any(name[:20] in line for line in lines), listed.stdout

    # The worker's network guard refuses the feed's host, as it would a private address.
    guarded = {"NEWSFLOW_ALLOW_PRIVATE_NETWORKS": "false"}
    start_worker(extra_env=guarded)
    polled = newsflow("sources", "poll", "--all", "--wait", "--timeout", "60")
    assert polled.returncode == 1
    assert "0 of 1 source(s) polled" in polled.stdout
    failed = [line for line in polled.stderr.splitlines() if feed in line]
    assert len(failed) == 1 and "#1" in failed[0] and "blocked" in failed[0], polled.stderr

    listed = newsflow("sources", "list", env={"COLUMNS": str(WIDTH)})
    lines = assert_fits(listed.stdout, [feed])
    assert "error" in listed.stdout and "blocked" in listed.stdout, listed.stdout
    (row,) = json.loads(newsflow("sources", "list", "--json").stdout)
    assert row["last_error"].startswith("blocked") and row["kind"] == "rss"
