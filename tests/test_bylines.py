"""People and agencies out of real-world byline shapes, in several languages."""

from __future__ import annotations

import pytest

from pipeline.extract.agencies import agencies_in_text
from pipeline.extract.bylines import credits, names_from_byline
from pipeline.extract.titles import headline


@pytest.mark.parametrize(
    ("byline", "people", "agencies"),
    [
        # English
        ("By Jane Doe and John Roe", ["Jane Doe", "John Roe"], []),
        (
            "JOSH HASKELL, DAVID CAPLAN and PATRICK REEVELL",
            ["Josh Haskell", "David Caplan", "Patrick Reevell"],
            [],
        ),
        ("Pete Evans · CBC News", ["Pete Evans"], []),
        ("Oli Coleman View author archive Get author RSS feed", ["Oli Coleman"], []),
        ("Jeremy Herron More stories by Jeremy Herron", ["Jeremy Herron"], []),
        ("Laura E. Adkins December 28, 2016", ["Laura E. Adkins"], []),
        ("January 17, 2017 at 6:08 PM ET by Kori Schulman", ["Kori Schulman"], []),
        ("Meg Wagner NEW YORK DAILY NEWS", ["Meg Wagner"], []),
        ("Joe Davidson Washington Post", ["Joe Davidson"], []),
        ("Gina Trapani CEO", ["Gina Trapani"], []),
        ("By Sarah Smith, Senior Reporter", ["Sarah Smith"], []),
        ("By Tom Baker, Associated Press", ["Tom Baker"], ["AP"]),
        ("By JANE DOE Associated Press", ["Jane Doe"], ["AP"]),
        ("The Associated Press", [], ["AP"]),
        ("Reuters Staff", [], ["Reuters"]),
        ("Ann Lee with AFP", ["Ann Lee"], ["AFP"]),
        ("By Jane Doe, AP Photo/Evan Vucci", ["Jane Doe"], []),
        ("Photo: Getty Images", [], []),
        ("Illustration by Jane Roe", [], []),
        ("Staff", [], []),
        ("Smart Shopping Team", [], []),
        ("Us Weekly", [], []),  # an outlet's two-word name
        ("By Jane Doe, Spiegel Online", ["Jane Doe"], []),
        ("Emily Post", ["Emily Post"], []),  # "Post" is a surname too
        ("Von Anna Müller vor 3 Stunden", ["Anna Müller"], []),
        ("Autor/in Korinna Hennig", ["Korinna Hennig"], []),
        ("Por: Williams Perdomo", ["Williams Perdomo"], []),
        (
            "Isabel Caro, Rocío Latorre y José Miguel Wilson Hace 2 horas",
            ["Isabel Caro", "Rocío Latorre", "José Miguel Wilson"],
            [],
        ),
        ("Nordex SE", [], []),  # a company
        ("By Jane Doe in Harrisburg, PA", ["Jane Doe"], []),  # Pennsylvania, not PA Media
        ("By Jane Doe in London", ["Jane Doe"], []),
        ("Anna Müller aus Berlin", ["Anna Müller"], []),
        ("Opinion by Jane Doe", ["Jane Doe"], []),
        ("By Jane Doe, Washington Post", ["Jane Doe"], []),
        ("By Tom Wire", [], []),  # not an outlet's wire service
        ("CNN Wire", [], ["CNN Wire"]),
        ("jane@example.org (Jane Roe)", ["Jane Roe"], []),
        ("By Kim Park kim.park@example.com", ["Kim Park"], []),
        ("John Patrick Pullen, TIME", ["John Patrick Pullen"], []),
        ("Theresa May", ["Theresa May"], []),
        ("CNN Wire", [], ["CNN Wire"]),
        # German
        ("Von Anna Müller", ["Anna Müller"], []),
        ("Von Anna Müller und Peter Schmidt, dpa", ["Anna Müller", "Peter Schmidt"], ["dpa"]),
        ("Text: Anna Müller, Foto: Max Mustermann", ["Anna Müller"], []),
        ("Von FOCUS-Online-Experte Robin Tschöpe", ["Robin Tschöpe"], []),
        ("Zeige alle Beiträge von Petra Ruland", ["Petra Ruland"], []),
        ("Politik · Jochen Bittner, Tina Hildebrandt", ["Jochen Bittner", "Tina Hildebrandt"], []),
        ("Christoph Hein Chefredakteur", ["Christoph Hein"], []),
        ("Sara Zinnecker Stand: 12.03.2020", ["Sara Zinnecker"], []),
        ("mit Material von dpa und AFP", [], ["dpa", "AFP"]),
        ("dpa/AFP", [], ["dpa", "AFP"]),
        ("Vom Support Team", [], []),
        ("Redaktion", [], []),
        # French
        ("Texte : Marie Dupont. Photos : Paul Martin", ["Marie Dupont"], []),
        ("Par Claire Martin et Luc Bernard", ["Claire Martin", "Luc Bernard"], []),
        ("Par Hélène Roux avec AFP", ["Hélène Roux"], ["AFP"]),
        # Spanish
        ("Por Ana García y Pedro López", ["Ana García", "Pedro López"], []),
        ("José Ortega y Gasset", ["José Ortega y Gasset"], []),
        ("Redacción / Agencia EFE", [], ["EFE"]),
        ("Alejandro de la Garza", ["Alejandro de la Garza"], []),
        # Italian
        ("Di Mario Rossi e Luca Bianchi", ["Mario Rossi", "Luca Bianchi"], []),
        ("di Giulia Conti (ANSA)", ["Giulia Conti"], ["ANSA"]),
        # Dutch, Norwegian
        ("Door Jan de Vries en Piet Bakker", ["Jan de Vries", "Piet Bakker"], []),
        ("Av Ola Nordmann og Kari Nordmann", ["Ola Nordmann", "Kari Nordmann"], []),
        ("Door Sanne Visser, ANP", ["Sanne Visser"], ["ANP"]),
        # What never was a name
        ("See full bio", [], []),
        ("Submitted", [], []),
        ("January", [], []),
        ("Fuchsy designed", [], []),
        ("ThemeGrill", [], []),
        ("@NatGeoUK", [], []),
        ("後藤大地", ["後藤大地"], []),
    ],
)
def test_credits(byline: str, people: list[str], agencies: list[str]) -> None:
    assert credits(byline) == (people, agencies)


