"""Feeds and sitemaps: every format a source may publish, hostile input, and the shared corpus."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import MalformedFeed
from pipeline.feeds.parse import discover_feeds, parse_feed, sitemaps_from_robots
from pipeline.urls import absolute_url

FEED_URL = "https://news.example.org/feeds/all.xml"

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Example News</title>
  <link>https://news.example.org/</link>
  <item>
    <title>Council   approves
      budget</title>
    <link>/2024/05/01/budget.html</link>
    <pubDate>Wed, 01 May 2024 10:30:00 +0200</pubDate>
    <dc:creator>Ana Lima</dc:creator>
    <description>&lt;p&gt;The council &lt;b&gt;approved&lt;/b&gt; the budget.&lt;/p&gt;&lt;p&gt;Second   paragraph.&lt;/p&gt;&lt;script&gt;track()&lt;/script&gt;</description>
  </item>
  <item>
    <title>Same story again</title>
    <link>https://news.example.org/2024/05/01/budget.html</link>
  </item>
  <item>
    <title>No link at all</title>
    <description>Nothing to fetch here.</description>
  </item>
  <item>
    <title>A guid that is a permalink</title>
    <guid>https://news.example.org/2024/05/02/guid.html</guid>
  </item>
  <item>
    <title>A guid that is not a permalink</title>
    <guid isPermaLink="false">https://news.example.org/2024/05/03/not-a-link.html</guid>
  </item>
  <item>
    <title>Not on the web</title>
    <link>mailto:desk@news.example.org</link>
  </item>
</channel>
</rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.net/">
  <title>Example Blog</title>
  <link rel="self" href="https://blog.example.net/atom.xml"/>
  <updated>2024-05-02T08:00:00Z</updated>
  <entry>
    <title>Hello, Atom</title>
    <link rel="enclosure" href="https://cdn.example.net/hello.mp3"/>
    <link rel="alternate" type="text/html" href="posts/hello"/>
    <id>tag:blog.example.net,2024:hello</id>
    <updated>2024-05-02T08:00:00-04:00</updated>
    <author><name>Bea Park</name></author>
    <summary type="text">Plain &lt;text&gt; summary</summary>
  </entry>
</feed>"""

RDF = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.com/">
    <title>RDF Site</title>
    <link>https://rdf.example.com/</link>
    <items><rdf:Seq><rdf:li rdf:resource="https://rdf.example.com/a"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://rdf.example.com/a">
    <title>First RDF item</title>
    <link>https://rdf.example.com/a</link>
    <dc:date>2024-04-30T12:00:00+00:00</dc:date>
  </item>
</rdf:RDF>"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON Example",
        "authors": [{"name": "Desk"}],
        "items": [
            {
                "id": "1",
                "url": "https://json.example.com/one",
                "title": "One",
                "content_html": "<p>First <em>item</em></p>",
                "date_published": "2024-05-01T12:00:00+02:00",
                "authors": [{"name": "Cho Min"}],
            },
            {"id": "2", "external_url": "/two", "title": "Two", "summary": "Second"},
            {"id": "3", "title": "No URL"},
        ],
    }
).encode()

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>https://site.example/a</loc><lastmod>2024-05-01T10:00:00+02:00</lastmod>
    <image:image><image:loc>https://site.example/a.jpg</image:loc></image:image></url>
  <url><loc> https://site.example/b </loc><lastmod>2024-05-02</lastmod></url>
  <url><loc>/c</loc><lastmod>2024-05</lastmod></url>
  <url><loc>https://site.example/a</loc></url>
  <url><loc>ftp://site.example/d</loc></url>
</urlset>"""

SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://site.example/sitemap-1.xml.gz</loc><lastmod>2024-05-01</lastmod></sitemap>
  <sitemap><loc>/sitemap-2.xml</loc></sitemap>
  <sitemap><loc>https://site.example/sitemap-1.xml.gz</loc></sitemap>
</sitemapindex>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://paper.example/world/summit.html</loc>
    <lastmod>2024-05-03T09:00:00Z</lastmod>
    <news:news>
      <news:publication><news:name>The Paper</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2024-05-02T18:45:00+01:00</news:publication_date>
      <news:title>Leaders meet   at summit</news:title>
    </news:news>
  </url>
  <url>
    <loc>https://paper.example/local/fair.html</loc>
    <news:news>
      <news:publication><news:name>The Paper</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2024-05-02</news:publication_date>
      <news:title>County fair opens</news:title>
    </news:news>
  </url>
</urlset>"""


def links(content: bytes, **arguments: Any) -> list[str]:
    return [entry.url for entry in parse_feed(content, url=FEED_URL, **arguments).entries]


