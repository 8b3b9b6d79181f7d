"""Plain-text boilerplate removal: the seed, and texts of our own with other furniture."""

from __future__ import annotations

from pipeline.clean.plaintext import clean_text
from tests.conftest import SAMPLES

SEED = (SAMPLES / "libya-talks-seed.txt").read_text(encoding="utf-8")


def test_the_seed_splits_into_article_and_furniture() -> None:
    document = clean_text(SEED)
    assert document.title == "Libya Talks in Russia Progress but Fail to Sign Ceasefire"
    assert document.paragraphs[0].startswith("Talks between Libya’s warring factions")
    assert document.paragraphs[-1].endswith("to seize the capital.")
    body = "\n".join(document.paragraphs)
    for furniture in (
        "google plus",
        "facebook",
        "Audio Only",
        "News > Libya",
        "Photo: Reuters",
        "RELATED",
        "Published 13 January",
        "Post with no comments",
        "Opinion",
    ):
        assert furniture not in body
    assert "Libya's Rival Factions Accuse Each Other" not in body
    assert document.breadcrumbs == ("News", "Libya")
    assert document.date_text == "13 January 2020"
    assert [link.title for link in document.related] == [
        "Libya's Rival Factions Accuse Each Other of Violating Ceasefire"
    ]
    assert len(document.images) == 1
    assert document.images[0].caption.startswith(
        "Commander of the Libyan National Army (LNA) Khalifa Haftar shakes hands"
    )
    assert document.images[0].credit == "Reuters"
    assert document.description and document.description.startswith(
        "The head of the United Nations-recognized"
    )


MADE_UP = """\
Skip to content
Home | World | Business | Sport
* Share
* Tweet
* WhatsApp
World » Europe » Harbours

Storm closes three harbours along the coast

Updated: March 3, 2021 14:05
By Maria Jensen

Waves over the pier at Hvide Sande on Tuesday morning. (Photo: Ritzau Scanpix)

Three harbours on the west coast were closed on Tuesday as a storm brought waves of up to eight metres, the coastguard said.

Ferries to the islands were cancelled for the rest of the day, and the operator said it would refund all tickets bought for the crossing.

Read more: Ferry operator warns of winter delays

"We have not seen waves like this since 1999," a harbour master told local radio, adding that no one had been hurt.

Three harbours on the west coast were closed on Tuesday as a storm brought waves of up to eight metres, the coastguard said.

The storm is expected to weaken overnight, according to the meteorological institute.

12 Comments
Leave a comment
Newsletter
"""


def test_a_text_of_our_own_making_with_other_furniture() -> None:
    document = clean_text(MADE_UP)
    assert document.title == "Storm closes three harbours along the coast"
    body = "\n".join(document.paragraphs)
    assert document.paragraphs[0].startswith("Three harbours on the west coast")
    assert document.paragraphs[-1].startswith("The storm is expected to weaken")
    assert body.count("Three harbours on the west coast") == 1  # a repeated paragraph is dropped
    for furniture in (
        "Skip to content",
        "Tweet",
        "WhatsApp",
        "Read more",
        "Comments",
        "Newsletter",
        "Photo:",
    ):
        assert furniture not in body
    assert document.breadcrumbs == ("World", "Europe", "Harbours")
    assert document.authors == ("Maria Jensen",)
    # Its only date line is "Updated: ...": an update is never taken as the publication.
    assert document.date_text is None
    assert [link.title for link in document.related] == ["Ferry operator warns of winter delays"]
    assert document.images[0].credit == "Ritzau Scanpix"
    assert document.images[0].caption.startswith("Waves over the pier")


def test_text_without_furniture_is_kept_whole() -> None:
    text = "A plain note\n\n" + "\n\n".join(
        f"Paragraph {n} has enough words in it to count as a real sentence of prose."
        for n in range(5)
    )
    document = clean_text(text)
    assert document.title == "A plain note"
    assert len(document.paragraphs) == 5
