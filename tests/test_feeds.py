"""parse_feed: telling the formats apart, gzip bodies, hostile input, and the shared corpus.

Each format has its own tests beside this file (``test_feeds_syndication.py``,
``test_feeds_sitemaps.py``, ``test_feeds_jsonfeed.py``, ``test_feeds_discovery.py``).
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from pathlib import Path

import pytest

from pipeline.errors import MalformedFeed
from pipeline.feeds import parse_feed
from pipeline.urls import absolute_url
from tests.feed_samples import FEED_URL, RSS, URLSET, links

# --- gzip ------------------------------------------------------------------------------------


def test_gzipped_sitemap() -> None:
    feed = parse_feed(gzip.compress(URLSET), url="https://site.example/sitemap.xml.gz")
    assert feed.kind == "sitemap"
    assert len(feed.entries) == 3


def test_gzipped_feed_of_two_members() -> None:
    content = gzip.compress(RSS[:300]) + gzip.compress(RSS[300:])
    assert len(links(content)) == 2


def gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros, gzipped a megabyte at a time (about 1/1000 of the size)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(megabytes)]
    return b"".join([*parts, compressor.flush()])


def test_a_gzip_bomb_is_refused_without_expanding_it() -> None:
    bomb = gzip_bomb(200)
    assert len(bomb) < 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(MalformedFeed, match="more than 1048576 bytes"):
            parse_feed(bomb, url=FEED_URL, max_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_the_default_cap_holds_too() -> None:
    with pytest.raises(MalformedFeed, match="more than"):
        parse_feed(gzip_bomb(200), url=FEED_URL)


def test_gzip_that_does_not_decompress_is_malformed() -> None:
    with pytest.raises(MalformedFeed, match="does not decompress") as caught:
        parse_feed(b"\x1f\x8b" + b"\xff" * 50, url=FEED_URL)
    assert str(caught.value).startswith(FEED_URL)


def many_items(kind: str, count: int = 200) -> tuple[list[str], bytes]:
    """A sitemap or an RSS feed of ``count`` items, and their URLs in order."""
    urls = [f"https://site.example/story-{number}.html" for number in range(count)]
    if kind == "sitemap":
        items = "".join(f"<url><loc>{url}</loc></url>" for url in urls)
        return urls, f"<urlset>{items}</urlset>".encode()
    items = "".join(f"<item><title>Story</title><link>{url}</link></item>" for url in urls)
    return urls, f'<rss version="2.0"><channel><title>Many</title>{items}</channel></rss>'.encode()


@pytest.mark.parametrize("kind", ["sitemap", "rss"])
def test_a_truncated_gzip_body_gives_the_entries_it_held(kind: str) -> None:
    # Cut short in transit, as a body sent with Content-Encoding may be too: what it held is
    # read, and nothing that was cut in half.
    urls, document = many_items(kind)
    whole = gzip.compress(document, mtime=0)
    found = links(whole[: len(whole) // 2])
    assert 0 < len(found) < len(urls)
    assert found == urls[: len(found)]


def test_junk_after_the_gzip_members_is_ignored() -> None:
    content = gzip.compress(RSS[:300]) + gzip.compress(RSS[300:]) + b"\r\n\0\0"
    assert len(links(content)) == 2


def test_two_layers_of_gzip_are_read_and_a_third_is_refused() -> None:
    once = gzip.compress(URLSET)
    twice = gzip.compress(once)
    assert len(parse_feed(twice, url="https://site.example/sitemap.xml.gz").entries) == 3
    with pytest.raises(MalformedFeed, match="gzip inside gzip") as caught:
        parse_feed(gzip.compress(twice), url=FEED_URL)
    assert str(caught.value).startswith(FEED_URL)


# --- hostile and broken input ----------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"   \n",
        b"<rss version='2.0'><channel><item><title>cut off",
        b"<html><head><title>Home</title></head><body><p>Welcome</p></body></html>",
        b"just some words, not a feed",
        b'{"not": "a feed"}',
        b"{broken json",
        b"\x00\x01\x02\xff\xfe binary",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
        b"[" * 100_000 + b"]" * 100_000,
        b"<urlset>",
    ],
    ids=[
        "empty",
        "blank",
        "truncated",
        "html",
        "text",
        "json-not-feed",
        "bad-json",
        "binary",
        "png",
        "deep-json",
        "empty-urlset",
    ],
)
def test_what_is_not_a_feed_is_malformed(content: bytes) -> None:
    try:
        feed = parse_feed(content, url=FEED_URL)
    except MalformedFeed as error:
        assert error.reason == "malformed_feed"
        assert str(error).startswith(FEED_URL)
    else:
        # A document that is a sitemap in name only may pass, as an empty one.
        assert feed.entries == () and feed.sitemaps == ()


def test_html_is_not_a_feed_with_a_clear_message() -> None:
    html = b"<!doctype html><html><head><title>Home</title></head><body>Hi</body></html>"
    with pytest.raises(MalformedFeed, match="not a feed or sitemap"):
        parse_feed(html, url=FEED_URL, content_type="text/html")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
 <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
"""