# --- formats ---------------------------------------------------------------------------------


def test_rss_items_become_entries_with_absolute_links_and_clean_text() -> None:
    feed = parse_feed(RSS, url=FEED_URL, content_type="application/rss+xml")
    assert feed.kind == "rss"
    assert feed.title == "Example News"
    # The relative link is made absolute; its absolute twin is kept once; the item without a
    # link, the non-permalink guid and the mailto: link are left out.
    assert [entry.url for entry in feed.entries] == [
        "https://news.example.org/2024/05/01/budget.html",
        "https://news.example.org/2024/05/02/guid.html",
    ]
    first = feed.entries[0]
    assert first.title == "Council approves budget"
    assert first.published == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert first.author == "Ana Lima"
    assert first.summary == "The council approved the budget. Second paragraph."


def test_atom_entries_use_the_alternate_link_against_xml_base() -> None:
    feed = parse_feed(ATOM, url="https://blog.example.net/atom.xml")
    assert feed.kind == "atom"
    assert feed.title == "Example Blog"
    [entry] = feed.entries
    assert entry.url == "https://blog.example.net/posts/hello"
    assert entry.published == datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    assert entry.author == "Bea Park"
    assert entry.summary == "Plain <text> summary"  # type="text": not markup, kept as written


def test_rdf_feed() -> None:
    feed = parse_feed(RDF, url="https://rdf.example.com/index.rdf")
    assert feed.kind == "rdf"
    assert feed.title == "RDF Site"
    [entry] = feed.entries
    assert entry.url == "https://rdf.example.com/a"
    assert entry.published == datetime(2024, 4, 30, 12, 0, tzinfo=UTC)


def test_json_feed() -> None:
    feed = parse_feed(JSON_FEED, url="https://json.example.com/feed.json")
    assert feed.kind == "json"
    assert feed.title == "JSON Example"
    assert [entry.url for entry in feed.entries] == [
        "https://json.example.com/one",
        "https://json.example.com/two",
    ]
    one, two = feed.entries
    assert one.summary == "First item"
    assert one.published == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert one.author == "Cho Min"
    assert two.author == "Desk"  # the feed's author stands in for the item's
    assert two.summary == "Second"


def test_urlset_sitemap() -> None:
    feed = parse_feed(URLSET, url="https://site.example/sitemap.xml")
    assert feed.kind == "sitemap"
    assert [entry.url for entry in feed.entries] == [
        "https://site.example/a",
        "https://site.example/b",
        "https://site.example/c",
    ]
    assert [entry.published for entry in feed.entries] == [
        datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
        datetime(2024, 5, 2, tzinfo=UTC),
        datetime(2024, 5, 1, tzinfo=UTC),
    ]
    assert feed.sitemaps == ()


def test_sitemap_without_namespace_is_still_a_sitemap() -> None:
    content = b"<urlset><url><loc>https://site.example/x</loc></url></urlset>"
    feed = parse_feed(content, url="https://site.example/sitemap.xml")
    assert feed.kind == "sitemap"
    assert [entry.url for entry in feed.entries] == ["https://site.example/x"]


def test_sitemap_index_lists_sitemaps_not_entries() -> None:
    feed = parse_feed(SITEMAP_INDEX, url="https://site.example/sitemap_index.xml")
    assert feed.kind == "sitemap-index"
    assert feed.entries == ()
    assert feed.sitemaps == (
        "https://site.example/sitemap-1.xml.gz",
        "https://site.example/sitemap-2.xml",
    )


def test_google_news_sitemap_gives_titles_and_publication_dates() -> None:
    feed = parse_feed(NEWS_SITEMAP, url="https://paper.example/news-sitemap.xml")
    assert feed.kind == "news-sitemap"
    summit, fair = feed.entries
    assert summit.url == "https://paper.example/world/summit.html"
    assert summit.title == "Leaders meet at summit"
    # The publication date wins over lastmod, which may be any later edit.
    assert summit.published == datetime(2024, 5, 2, 17, 45, tzinfo=UTC)
    assert fair.title == "County fair opens"
    assert fair.published == datetime(2024, 5, 2, tzinfo=UTC)


def test_gzipped_sitemap() -> None:
    feed = parse_feed(gzip.compress(URLSET), url="https://site.example/sitemap.xml.gz")
    assert feed.kind == "sitemap"
    assert len(feed.entries) == 3


def test_gzipped_feed_of_two_members() -> None:
    content = gzip.compress(RSS[:300]) + gzip.compress(RSS[300:])
    assert len(links(content)) == 2


