"""XML sitemaps: plain, index and Google News; with or without a namespace; cut short."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.errors import MalformedFeed
from pipeline.feeds import parse_feed
from tests.feed_samples import NEWS_SITEMAP, SITEMAP_INDEX, URLSET


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


# --- cut short -------------------------------------------------------------------------------

IMAGE = 'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"'
TWO_URLS = (
    f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" {IMAGE}>'
    "<url><loc>https://site.example/alpha</loc></url>"
    "<url><loc>https://site.example/beta-gamma</loc>"
    "<image:image><image:loc>https://site.example/beta.jpg</image:loc></image:image></url>"
    "</urlset>"
).encode()


def urls_before(document: bytes, end: bytes) -> list[str]:
    """The entries of ``document`` cut short just before the first ``end`` in it."""
    cut = document[: document.index(end)]
    feed = parse_feed(cut, url="https://site.example/sitemap.xml")
    return [entry.url for entry in feed.entries] + list(feed.sitemaps)


def test_a_sitemap_cut_inside_a_loc_leaves_out_half_a_url() -> None:
    assert urls_before(TWO_URLS, b"-gamma") == ["https://site.example/alpha"]
    # Cut where the <loc> itself is whole, the item is read.
    whole = ["https://site.example/alpha", "https://site.example/beta-gamma"]
    assert urls_before(TWO_URLS, b"<image:image>") == whole
    assert urls_before(TWO_URLS, b".jpg") == whole  # inside the image's loc, not the page's


def test_a_sitemap_index_cut_inside_a_loc_leaves_out_half_a_url() -> None:
    assert urls_before(SITEMAP_INDEX, b"-2.xml") == ["https://site.example/sitemap-1.xml.gz"]


@pytest.mark.parametrize(
    "document",
    [URLSET, NEWS_SITEMAP, SITEMAP_INDEX, TWO_URLS],
    ids=["urlset", "news", "index", "image"],
)
def test_a_sitemap_cut_anywhere_gives_only_urls_the_whole_lists(document: bytes) -> None:
    url = "https://site.example/sitemap.xml"
    whole = parse_feed(document, url=url)
    listed = {entry.url for entry in whole.entries} | set(whole.sitemaps)
    for end in range(1, len(document)):
        try:
            feed = parse_feed(document[:end], url=url)
        except MalformedFeed:
            continue
        found = {entry.url for entry in feed.entries} | set(feed.sitemaps)
        assert found <= listed, (end, found - listed)
