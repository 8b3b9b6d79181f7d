"""Interstitial pages told from articles: consent walls, paywall stubs, bot challenges,
JavaScript shells and "page not found" pages, on hand-made pages (tests/fixtures/interstitials,
each with the kind its manifest expects); the rule that no single clue is enough; and what
keeps a short story from passing for a wall (its metadata, a heading that only holds a wall's
words, wall templates the page hides)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest

from pipeline.clean.html import clean
from pipeline.clean.interstitials import Verdict, classify
from pipeline.clean.page_text import read_shown_page
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


WALLS_THAT_STORIES_VETO = sorted(
    name for name, kind in MANIFEST.items() if kind in {"consent", "challenge", "not_found"}
)


@pytest.mark.parametrize("name", WALLS_THAT_STORIES_VETO)
def test_a_wall_at_a_dated_address_is_still_a_wall(name: str) -> None:
    """The date in a story's address (or a link's) is no statement of the page's own: every
    wall served at such an address would otherwise pass for a dated story."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    verdict = _verdict(text, _kind(name), url=f"https://news.example/2024/05/02/{name}")
    assert verdict is not None and verdict.kind == MANIFEST[name]


_BANNER = """<div class="cookie-banner"><h2>We value your privacy</h2><p>We and our partners use
    cookies to store and/or access information on a device and process personal data for
    personalised ads and content. By clicking "Accept all" you consent to this.</p>
    <button>Reject all</button><button>Accept all</button></div>"""
_BRIEF_UNDER_BANNER = """<html><head><title>Barn fire near Walsoken | Fenland Post</title>{head}
    </head><body><h1>Barn fire near Walsoken</h1>{byline}<p>Four fire engines were called to a
    barn fire near Walsoken on Sunday night. Nobody was hurt.</p>{banner}</body></html>"""


def _brief_under_banner(head: str = "", byline: str = "") -> str:
    return _BRIEF_UNDER_BANNER.format(head=head, byline=byline, banner=_BANNER)


def test_a_brief_without_metadata_under_a_banner_is_taken_for_the_banner() -> None:
    """The page the next test adds one statement to at a time: without any, nothing tells
    this brief from a consent wall with a line of welcome."""
    verdict = _verdict(_brief_under_banner(), "html")
    assert verdict is not None and verdict.kind == "consent"


@pytest.mark.parametrize(
    ("head", "byline"),
    [
        ('<meta property="og:type" content="article">', ""),
        ('<meta content="video.other" property="og:type">', ""),
        ('<script type="application/ld+json">{"@type": "NewsArticle"}</script>', ""),
        ('<script type="application/ld+json">{"@type": ["ReportageNewsArticle"]}</script>', ""),
        ('<script type="application/ld+json">{"@type": "ImageGallery"}</script>', ""),
        ('<meta property="article:published_time" content="2024-03-04T07:55:00Z">', ""),
        ('<script type="application/ld+json">{"datePublished": "2024-03-04"}</script>', ""),
        ("", '<time class="entry-date published" datetime="2024-03-04">4 March 2024</time>'),
        ("", '<div itemscope itemtype="https://schema.org/NewsArticle"></div>'),
        ("", '<p class="byline">By Priya Nandakumar</p>'),
        ("", "<p>Published: March 4, 2024 07:55</p>"),
        ('<script type="application/ld+json">{"author": {"name": "Ann Lee"}}</script>', ""),
    ],
)
def test_a_page_that_says_it_is_a_story_is_no_consent_wall(head: str, byline: str) -> None:
    page = _brief_under_banner(head, byline)
    assert _verdict(page, "html") is None
    document = CleanedDocument(kind="html")
    if "By Priya" not in byline:  # an author's name in a byline needs cleaning to read it
        assert classify(page, "html", document) is None


@pytest.mark.parametrize(
    "head",
    [
        '<meta property="og:type" content="website">',
        '<script type="application/ld+json">{"@type": "WebSite", "name": "Fenland Post"}</script>',
        '<meta name="date" content="2024-03-04">',
    ],
)
def test_a_site_s_own_metadata_is_no_story_s(head: str) -> None:
    verdict = _verdict(_brief_under_banner(head), "html")
    assert verdict is not None and verdict.kind == "consent"


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Just a moment...", "challenge"),
        ("Attention Required! | Cloudflare", "challenge"),
        ("Un momento, por favor…", "challenge"),
        ("Un momento histórico", None),
        ("Un momento histórico | El Heraldo del Sur", None),
        ("Access denied: why disabled voters were turned away", None),
        ("Security check for new council offices delayed | Valley Courier", None),
    ],
)
def test_a_heading_is_the_wall_s_only_when_it_is_all_wording(title: str, kind: str | None) -> None:
    """A captcha (comment forms load them) and the title, nothing else: a challenge when the
    title is the challenge's own, never when a headline holds a few of its words."""
    page = f"""<html><head><title>{title}</title>
    <script src="https://www.recaptcha.example/recaptcha/api.js"></script></head>
    <body><h1>{title}</h1><form><div class="g-recaptcha"></div></form></body></html>"""
    verdict = _verdict(page, "html")
    assert (verdict.kind if verdict else None) == kind, verdict


