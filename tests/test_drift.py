"""Source health's arithmetic: tallies of pages, medians from bins, and the drift rules."""

from __future__ import annotations

import random

from pipeline.health.drift import judge
from pipeline.health.tally import FIELDS, Tally, words_bin

EVERYTHING = frozenset(FIELDS)


def tally(articles: int, *, words: int = 400, filled: frozenset[str] = EVERYTHING) -> Tally:
    counted = Tally()
    for _ in range(articles):
        counted.add("article", words_bin(words), 1, 0, {name: 1 for name in filled})
    return counted


def spread(lengths: list[int], *, filled: frozenset[str] = EVERYTHING) -> Tally:
    counted = Tally()
    for words in lengths:
        counted.add("article", words_bin(words), 1, 0, {name: 1 for name in filled})
    return counted


# --- tallies -----------------------------------------------------------------------------------


def test_the_median_read_from_the_bins_is_close_to_the_true_one() -> None:
    generator = random.Random(7)
    for _ in range(50):
        lengths = [
            int(generator.lognormvariate(6, 0.6)) + 1 for _ in range(generator.randint(5, 400))
        ]
        true = sorted(lengths)[len(lengths) // 2]
        estimate = spread(lengths).median_words()
        assert estimate is not None
        # Within a bin (2 ** (1/4), 19%) whatever the sample; the ends of odd samples may differ.
        assert true / 1.2 <= estimate <= true * 1.2, (true, estimate)


def test_tallies_subtract_exactly_and_count_failures_by_reason() -> None:
    total = tally(10)
    total.add("interstitial:consent", -1, 3)
    total.add("http_404", -1, 2)
    part = tally(4)
    part.add("interstitial:consent", -1, 1)
    rest = total.minus(part)
    assert (rest.articles, rest.pages, rest.interstitials) == (6, 10, 2)
    assert rest.failures == {"interstitial:consent": 2, "http_404": 2}
    assert rest.fill_rate("authors") == 1.0


# --- drift rules -------------------------------------------------------------------------------


def test_a_byline_gone_and_a_body_cut_to_its_standfirst_are_alarms() -> None:
    before = tally(40, words=420)
    after = tally(40, words=35, filled=EVERYTHING - {"authors"})
    judged = judge(after, before)
    assert judged.state == "degraded"
    fields = {alarm.field: alarm for alarm in judged.alarms}
    assert set(fields) == {"authors", "body_words"}
    assert (fields["authors"].baseline, fields["authors"].recent) == (1.0, 0.0)
    assert fields["body_words"].recent < 50 < 300 < fields["body_words"].baseline
    assert "authors 100% → 0%" in fields["authors"].describe()


def test_too_few_pages_on_either_side_is_learning_not_an_alarm() -> None:
    judged = judge(tally(10, words=20, filled=frozenset()), tally(200))
    assert judged.state == "learning" and judged.waiting_for == 20
    assert judge(tally(40, words=20), tally(12)).state == "learning"


def test_chance_differences_between_samples_of_one_source_raise_no_alarm() -> None:
    # Sources whose articles fill authors 60% of the time, with lengths spread as real ones
    # are; many pairs of windows, none alarmed.
    generator = random.Random(11)

    def sample(size: int) -> Tally:
        counted = Tally()
        for _ in range(size):
            filled = {name: 1 for name in FIELDS if name != "authors"}
            filled["authors"] = int(generator.random() < 0.6)
            words = int(generator.lognormvariate(5.5, 0.8)) + 1
            counted.add("article", words_bin(words), 1, 0, filled)
        return counted

    states = [judge(sample(30), sample(generator.choice([30, 100, 600]))).state for _ in range(500)]
    assert states.count("degraded") == 0


def test_a_field_the_source_seldom_filled_raises_no_alarm_when_it_goes() -> None:
    before = tally(100, filled=EVERYTHING - {"image"})
    for _ in range(20):
        before.add("article", words_bin(400), 1, 0, {"image": 1})  # 17% had an image
    assert judge(tally(40, filled=EVERYTHING - {"image"}), before).state == "ok"


def test_most_pages_failing_where_few_did_is_an_alarm_naming_the_reason() -> None:
    before = tally(100)
    before.add("http_404", -1, 2)
    after = tally(5)
    after.add("interstitial:challenge", -1, 30)
    (alarm,) = judge(after, before).alarms
    assert (alarm.field, alarm.reason) == ("failures", "interstitial:challenge")
    assert alarm.describe() == "failures 2% → 86% (interstitial:challenge)"
