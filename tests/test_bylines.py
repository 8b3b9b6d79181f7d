"""Author names out of real-world byline shapes."""

from __future__ import annotations

import pytest

from pipeline.bylines import names_from_byline
from pipeline.metadata import headline


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("By Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
        (
            "JOSH HASKELL, DAVID CAPLAN and PATRICK REEVELL",
            ["Josh Haskell", "David Caplan", "Patrick Reevell"],
        ),
        ("Pete Evans · CBC News", ["Pete Evans"]),
        ("Oli Coleman View author archive Get author RSS feed", ["Oli Coleman"]),
        ("Jeremy Herron More stories by Jeremy Herron", ["Jeremy Herron"]),
        ("Laura E. Adkins December 28, 2016", ["Laura E. Adkins"]),
        ("Meg Wagner NEW YORK DAILY NEWS", ["Meg Wagner"]),
        ("Joe Davidson Washington Post", ["Joe Davidson"]),
        ("Gina Trapani CEO", ["Gina Trapani"]),
        ("Von Anna Müller", ["Anna Müller"]),
        ("See full bio", []),
        ("Submitted", []),
        ("January", []),
        ("後藤大地", ["後藤大地"]),
    ],
)
def test_names_from_bylines(byline: str, names: list[str]) -> None:
    assert names_from_byline(byline) == names


def test_the_outlet_itself_is_not_an_author() -> None:
    assert names_from_byline("CNN", outlets=("CNN", "cnn")) == []
    assert names_from_byline("Ikran Dahir BuzzFeed", outlets=("", "buzzfeed")) == ["Ikran Dahir"]


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
