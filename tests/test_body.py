"""The second pass over trafilatura's main text (pipeline.body), on texts of our own making."""

from __future__ import annotations

from lxml import html

from pipeline.clean.body import link_texts, refine

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


def test_headline_captions_urls_and_timestamps_go_and_shortcodes_are_stripped() -> None:
    lines = [
        "Budget approved after long debate",
        STORY[0],
        "The mayor speaks to reporters.",
        "https://daily.example/img/mayor.jpg",
        "2021-03-02T09:30:00+01:00",
        '[caption id="x"]The vote was close, with the last ballot counted after midnight.[/caption]',
        STORY[1],
    ]
    kept = refine(
        lines,
        headlines=["Budget approved after long debate"],
        captions=["The mayor speaks to reporters."],
    )
    assert kept == [
        STORY[0],
        "The vote was close, with the last ballot counted after midnight.",
        STORY[1],
    ]


def test_sentences_with_furniture_words_stay_at_either_end() -> None:
    lines = [
        "The Supreme Court ruled on Monday in a major copyright case brought by photographers.",
        STORY[0],
        "Kremlin declined to comment.",
        "The app is available to download from Tuesday in Europe and the United States.",
    ]
    assert refine(lines) == lines


def test_chinese_and_japanese_paragraphs_are_not_taken_for_furniture() -> None:
    chinese = [
        "市议会周二批准了新的预算。",
        "反对派议员说，这项计划对租金上涨的家庭帮助太少。",
        "市长表示，新公交线路的资金将于明年春天到位。",
    ]
    japanese = [
        "市議会は火曜日、新しい予算を承認した。",
        "野党は家賃の上昇に苦しむ家庭への支援が少なすぎると述べた。",
    ]
    assert refine(chinese) == chinese
    assert refine(japanese) == japanese


def test_links_within_the_page_or_to_other_sites_are_not_teasers() -> None:
    page = html.fromstring(
        "<html><body><a href='#budget'>Why the budget matters to renters</a>"
        "<a href='https://shop.example/skillet'>Lodge Cast Iron Skillet 10.25 Inch</a>"
        "<a href='/more'>More news from the city council today</a></body></html>"
    )
    links = link_texts(page, "https://daily.example/story")
    lines = [
        STORY[0],
        "Why the budget matters to renters",
        "Lodge Cast Iron Skillet 10.25 Inch",
        "More news from the city council today",
        STORY[1],
    ]
    assert refine(lines, links=links) == [STORY[0], lines[1], lines[2], STORY[1]]


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


def test_a_short_sign_off_at_the_end_stays_but_widget_labels_go() -> None:
    lines = [*STORY, "Jane Doe", "Comments", "Tags"]
    assert refine(lines) == [*STORY, "Jane Doe"]  # shortness alone does not make furniture
