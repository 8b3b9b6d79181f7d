"""Discovery: the feeds a page links to, and the sitemaps a robots.txt names."""

from __future__ import annotations

from pipeline.feeds import discover_feeds, sitemaps_from_robots


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
