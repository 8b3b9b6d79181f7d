"""Metadata fields on real pages (../shared/corpus): accuracy over the development set, and
pages with and without JSON-LD, with wrong or missing charsets, in languages other than English.
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.clean.html import clean
from pipeline.extract.article import extract
from pipeline.fetch.download import read_file
from pipeline.fetch.encoding import decode, detect_encoding
from pipeline.models import Article
from pipeline.settings import Settings

pytestmark = pytest.mark.corpus


def _plain(text: str | None) -> str:
    return " ".join(re.findall(r"\w+", (text or "").lower()))


@pytest.fixture(scope="module")
def metadata_pages(corpus: Path) -> list[tuple[dict[str, Any], Article]]:
    folder = corpus / "metadata-dev"
    pages = []
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        raw = gzip.decompress((folder / row["html_path"]).read_bytes())
        html = decode(raw, detect_encoding(raw, None))
        pages.append((row, extract(clean(html, "html", url=row["url"]))))
    return pages


def _split(authors: str) -> list[str]:
    """The source's author string as names, split plainly (not by the code under test)."""
    return [part for part in re.split(r"\s*(?:,|;|\band\b)\s*", authors) if part.strip()]


def _same_moment(found: datetime | None, expected: str) -> bool:
    """Equal to the day; a page's local date may be a day off the UTC one a source gives."""
    if found is None:
        return False
    truth = datetime.fromisoformat(expected.replace("Z", "+00:00"))
    if found.utcoffset() is not None and truth.utcoffset() is not None:
        return abs(found - truth) < timedelta(days=1)
    return abs((found.date() - truth.date()).days) <= 1


def _rate(checks: list[bool]) -> float:
    assert len(checks) >= 20, "too few pages assert this field to measure it"
    return sum(checks) / len(checks)


def test_titles_dates_authors_and_languages_over_the_development_pages(
    metadata_pages: list[tuple[dict[str, Any], Article]],
) -> None:
    titles = [_plain(a.title) == _plain(r["title"]) for r, a in metadata_pages if r.get("title")]
    dates = [
        _same_moment(a.published_at, r["published"])
        for r, a in metadata_pages
        if r.get("published")
    ]
    authors = [
        sorted(_plain(name) for name in a.authors)
        == sorted(_plain(n) for author in r["authors"] for n in _split(author))
        for r, a in metadata_pages
        # Some sources' author lists are known to be wrong (the corpus README names them).
        if r.get("authors") is not None and not r.get("gt_warning")
    ]
    languages = [a.language == r["language"][:2] for r, a in metadata_pages if r.get("language")]
    # Measured on 2026-11-27: titles 0.89, dates 0.90, authors 0.70, languages 1.00.
    # Measured on 2026-12-01: titles 0.92, authors 0.72 (whole lists equal; dates not re-measured).
    assert _rate(titles) >= 0.90
    assert _rate(dates) >= 0.85
    assert _rate(authors) >= 0.70
    assert _rate(languages) == 1.0


def _page(pages: list[tuple[dict[str, Any], Article]], name: str) -> tuple[dict[str, Any], Article]:
    return next((r, a) for r, a in pages if r["html_path"].endswith(f"{name}.html.gz"))


def test_a_page_with_json_ld(metadata_pages: list[tuple[dict[str, Any], Article]]) -> None:
    row, article = _page(metadata_pages, "newspaper4k__html_fox13now_001")
    assert _plain(article.title) == _plain(row["title"])
    # The JSON-LD "author" is the outlet's wire service: an agency, not a person.
    assert (article.authors, article.agencies) == ((), ("CNN Wire",))
    assert article.published_at == datetime.fromisoformat("2013-12-30T14:42:01-07:00")


def test_a_page_without_json_ld(metadata_pages: list[tuple[dict[str, Any], Article]]) -> None:
    row, article = _page(metadata_pages, "newspaper4k__html_cnn_article")
    assert _plain(article.title) == _plain(row["title"])
    # A validation page whose author list the corpus marks as wrong (gt_warning): only its
    # first byline name is asserted, so as not to tune on it.
    assert article.authors[:1] == ("Dana A. Ford",)
    assert (
        article.published_at is not None and article.published_at.date().isoformat() == "2013-11-27"
    )


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("newspaper4k__html_arabic_article", "ar"),
        ("newspaper4k__html_chinese_article_002", "zh"),
        ("newspaper4k__html_japanese_article2", "ja"),
        ("newspaper4k__html_latvian_article", "lv"),
        ("newspaper4k__html_thai_article", "th"),
        ("newspaper4k__html_spanish_article", "es"),
    ],
)
def test_pages_in_other_languages(
    metadata_pages: list[tuple[dict[str, Any], Article]], name: str, language: str
) -> None:
    row, article = _page(metadata_pages, name)
    assert article.language == language
    if row.get("title"):
        assert _plain(article.title) == _plain(row["title"])
    assert article.word_count > 50
    # Most of the page's text is there, not a sentence or two (characters count as words in
    # Chinese, Japanese and Thai, so compare with the page's own text instead).
    assert len(article.body) > 300