@pytest.mark.parametrize(
    "body",
    [
        b"<urlset><url><loc>https://site.example/&lol9;</loc></url>"
        b"<url><loc>https://site.example/&xxe;</loc></url></urlset>",
        b'<rss version="2.0"><channel><title>&lol9;</title>'
        b"<item><title>&xxe;</title><link>https://site.example/&lol9;</link></item>"
        b"</channel></rss>",
    ],
    ids=["sitemap", "rss"],
)
def test_entities_are_neither_expanded_nor_fetched(body: bytes) -> None:
    try:
        feed = parse_feed(BILLION_LAUGHS + body, url=FEED_URL)
    except MalformedFeed:
        return
    text = feed.model_dump_json()
    assert "lollollol" not in text
    assert "root:" not in text
    assert len(text) < 10_000


# --- the shared corpus -----------------------------------------------------------------------

# Counts in the manifest that our reading differs from on purpose, and why.
KNOWN_COUNTS = {
    # crawler-commons counts the item whose only URL is a <guid isPermaLink="false">; the feed
    # itself says that guid is not a link, so we leave the item out.
    "files/crawler-commons/rss/feed.rss": 3,
}
# Links in the manifest we do not produce on purpose, and why.
KNOWN_MISSING_LINKS = {
    # An <xhtml:link hreflang="de"> alternate, which trafilatura follows when asked for German
    # pages; an entry of a sitemap is its <loc>, not its language alternates.
    "files/trafilatura/sitemap-hreflang.xml": {"http://www.example.com/sitemap-de.xml.gz"},
}


@pytest.mark.corpus
def test_corpus_feeds_parse_or_fail_cleanly_and_match_their_sources(corpus: Path) -> None:
    folder = corpus / "feeds"
    rows = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) >= 70
    problems: list[str] = []
    parsed = counted = titled = linked = 0
    for row in rows:
        path = row["path"]
        url = f"https://feeds.example.org/{path}"
        try:
            feed = parse_feed((folder / path).read_bytes(), url=url)
        except MalformedFeed:
            # Plain-text sitemaps (one URL a line) are not among the formats parse_feed reads:
            # ParsedFeed has no kind for them, and sources list XML sitemaps in practice.
            if not row["malformed"] and row.get("format") != "sitemap-txt":
                problems.append(f"{path}: a well-formed file was refused")
            continue
        except Exception as error:  # the one thing that must never happen
            problems.append(f"{path}: raised {type(error).__name__}: {error}")
            continue
        parsed += 1
        found = [entry.url for entry in feed.entries] + list(feed.sitemaps)

        expected = row.get("expected_entries")
        if expected is not None:
            # feed-rs snapshots list items without a link (its expected link is null); those
            # are skipped by design here, since there is nothing to fetch.
            linkless = sum(1 for link in row.get("expected_links") or [] if link is None)
            expected = KNOWN_COUNTS.get(path, expected)
            if not expected - linkless <= len(feed.entries) <= expected:
                problems.append(f"{path}: {len(feed.entries)} entries, expected {expected}")
            else:
                counted += 1
        if row.get("expected_sitemaps") is not None:
            if len(feed.sitemaps) != row["expected_sitemaps"]:
                problems.append(
                    f"{path}: {len(feed.sitemaps)} sitemaps, expected {row['expected_sitemaps']}"
                )
            else:
                counted += 1

        wanted = {
            absolute_url(url, link)
            for link in row.get("expected_links") or []
            if link is not None and link not in KNOWN_MISSING_LINKS.get(path, set())
        }
        missing = wanted - set(found)
        if missing:
            problems.append(f"{path}: links missing: {sorted(map(str, missing))}")
        linked += bool(wanted) and not missing

        if not row["malformed"] and "expected_feed_title" in row:
            if feed.title != row["expected_feed_title"]:
                problems.append(f"{path}: title {feed.title!r}, not {row['expected_feed_title']!r}")
            else:
                titled += 1

        if row.get("true_encoding") and feed.title:
            truth = (folder / path).read_bytes().decode(row["true_encoding"])
            if feed.title not in " ".join(truth.split()):
                problems.append(
                    f"{path}: title {feed.title!r} not decoded as {row['true_encoding']}"
                )

    assert not problems, "\n".join(problems)
    # Floors, so that a manifest change which silently empties a check is noticed.
    assert parsed >= 60 and counted >= 45 and titled >= 40 and linked >= 35, (
        parsed,
        counted,
        titled,
        linked,
    )