def test_names_from_byline_leaves_agencies_out() -> None:
    assert names_from_byline("Von Anna Müller, dpa") == ["Anna Müller"]


def test_the_outlet_itself_is_not_an_author() -> None:
    assert names_from_byline("CNN", outlets=("CNN", "cnn")) == []
    assert names_from_byline("Ikran Dahir BuzzFeed", outlets=("", "buzzfeed")) == ["Ikran Dahir"]


@pytest.mark.parametrize(
    ("body", "agencies"),
    [
        ("WASHINGTON (Reuters) - The president said on Monday...", ["Reuters"]),
        ("Berlin (dpa) - Die Bundesregierung will...\nMehr dazu später.", ["dpa"]),
        ("PARIS (AFP) — Le président a annoncé...", ["AFP"]),
        ("The storm hit.\n© 2024 The Associated Press. All rights reserved.", ["AP"]),
        ("Der Text.\ndpa/AFP/ab", ["dpa", "AFP"]),
        ("Il testo.\n(ANSA)", ["ANSA"]),
        ("He told Reuters that the deal was done.\nThe end.", []),
        ("The mayor (Democrat) - who won easily - spoke.", []),
        ("Reporting from the Reuters Institute shows a decline.", []),
        ("", []),
    ],
)
def test_agencies_in_text(body: str, agencies: list[str]) -> None:
    assert agencies_in_text(body) == agencies


@pytest.mark.parametrize(
    ("title", "outlets", "headlines", "expected"),
    [
        (
            "Your comfy-chic holiday outfit, illustrated - HelloGiggles",
            ("HelloGiggles", "hellogiggles"),
            ["Your comfy-chic holiday outfit, illustrated"],
            "Your comfy-chic holiday outfit, illustrated",
        ),
        (
            "Storm closes harbours | Daily Example",
            ("Daily Example", "example"),
            [],
            "Storm closes harbours",
        ),
        (
            "Silver Society – The young old people",
            ("OTRS", "otrs"),
            ["Silver Society"],
            "Silver Society – The young old people",
        ),
        (
            "Bloomberg",
            ("Bloomberg", "bloomberg"),
            ["MENU", "U.S. Stocks Rise to Records"],
            "U.S. Stocks Rise to Records",
        ),
        (
            "短缺药品保供稳价 全力保障临床用药需求-新华网",
            ("新华网", "news"),
            ["短缺药品保供稳价 全力保障临床用药需求"],
            "短缺药品保供稳价 全力保障临床用药需求",
        ),
    ],
)
def test_headline_drops_the_site_name(
    title: str, outlets: tuple[str, ...], headlines: list[str], expected: str
) -> None:
    assert headline(title, outlets, headlines) == expected


def test_a_byline_field_holding_a_page_of_text_is_read_quickly() -> None:
    # Regular expressions over a byline are fast only on byline-sized input: a meta author
    # of thousands of characters once took minutes. (A loop bound, not a timing assertion.)
    for junk in ("1" * 50_000, "a" * 50_000, "A-" * 25_000, "x@" * 3_000):
        assert credits(junk) == ([], [])


@pytest.mark.parametrize(
    "body",
    [
        "The minister spoke to reporters.\n\nREUTERS",  # a bare name: a photo's credit
        "Lancaster County (PA) – Police are investigating a fire.\n\nMore text.",
        "He told Reuters the deal was done.\n\nHe declined to say more.",
    ],
)
def test_no_agency_is_credited_for_an_ordinary_story(body: str) -> None:
    assert agencies_in_text(body) == []
