"""RSS, Atom and RDF: links, text, dates and encodings as feedparser reads them for us."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.errors import MalformedFeed
from pipeline.feeds import parse_feed
from tests.feed_samples import ATOM, FEED_URL, RDF, RSS, links


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


def test_a_body_that_names_a_local_file_is_not_read_from_disk(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes(RSS)
    # Handed bytes, feedparser would open them as a path; parse_feed must read the bytes only.
    with pytest.raises(MalformedFeed):
        parse_feed(str(secret).encode(), url=FEED_URL)
