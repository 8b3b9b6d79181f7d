"""Headlines where og:title, <title>, the JSON-LD headline and the h1 disagree: on small pages
written here, and on real pages of the tuning part of ../shared/corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.corpora import load_corpus
from pipeline.clean.html import parse_html
from pipeline.extract.metadata import read_metadata


def _title(html: str, url: str = "https://www.example-news.com/2024/05/story") -> str | None:
    return read_metadata(parse_html(html), url).title


def _page(head: str, body: str) -> str:
    return f"<html><head>{head}</head><body>{body}<p>{'Text of the story. ' * 40}</p></body></html>"


def test_the_json_ld_headline_comes_before_og_title_and_the_title() -> None:
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Storm closes port"}
    html = _page(
        "<title>Storm closes port, ferries cancelled | Example News</title>"
        '<meta property="og:title" content="Storm closes port, ferries cancelled">'
        f'<script type="application/ld+json">{json.dumps(ld)}</script>',
        "<h1>Storm closes port</h1>",
    )
    assert _title(html) == "Storm closes port"


def test_the_site_suffix_is_cut_where_the_h1_confirms_the_rest() -> None:
    html = _page(
        "<title>Council approves new budget for schools – Am Rande der Stadt</title>",
        "<h1>Council approves new budget for schools</h1>",
    )
    assert _title(html) == "Council approves new budget for schools"


def test_a_site_prefix_naming_the_domain_is_cut() -> None:
    html = _page(
        '<meta property="og:title" content="Example News - Rail strike ends after two weeks">',
        "<h1>Something else entirely</h1>",
    )
    assert _title(html) == "Rail strike ends after two weeks"


def test_a_site_name_glued_to_the_title_is_cut() -> None:
    html = _page(
        '<meta property="og:title" content="Neue Brücke eröffnet:examplenews開発日誌">',
        "<h1>Menü</h1>",
    )
    assert _title(html) == "Neue Brücke eröffnet"


def test_a_title_that_is_only_the_site_name_gives_way_to_a_headline_sized_h1() -> None:
    html = _page(
        '<meta property="og:title" content="Example News">',
        "<h1>MENU</h1><h1></h1><h1>Markets rise as rates hold steady</h1>",
    )
    assert _title(html) == "Markets rise as rates hold steady"


def test_a_subtitle_is_kept_when_no_heading_confirms_the_cut() -> None:
    html = _page(
        '<meta property="og:title" content="Silver Society – The young old people">',
        "<h1>Silver Society</h1>",
    )
    assert _title(html, "https://otrs.example.org/blog/silver") == (
        "Silver Society – The young old people"
    )


# -- real pages (tuning part only) -----------------------------------------------------------

_REAL = [
    ("metadata-dev", "postlight-parser__html_phpspot.org"),
    ("metadata-dev", "postlight-parser__html_www.bloomberg.com--news"),
    ("snippets-dev", "bundeskanzleramt.gv.at-bundesminsterin"),
    ("snippets-dev", "iwr.de.IWRpressedienst.Nordex"),
    ("snippets-dev", "piratenpartei-marburg.de.fridays"),
    ("snippets-dev", "meininger.de-wachstum"),
    ("snippets-dev", "drk.de-Glasgow"),
]


@pytest.mark.corpus
@pytest.mark.parametrize(("corpus_name", "key"), _REAL)
def test_titles_of_real_pages(corpus: Path, corpus_name: str, key: str) -> None:
    page = next(page for page in load_corpus(corpus / corpus_name) if page.key == key)
    assert page.part == "tuning"  # validation pages are never looked at
    found = read_metadata(parse_html(page.html), page.url or None).title
    assert _words(found) == _words(page.truth["title"])


def _words(text: str | None) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in (text or "").lower()).split())
