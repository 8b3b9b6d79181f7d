"""Interstitial pages told from articles: consent walls, paywall stubs, bot challenges,
JavaScript shells and "page not found" pages, on hand-made pages (tests/fixtures/interstitials,
each with the kind its manifest expects), and the rule that no single clue is enough."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest

from pipeline.clean.html import clean
from pipeline.clean.interstitials import Verdict, classify
from pipeline.errors import EmptyDocument
from pipeline.models import CleanedDocument
from tests.conftest import SAMPLES

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "interstitials"
MANIFEST: dict[str, str | None] = json.loads(
    (FIXTURES / "manifest.json").read_text(encoding="utf-8")
)


def _kind(name: str) -> Literal["html", "text"]:
    return "text" if name.endswith(".txt") else "html"


def _verdict(text: str, kind: Literal["html", "text"], url: str | None = None) -> Verdict | None:
    """What the clean stage would decide: clean the page, then classify what came out."""
    try:
        document = clean(text, kind, url=url)
    except EmptyDocument:
        document = CleanedDocument(kind=kind, url=url, page_id=None)
    return classify(text, kind, document)


def test_the_manifest_lists_every_fixture() -> None:
    pages = {path.name for path in FIXTURES.iterdir() if path.suffix in {".html", ".txt"}}
    assert pages == set(MANIFEST)
    expected = {kind for kind in MANIFEST.values() if kind}
    assert expected == {"consent", "paywall", "challenge", "javascript", "not_found"}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_page_gets_the_kind_its_manifest_expects(name: str) -> None:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    verdict = _verdict(text, _kind(name), url=f"https://news.example/{name}")
    assert (verdict.kind if verdict else None) == MANIFEST[name], verdict
    if verdict is not None:
        assert 0 < len(verdict.evidence) < 300


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_the_verdict_stands_on_an_empty_document(name: str) -> None:
    """The clean stage also asks when cleaning kept nothing: the page itself must then tell
    a wall, and an article whose text cleaning missed must still not pass for one."""
    kind = _kind(name)
    text = (FIXTURES / name).read_text(encoding="utf-8")
    verdict = classify(text, kind, CleanedDocument(kind=kind, url=None, page_id=None))
    assert (verdict.kind if verdict else None) == MANIFEST[name], verdict


def test_a_consent_wall_saved_as_plain_text() -> None:
    text = (FIXTURES / "consent-text-en.txt").read_text(encoding="utf-8")
    verdict = _verdict(text, "text")
    assert verdict is not None and verdict.kind == "consent"
    assert "Accept all" in verdict.evidence


def test_an_article_saved_as_plain_text_is_no_wall() -> None:
    for text in (
        (SAMPLES / "libya-talks-seed.txt").read_text(encoding="utf-8"),
        (FIXTURES / "article-text-with-cookie-notice.txt").read_text(encoding="utf-8"),
    ):
        assert _verdict(text, "text") is None


def test_a_blank_page_gives_no_verdict() -> None:
    assert classify(" \n", "html", CleanedDocument(kind="html")) is None
    assert classify("", "text", CleanedDocument(kind="text")) is None


@pytest.mark.parametrize(
    "page",
    [
        # A challenge's title alone, with no wording, widget or script to back it.
        "<html><head><title>Just a moment...</title></head><body></body></html>",
        # A captcha widget alone: comment and newsletter forms have them.
        '<html><body><form><div class="g-recaptcha"></div><button>Send</button></form></body></html>',
        # A paywall's call alone, with nothing to back it.
        "<html><body><p>Subscribe to continue reading.</p></body></html>",
        # A 404 title without any wording that the page is missing.
        "<html><head><title>404</title></head><body><p>Hello.</p></body></html>",
        # Consent wording without a button, a choice or a heading.
        "<html><body><p>We use cookies. Our partners process personal data.</p></body></html>",
        # The word JavaScript in an article's sentence.
        "<html><body><p>The council's site needs JavaScript, critics say.</p></body></html>",
    ],
)
def test_one_clue_alone_is_not_enough(page: str) -> None:
    assert _verdict(page, "html") is None


def test_a_wall_needs_little_story_beside_it() -> None:
    """The same consent notice, first alone, then below a story of a news brief's length."""
    notice = (
        "<h1>Before you continue</h1><p>We and our partners use cookies to store and/or access"
        " information on a device and process personal data for personalised ads.</p>"
        "<button>Reject all</button><button>Accept all</button>"
    )
    story = (
        "<p>The Route 9 bridge over the Millbrook River will close to all traffic from 10 p.m."
        " to 5 a.m. on Tuesday and Wednesday next week while state engineers inspect its steel"
        " supports, the transportation department said Thursday. Drivers will be detoured over"
        " the Elm Street bridge, and the sidewalk will stay open.</p>"
    )
    wall = _verdict(f"<html><body>{notice}</body></html>", "html")
    assert wall is not None and wall.kind == "consent"
    assert _verdict(f"<html><body>{story}{notice}</body></html>", "html") is None


def test_a_brief_on_a_metered_site_is_no_paywall() -> None:
    """Metered sites mark every story not free and keep "Already a subscriber?" in their
    header: without the wall's own call to subscribe for the rest, a short story is a story."""
    page = """<html><head><title>Water main breaks on Elm Street | Valley Courier</title>
    <script type="application/ld+json">{"@type": "NewsArticle", "isAccessibleForFree": false,
    "headline": "Water main breaks on Elm Street", "datePublished": "2024-05-02T10:00:00Z"}</script>
    </head><body><header><a href="/">Valley Courier</a>
    <p>Already a subscriber? <a href="/login">Sign in</a></p></header>
    <article><h1>Water main breaks on Elm Street</h1><p>A water main broke on Elm Street early
    Thursday, flooding two basements and closing the road between Main and Oak until repairs
    are finished, the city said.</p></article>
    <div class="paywall-meter">You have 3 free articles left this month.</div></body></html>"""
    assert _verdict(page, "html") is None


def test_a_signed_story_under_a_large_banner_is_no_wall() -> None:
    """A page that names its story's author and date is an article, however little text it
    has beside a consent notice."""
    page = """<html><head><title>Photo of the day | Example Post</title>
    <meta name="author" content="Ann Lee">
    <meta property="article:published_time" content="2024-05-02T10:00:00Z"></head>
    <body><h1>Photo of the day</h1><p>Fog over the harbour at dawn on Tuesday.</p>
    <div class="cmp"><h2>We value your privacy</h2><p>We and our partners store and/or access
    information on a device, such as cookies, and process personal data, such as unique
    identifiers, for personalised ads and content, ad and content measurement and audience
    insights. Some partners rely on legitimate interest.</p>
    <button>Accept all</button><button>Reject all</button></div></body></html>"""
    assert _verdict(page, "html") is None