@pytest.mark.parametrize(
    ("heading", "text", "kind"),
    [
        ("Seite nicht gefunden", "Diese Seite existiert leider nicht.", "not_found"),
        ("Oops! Page not found", "Sorry, this page doesn't exist.", "not_found"),
        ("Fehler: Seite nicht gefunden", "Die gesuchte Seite gibt es nicht.", "not_found"),
        ("Vermisster Wanderer nicht gefunden", "Eine Spur existiert nicht.", None),
        ("Not found: the missing ledger", "The town's ledger does not exist anymore.", None),
        ("Hallazgo en Toledo", "El documento no existe, según el archivo.", None),
    ],
)
def test_everyday_words_back_only_an_error_s_own_heading(
    heading: str, text: str, kind: str | None
) -> None:
    page = f"""<html><head><title>{heading}</title></head><body><h1>{heading}</h1>
    <p>{text}</p></body></html>"""
    verdict = _verdict(page, "html")
    assert (verdict.kind if verdict else None) == kind, verdict


@pytest.mark.parametrize(
    ("marker", "text", "kind"),
    [
        ('<body class="error404">', "The page you are looking for has moved.", "not_found"),
        (
            '<body class="page-404 path-system">',
            "Die angeforderte Seite gibt es nicht.",
            "not_found",
        ),
        ("<body>", "The page you are looking for has moved.", None),
        ('<body class="error404">', "Este documento no existe.", None),
    ],
)
def test_a_404_status_in_the_markup_stands_for_the_heading(
    marker: str, text: str, kind: str | None
) -> None:
    """With the error's status in its markup, a page needs no error heading, but still an
    error page's own wording: everyday words are not enough."""
    page = f"""<html><head><title>Well, this is awkward</title></head>{marker}
    <h1>Well, this is awkward</h1><p>{text}</p></body></html>"""
    verdict = _verdict(page, "html")
    assert (verdict.kind if verdict else None) == kind, verdict


@pytest.mark.parametrize(
    "hiding",
    [
        '<div class="paywall-offer" hidden>{}</div>',
        '<div class="paywall-offer" hidden="hidden">{}</div>',
        '<div class="paywall-offer" aria-hidden="true">{}</div>',
        '<div class="paywall-offer" style="display: none;">{}</div>',
        '<div class="paywall-offer" style="opacity:1;visibility:hidden">{}</div>',
        '<template id="paywall-offer"><div class="paywall">{}</div></template>',
    ],
)
def test_a_hidden_paywall_is_not_shown(hiding: str) -> None:
    """Sites ship their paywall's template in every page; only one the page shows is a wall."""
    offer = (
        "<h2>Subscribe to continue reading</h2><div><p>Already a subscriber?"
        ' <a href="/login">Log in</a></p></div>'
    )
    story = (
        "<html><body><article><h1>Library extends weekend hours</h1><p>The central library"
        " will stay open until 8 p.m. on weekends this summer, the board said.</p>"
        "{}</article></body></html>"
    )
    shown = _verdict(story.format(f'<div class="paywall-offer">{offer}</div>'), "html")
    assert shown is not None and shown.kind == "paywall"
    assert _verdict(story.format(hiding.format(offer)), "html") is None


def test_a_hidden_consent_notice_is_not_shown() -> None:
    page = _brief_under_banner().replace('<div class="cookie-banner">', "<div hidden>")
    assert _verdict(page, "html") is None


def test_what_a_page_hides_is_read_to_its_end() -> None:
    """A hidden element ends where its own closing tag is, past those nested in it; a hiding
    word in text or in another attribute hides nothing."""
    page = """<html><body><div hidden><div>one</div><div>two</div></div>
    <p>shown <span class="hidden">also shown</span></p><input type="hidden" name="a" value="b">
    <div aria-hidden="false">kept</div><p data-hidden="x">kept too</p>
    <p>text that says hidden and display: none</p><img hidden src="a.png"><div hidden>open
    <p>after an unclosed element</p></body></html>"""
    blocks = read_shown_page(page, "html", CleanedDocument(kind="html")).blocks
    assert blocks == (
        "shown also shown",
        "kept",
        "kept too",
        "text that says hidden and display: none",
        "open",
        "after an unclosed element",
    )
