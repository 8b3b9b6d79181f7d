"""Clean + extract on HTML: metadata from JSON-LD, OpenGraph and the page itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.clean.html import clean
from pipeline.errors import EmptyDocument
from pipeline.extract.article import extract
from pipeline.extract.timestamps import parse_stamp
from pipeline.models import Article
from pipeline.version import extractor_version
from tests.conftest import SAMPLES

PARAGRAPHS = {
    "en": [
        "The city council approved the new budget on Tuesday after a long debate about housing and transport.",
        "Members of the opposition said the plan did too little for families who struggle with rising rents.",
        "The mayor said the money for new bus lines would arrive next spring, once the contracts were signed.",
    ],
    "de": [
        "Der Stadtrat hat am Dienstag nach einer langen Debatte über Wohnungen und Verkehr den neuen Haushalt beschlossen.",
        "Die Opposition kritisierte, dass der Plan zu wenig für Familien tue, die unter steigenden Mieten leiden.",
        "Der Bürgermeister sagte, das Geld für neue Buslinien komme im nächsten Frühjahr, sobald die Verträge unterschrieben seien.",
    ],
    "fr": [
        "Le conseil municipal a adopté mardi le nouveau budget après un long débat sur le logement et les transports.",
        "L'opposition a estimé que le plan faisait trop peu pour les familles qui peinent à payer des loyers en hausse.",
        "Le maire a déclaré que l'argent pour les nouvelles lignes de bus arriverait au printemps prochain.",
    ],
    "es": [
        "El ayuntamiento aprobó el martes el nuevo presupuesto tras un largo debate sobre vivienda y transporte.",
        "La oposición dijo que el plan hacía muy poco por las familias que sufren el aumento de los alquileres.",
        "El alcalde afirmó que el dinero para las nuevas líneas de autobús llegaría la próxima primavera.",
    ],
}


def page(
    language: str, head: str = "", body_extra: str = "", lang_attribute: str | None = None
) -> str:
    paragraphs = "".join(f"<p>{text}</p>" for text in PARAGRAPHS[language])
    lang = f' lang="{lang_attribute}"' if lang_attribute else ""
    return (
        f"<!doctype html><html{lang}><head><meta charset='utf-8'><title>Budget approved | Daily Example</title>{head}</head>"
        "<body><header><nav><a href='/'>Home</a><a href='/politics'>Politics</a></nav></header>"
        f"<main><article><h1>Budget approved</h1>{paragraphs}{body_extra}</article></main>"
        "<aside class='related-stories'><a href='/b'>Council votes on new transport plan</a></aside>"
        "<footer><p>© Daily Example. All rights reserved. Terms. Privacy.</p></footer></body></html>"
    )


def run(html: str, url: str = "https://daily.example/politics/2021/budget-approved") -> Article:
    return extract(clean(html, "html", url=url))


def test_json_ld_in_a_graph_wins_and_fills_every_field() -> None:
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Daily Example"},
            {
                "@type": "BreadcrumbList",
                "itemListElement": [
                    {"@type": "ListItem", "position": 1, "name": "Home"},
                    {"@type": "ListItem", "position": 2, "name": "Politics"},
                    {"@type": "ListItem", "position": 3, "name": "City Hall"},
                ],
            },
            {
                "@type": "NewsArticle",
                "headline": "Council approves the budget",
                "description": "A long debate ends with a vote.",
                "author": [
                    {"@type": "Person", "name": "Jane Doe"},
                    {"@type": "Person", "name": "John Roe"},
                ],
                "datePublished": "2021-03-02T09:30:00+01:00",
                "dateModified": "2021-03-02T12:00:00+01:00",
                "articleSection": "Politics",
                "keywords": "budget, housing",
                "publisher": {"@type": "Organization", "name": "Daily Example"},
                "image": {"@type": "ImageObject", "url": "https://daily.example/img/council.jpg"},
            },
        ],
    }
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script><link rel="canonical" href="/politics/2021/budget-approved?utm_source=feed">'
    article = run(page("en", head))
    assert article.title == "Council approves the budget"
    assert article.description == "A long debate ends with a vote."
    assert article.authors == ("Jane Doe", "John Roe")
    assert article.published_at == datetime(2021, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    assert article.modified_at == datetime(2021, 3, 2, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    assert article.section == "Politics"
    assert set(article.tags) >= {"budget", "housing"}
    assert article.site_name == "Daily Example"
    assert article.canonical_url == "https://daily.example/politics/2021/budget-approved"
    assert article.images[0].url == "https://daily.example/img/council.jpg"
    assert article.language == "en"
    assert article.extractor_version == extractor_version()
    assert article.body.split("\n\n")[0] == PARAGRAPHS["en"][0]
    assert "All rights reserved" not in article.body and "Home" not in article.body
    assert article.word_count == len(article.body.split())
    assert [link.title for link in article.related] == ["Council votes on new transport plan"]


def test_opengraph_and_meta_tags_without_json_ld() -> None:
    head = (
        '<meta property="og:title" content="Budget approved after long debate">'
        '<meta property="og:site_name" content="Daily Example">'
        '<meta name="author" content="By Jane Doe and John Roe">'
        '<meta property="article:published_time" content="2021-03-02T08:30:00Z">'
        '<meta property="article:section" content="Politics">'
        '<meta property="article:tag" content="budget"><meta property="article:tag" content="city">'
        '<meta name="description" content="The council voted.">'
    )
    article = run(page("en", head))
    assert article.title == "Budget approved after long debate"
    assert article.authors == ("Jane Doe", "John Roe")
    assert article.published_at == datetime(2021, 3, 2, 8, 30, tzinfo=UTC)
    assert (article.section, article.tags) == ("Politics", ("budget", "city"))
    assert article.description == "The council voted."


def test_a_page_with_no_metadata_still_gives_title_date_and_body() -> None:
    body_extra = '<p class="date">Published <time datetime="2021-03-02">2 March 2021</time></p>'
    article = run(page("en", body_extra=body_extra))
    assert article.title and "Budget approved" in article.title
    assert (
        article.published_at is not None and article.published_at.date().isoformat() == "2021-03-02"
    )
    assert len(article.body.split("\n\n")) >= 3


@pytest.mark.parametrize("language", ["de", "fr", "es"])
def test_language_is_detected_from_the_text_not_a_wrong_declaration(language: str) -> None:
    article = run(page(language, lang_attribute="en"))
    assert article.language == language
    assert PARAGRAPHS[language][1] in article.body


def test_a_short_page_falls_back_to_the_declared_language() -> None:
    html = "<html lang='pt-BR'><head><title>Olá</title></head><body><article><p>Bom dia a todos.</p></article></body></html>"
    assert run(html).language == "pt"


def test_a_canonical_link_to_the_home_page_is_ignored() -> None:
    article = run(page("en", '<link rel="canonical" href="https://daily.example/">'))
    assert article.canonical_url == "https://daily.example/politics/2021/budget-approved"


def test_figures_give_images_with_caption_and_credit() -> None:
    figure = (
        "<figure><img src='/img/a.jpg'><figcaption>The mayor speaks to reporters."
        " (Photo: Jane Roe/Agency)</figcaption></figure>"
    )
    article = run(page("en", body_extra=figure))
    image = next(
        image for image in article.images if image.url and image.url.endswith("/img/a.jpg")
    )
    assert image.caption == "The mayor speaks to reporters."
    assert image.credit == "Jane Roe/Agency"


def test_lazy_loaded_and_empty_image_sources_do_not_break_cleaning() -> None:
    figures = (
        "<figure><img src='' data-original='  https://cdn.example/lazy.jpg'><figcaption>Lazy.</figcaption></figure>"
        "<figure><img src='data:image/gif;base64,R0lGOD' data-src='/real.jpg'></figure>"
        "<figure><img src='   '><figcaption>No source at all.</figcaption></figure>"
    )
    urls = {image.url for image in run(page("en", body_extra=figures)).images}
    assert {"https://cdn.example/lazy.jpg", "https://daily.example/real.jpg", None} <= urls


def test_malformed_urls_in_the_markup_cost_a_link_not_the_article() -> None:
    head = (
        '<link rel="canonical" href="https://daily.example:99999/x">'
        '<meta property="og:url" content="http://[::1">'
        '<script type="application/ld+json">{"@type": "BreadcrumbList", "itemListElement": ['
        '{"position": "1", "name": "News"}, {"position": 2, "name": "City"}]}</script>'
    )
    figure = "<figure><img src='http://[oops'><figcaption>Broken image.</figcaption></figure>"
    article = run(page("en", head, body_extra=figure))
    assert article.canonical_url == "https://daily.example/politics/2021/budget-approved"
    assert any(image.caption == "Broken image." and image.url is None for image in article.images)
    assert (article.section, article.tags) == ("News", ("City",))


def test_the_bundled_html_samples_extract_cleanly() -> None:
    for path in sorted(SAMPLES.glob("*.html")):
        html = path.read_text(encoding="utf-8")
        article = run(html, url=path.as_uri())
        assert article.title, path.name
        assert article.word_count > 200, path.name
        assert article.published_at is not None, path.name
        assert article.language == "en", path.name


def test_an_empty_page_is_a_clear_error() -> None:
    with pytest.raises(EmptyDocument):
        clean("   ", "html")


def test_dates_are_parsed_or_refused() -> None:
    # A day alone is kept as 00:00 UTC and marked as a day (the convention of Article).
    day = parse_stamp("Published 13 January 2020")
    assert day is not None and (day.at, day.precision) == (datetime(2020, 1, 13, tzinfo=UTC), "day")
    zoned = parse_stamp("2020-01-13T10:00:00+02:00")
    assert zoned is not None and zoned.at.utcoffset() == timedelta(hours=2)
    named = parse_stamp("Nov 19, 2019 10:15 AM EST")
    assert named is not None and named.at.utcoffset() == timedelta(hours=-5)
    assert named.at.hour == 10
    assert parse_stamp("not a date at all") is None
    assert parse_stamp("1066-10-14") is None  # not a news date


def test_an_agencys_copyright_line_leaves_the_body_and_credits_the_agency() -> None:
    # A reader does not want the credit line as part of the story; the wire story must still
    # be attributed, so the clean stage reads the agency before the line is refined away.
    html = page(
        "en", body_extra="<p>© 2025 The Associated Press. All rights reserved.</p>"
    ).replace(
        "<meta charset='utf-8'>", "<meta charset='utf-8'><meta name='author' content='Jane Doe'>"
    )
    found = run(html)
    assert found.body.split("\n\n") == PARAGRAPHS["en"]
    assert found.agencies == ("AP",) and found.authors == ("Jane Doe",)


def test_an_agency_in_a_dateline_is_credited_and_the_story_kept() -> None:
    found = run(page("en").replace("<p>The city", "<p>BERLIN (dpa) - The city"))
    assert found.agencies == ("dpa",)
    assert found.body.startswith("BERLIN (dpa) - The city council approved")


def test_json_ld_authors_by_id_reference_into_the_graph_and_agencies_apart() -> None:
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "NewsArticle",
                "headline": "Budget approved",
                "author": [
                    {"@id": "https://daily.example/#/person/jane"},
                    {"@type": "Organization", "name": "Reuters"},
                    {"@id": "https://daily.example/#/person/john"},
                ],
            },
            {"@type": "Person", "@id": "https://daily.example/#/person/john", "name": "John Roe"},
            {"@type": "Person", "@id": "https://daily.example/#/person/jane", "name": "Jane Doe"},
        ],
    }
    found = run(page("en", head=f'<script type="application/ld+json">{json.dumps(ld)}</script>'))
    assert found.authors == ("Jane Doe", "John Roe")  # in the article's order, not the graph's
    assert found.agencies == ("Reuters",)


def test_a_rel_author_link_names_the_author_where_nothing_else_does() -> None:
    found = run(
        page("en", body_extra="").replace(
            "<h1>Budget approved</h1>",
            "<h1>Budget approved</h1><p class='byline'>By "
            "<a rel='author' href='/authors/jane-doe'>Jane Doe</a></p>",
        )
    )
    assert found.authors == ("Jane Doe",)


def test_the_site_name_is_never_an_author() -> None:
    found = run(
        page(
            "en",
            head="<meta property='og:site_name' content='Daily Example'>"
            "<meta name='author' content='Daily Example'>",
        )
    )
    assert found.authors == () and found.site_name == "Daily Example"


def test_a_link_to_a_persons_topic_page_is_no_byline() -> None:
    # The Al Jazeera sample links "Donald Trump" to /topics/people/donald-trump.html: a tag,
    # not its author. (Its byline names no one; the Polygraph sample's none either.)
    for name in ("aljazeera-afghanistan-helicopter.html", "polygraph-al-tanf-fact-check.html"):
        path = SAMPLES / name
        article = run(path.read_text(encoding="utf-8"), url=path.as_uri())
        assert article.authors == (), name
    byline = (
        "<p class='byline'>By <a href='https://daily.example/author/jane-doe'>Jane Doe</a></p>"
        "<p>See <a href='https://daily.example/topics/people/john-roe'>John Roe</a></p>"
    )
    found = run(page("en").replace("<h1>Budget approved</h1>", "<h1>Budget approved</h1>" + byline))
    assert found.authors == ("Jane Doe",)


def test_a_profile_link_in_the_storys_text_or_footer_names_no_author() -> None:
    text = (
        "<p>Tesla chief <a href='https://www.forbes.example/profile/elon-musk/'>Elon Musk</a>"
        " said on Tuesday that the company would open a new plant in the region next year.</p>"
    )
    footer = "<footer>Editor in chief: <a href='/staff/max-boss'>Max Boss</a></footer>"
    found = run(page("en", body_extra=text).replace("</body>", footer + "</body>"))
    assert found.authors == ()
