"""When the article was published and last modified, from the page's own evidence.

The publisher's statements come first (JSON-LD, then ``<meta>``); where the page states
nothing, htmldate searches its markup and text for the original date.
"""

from __future__ import annotations

import htmldate
from lxml import html as lxml_html

from .markup import article_node, json_ld_nodes, meta_pairs, text

_PUBLISHED_META = (
    "article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "dc.date",
    "dc.date.issued",
    "date",
    "parsely-pub-date",
    "sailthru.date",
    "og:article:published_time",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "last-modified",
    "dc.date.modified",
)


def read_dates(tree: lxml_html.HtmlElement, url: str | None) -> tuple[str | None, str | None]:
    """(published, modified) as the page writes them; the extract stage parses them."""
    article = article_node(json_ld_nodes(tree)) or {}
    published = text(article.get("datePublished")) or text(article.get("dateCreated"))
    modified = text(article.get("dateModified"))
    meta: dict[str, str] = {}
    for name, value in meta_pairs(tree):
        meta.setdefault(name, value)
    published = published or next((meta[n] for n in _PUBLISHED_META if meta.get(n)), None)
    modified = modified or next((meta[n] for n in _MODIFIED_META if meta.get(n)), None)
    if not published:
        guess = htmldate.find_date(tree, url=url, original_date=True, extensive_search=True)
        # A bare year comes back as its 1 January: usually a copyright line, not the story.
        published = guess if guess and not guess.endswith("-01-01") else None
    return published, modified