def _tricky(corpus: Path, category: str) -> list[tuple[dict[str, Any], Article]]:
    folder = corpus / "tricky"
    found = []
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["category"] == category:
            page = read_file(str(folder / row["path"]), Settings())
            text = decode(page.content, page.encoding)
            found.append((row, extract(clean(text, page.kind, url=page.url))))
    return found


# UTF-8 read as a single-byte charset leaves these pairs; a wrong legacy guess leaves U+FFFD.
_MOJIBAKE = re.compile(r"[ÃÂ][\u0080-\u00bf]|â€|ï»¿")


def _garbled(text: str) -> bool:
    # One page really has a few broken bytes in its source; a wrong decoding has many.
    return bool(_MOJIBAKE.search(text)) or text.count("\ufffd") > 3


def test_pages_whose_declared_charset_is_wrong_read_right(corpus: Path) -> None:
    pages = _tricky(corpus, "encoding/real-page/charset-declared-wrong")
    titled = [(row, article) for row, article in pages if article.title]
    assert len(titled) >= 8
    for row, article in titled:
        assert not _garbled(article.title or ""), (row["path"], article.title)
        assert not _garbled(article.body), row["path"]
    spanish = next(a for r, a in titled if "Iniesta" in (a.title or ""))
    assert spanish.title == 'Andrés Iniesta: "Los recuerdos son mágicos"'


def test_pages_with_a_legacy_or_missing_charset_read_right(corpus: Path) -> None:
    pages = _tricky(corpus, "encoding/real-page/legacy-charset") + _tricky(
        corpus, "encoding/real-page/undeclared-legacy"
    )
    assert len(pages) >= 10
    for row, article in pages:
        assert not _garbled((article.title or "") + article.body), row["path"]
    polish = next(a for r, a in pages if (a.title or "").startswith("Unijne fundusze"))
    assert "bliżej" in (polish.title or "") and polish.language == "pl"


def test_every_field_of_a_page_with_json_ld(
    metadata_pages: list[tuple[dict[str, Any], Article]],
) -> None:
    _, article = _page(metadata_pages, "newspaper4k__html_time_001")
    assert (
        article.canonical_url
        == "https://time.com/6330957/james-hansen-climate-warning-geoengineering-study/"
    )
    assert article.description and article.description.startswith("James Hansen alerted Congress")
    assert article.authors == ("Alejandro de la Garza",)
    assert article.published_at == datetime.fromisoformat("2023-11-02T19:53:52+00:00")
    assert article.modified_at is not None
    assert (article.section, article.site_name, article.language) == ("Climate", "Time", "en")
    assert article.images[0].url and article.images[0].url.endswith("james-hansen.jpg")
    assert (
        article.body.startswith("James Hansen first warned Congress") and article.word_count > 800
    )


def test_every_field_of_a_page_without_json_ld(
    metadata_pages: list[tuple[dict[str, Any], Article]],
) -> None:
    _, article = _page(metadata_pages, "newspaper4k__html_cnn_article")
    assert (
        article.canonical_url
        == "http://www.cnn.com/2013/11/27/travel/weather-thanksgiving/index.html"
    )
    assert article.description and "43 million Americans" in article.description
    assert article.modified_at == datetime.fromisoformat("2013-11-28T02:03:23+00:00")
    assert (article.section, article.site_name) == ("travel", "CNN")
    assert "Thanksgiving storm" in article.tags
    assert article.images[0].url and article.images[0].url.endswith("story-top.jpg")


def test_a_canonical_url_on_another_site_is_not_the_articles_key(
    metadata_pages: list[tuple[dict[str, Any], Article]],
) -> None:
    row, article = _page(metadata_pages, "newspaper4k__html_fox13now_001")
    assert article.canonical_url == row["url"]  # it declares a wordpress.com address


def test_entities_escaped_twice_and_cms_markers_are_cleaned(
    metadata_pages: list[tuple[dict[str, Any], Article]],
) -> None:
    _, yonhap = _page(metadata_pages, "newspaper4k__html_yna_co_kr")
    assert yonhap.description and "North Korea's official newspaper" in yonhap.description
    assert yonhap.canonical_url == "https://en.yna.co.kr/view/AEN20190820002300325"
    _, wired = _page(metadata_pages, "newspaper4k__html_wired_001")
    assert "digital_syndication" not in wired.tags and wired.title not in wired.tags
    assert "surveillance" in wired.tags
