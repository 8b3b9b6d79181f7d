"""The second pass over trafilatura's main text (pipeline.body), on texts of our own making."""

from __future__ import annotations

from lxml import html

from pipeline.body import link_texts, refine

STORY = [
    "The council approved the budget on Tuesday after a debate that lasted most of the night.",
    "Members of the opposition said the plan did too little for families with rising rents.",
    "The mayor's office did not immediately respond to a request for comment.",
]


def test_teasers_that_are_the_pages_links_are_dropped_but_named_things_stay() -> None:
    page = html.fromstring(
        "<html><body><a href='/a'>Council votes on a new transport plan</a>"
        "<a href='/b'>Apple Watch</a><a href='/c'>Five things to know about the budget</a></body></html>"
    )
    links = link_texts(page)
    lines = [
        STORY[0],
        "Read more: Council votes on a new transport plan",
        "- Five things to know about the budget",
        "Apple Watch",  # a product named in a link is content
        STORY[1],
    ]
    assert refine(lines, links=links) == [STORY[0], "Apple Watch", STORY[1]]


def test_furniture_runs_at_the_ends_go_but_sentences_using_the_same_words_stay() -> None:
    lines = [
        "Published 2 March 2021 14:05",
        *STORY,
        "Click here to subscribe to our newsletter",
        "Comments",
        "Copyright © 2021 Daily Example. All rights reserved.",
    ]
    assert refine(lines) == STORY  # "request for comment" is a sentence, not a widget


def test_headline_captions_urls_timestamps_and_shortcodes_go() -> None:
    lines = [
        "Budget approved after long debate",
        STORY[0],
        "The mayor speaks to reporters.",
        "https://daily.example/img/mayor.jpg",
        "2021-03-02T09:30:00+01:00",
        '[button link="https://daily.example/subscribe"]Subscribe[/button]',
        STORY[1],
    ]
    kept = refine(
        lines,
        headlines=["Budget approved after long debate"],
        captions=["The mayor speaks to reporters."],
    )
    assert kept == [STORY[0], STORY[1]]


def test_a_second_copy_of_the_article_goes_but_single_repeats_stay() -> None:
    long = [
        f"{sentence} It was the {n}th time this year that the matter came up."
        for n, sentence in enumerate(STORY)
    ]
    recipe = [
        "Serves 4",
        "1 cup rice",
        "Serves 4",
        "Cook the rice for twenty minutes, then serve it hot.",
    ]
    assert refine([*long, *recipe, *long]) == [*long, *recipe]