def test_a_declared_encoding_that_lies_still_gives_the_entries() -> None:
    content = (
        b'<?xml version="1.0" encoding="us-ascii"?><rss version="2.0"><channel><title>Caf\xe9</title>'
        b"<item><title>Cr\xe8me</title><link>https://x.example/c</link></item></channel></rss>"
    )
    assert links(content) == ["https://x.example/c"]


def test_an_undeclared_legacy_encoding_is_detected() -> None:
    title = "ゲーム三昧な正月の話題をお届けします"
    content = (
        f'<rss version="2.0"><channel><title>{title}</title><item><title>{title}</title>'
        f"<link>https://jp.example/1</link><description>{title}。{title}。</description>"
        "</item></channel></rss>"
    ).encode("euc-jp")
    feed = parse_feed(content, url="https://jp.example/rss")
    assert feed.title == title
    assert feed.entries[0].title == title


def test_an_empty_feed_served_with_the_wrong_type_is_an_empty_feed() -> None:
    content = b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    feed = parse_feed(content, url=FEED_URL, content_type="text/html; charset=utf-8")
    assert feed.kind == "rss"
    assert feed.title == "Quiet"
    assert feed.entries == ()


def test_summaries_are_capped() -> None:
    words = " ".join(["word"] * 600)
    content = (
        f'<rss version="2.0"><channel><item><link>https://x.example/long</link>'
        f"<description>{words}</description></item></channel></rss>"
    ).encode()
    [entry] = parse_feed(content, url=FEED_URL).entries
    assert entry.summary is not None
    assert len(entry.summary) <= 1000
    assert entry.summary.endswith("word…")


# --- hostile and broken input ----------------------------------------------------------------


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


def test_broken_gzip_is_malformed() -> None:
    whole = gzip.compress(URLSET)
    with pytest.raises(MalformedFeed, match="truncated"):
        parse_feed(whole[: len(whole) // 2], url=FEED_URL)
    with pytest.raises(MalformedFeed, match="does not decompress"):
        parse_feed(b"\x1f\x8b" + b"\xff" * 50, url=FEED_URL)


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


def test_a_body_that_names_a_local_file_is_not_read_from_disk(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes(RSS)
    # Handed bytes, feedparser would open them as a path; parse_feed must read the bytes only.
    with pytest.raises(MalformedFeed):
        parse_feed(str(secret).encode(), url=FEED_URL)


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


# --- discovery -------------------------------------------------------------------------------


def test_feeds_discovered_from_a_page_head() -> None:
    html = """<!doctype html><html><head>
      <base href="https://www.example.com/news/">
      <link rel="stylesheet" href="/style.css">
      <link rel="alternate" type="application/rss+xml" title="All" href="/feeds/all.rss">
      <link rel="Alternate home" type="application/atom+xml" href="atom.xml">
      <link rel="alternate" hreflang="de" type="text/html" href="https://www.example.com/de/">
      <LINK REL="ALTERNATE" TYPE="Application/Feed+JSON; charset=utf-8" HREF="/feed.json">
      <link rel="alternate" type="application/rdf+xml" href="https://rdf.example.com/index.rdf">
      <link rel="alternate" type="application/rss+xml" href="/feeds/all.rss">
      <link rel="alternates" type="application/rss+xml" href="/not-a-token-match.rss">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
      <link rel="alternate" type="application/rss+xml">
    </head><body><p>Hello</p></body></html>"""
    assert discover_feeds(html, url="https://www.example.com/") == [
        "https://www.example.com/feeds/all.rss",
        "https://www.example.com/news/atom.xml",
        "https://www.example.com/feed.json",
        "https://rdf.example.com/index.rdf",
    ]


def test_a_page_without_feeds_discovers_none() -> None:
    assert discover_feeds("<html><body>nothing</body></html>", url="https://x.example/") == []
    assert discover_feeds("", url="https://x.example/") == []


def test_sitemaps_from_robots() -> None:
    robots = (
        "\ufeffUser-agent: *\n"
        "Disallow: /private\n"
        "Sitemap: https://www.example.com/sitemap.xml\n"
        "sitemap:/news-sitemap.xml   # the news one\n"
        "SITEMAP: https://www.example.com/sitemap.xml\n"
        "# Sitemap: https://www.example.com/commented-out.xml\n"
        "Sitemap: https://cdn.example.net/sitemaps/index.xml.gz\n"
        "Sitemap:\n"
        "Sitemap: ftp://www.example.com/sitemap.xml\n"
    )
    assert sitemaps_from_robots(robots, url="https://www.example.com/robots.txt") == [
        "https://www.example.com/sitemap.xml",
        "https://www.example.com/news-sitemap.xml",
        "https://cdn.example.net/sitemaps/index.xml.gz",
    ]


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
