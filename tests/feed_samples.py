"""Sample documents of every format a source may publish, shared by the feed tests."""

from __future__ import annotations

import json
from typing import Any

from pipeline.feeds import parse_feed

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
    """The entries' URLs of ``content`` read as if fetched from ``FEED_URL``."""
    return [entry.url for entry in parse_feed(content, url=FEED_URL, **arguments).entries]
