"""Source health: the tallies, the drift rules, and the counts the store keeps for them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from pipeline.errors import DatabaseUnavailable, EmptyDocument, Interstitial, MessageLost
from pipeline.health.drift import judge
from pipeline.health.report import source_health
from pipeline.health.tally import FIELDS, Observation, Tally, words_bin
from pipeline.models import Article, FetchedPage, StoredRef
from pipeline.settings import Settings
from pipeline.store import health
from pipeline.store.db import session_scope
from pipeline.store.pages import save_raw_page
from pipeline.store.sources import add_source, mark_seen
from pipeline.store.tables import HealthDay, HealthRecent

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


# --- the store's counts ------------------------------------------------------------------------


def observation(words: int = 400, filled: frozenset[str] = EVERYTHING) -> Observation:
    return Observation("article", words_bin(words), False, filled)


def new_source(session: Session) -> str:
    source, _ = add_source(
        session, url="http://news.example/feed.xml", interval=600, name=None, rate=None
    )
    return health.source_scope(source.id or 0)


def template_change(session: Session, scope: str, now: datetime) -> None:
    """40 pages as usual, then 40 with no byline and a standfirst for a body."""
    for _ in range(40):
        health.count_page(session, scope=scope, observation=observation(), now=now)
    for _ in range(40):
        changed = observation(30, EVERYTHING - {"authors"})
        health.count_page(session, scope=scope, observation=changed, now=now)


def test_recent_window_and_baseline_are_cut_from_the_counts_and_recover(
    any_db_settings: Settings,
) -> None:
    settings, now = any_db_settings, datetime.now(UTC)
    with session_scope(settings) as session:
        scope = new_source(session)
        # Four weeks of a steady source, then today: 40 as before, 40 without a byline.
        for days in range(28, 0, -1):
            for _ in range(5):
                health.count_page(
                    session,
                    scope=scope,
                    observation=observation(),
                    now=now - timedelta(days=days, hours=1),
                )
        template_change(session, scope, now)
    (report,) = source_health(settings, now=now)
    # The last day's 80 pages are the recent window (more than 30); the weeks before, the rest.
    assert (report.recent.pages, report.baseline.pages, report.last_day.pages) == (80, 140, 80)
    assert report.state == "degraded"
    # Half of them kept their byline and body: the alarms speak all the same.
    assert {alarm.field for alarm in report.alarms} == {"authors", "body_words"}
    assert report.recent.fill["authors"] == 0.5
    # Two days on, the old template back: the window is the last day's 60 pages.
    later = now + timedelta(days=2)
    with session_scope(settings) as session:
        for _ in range(60):
            health.count_page(session, scope=scope, observation=observation(), now=later)
    (report,) = source_health(settings, now=later)
    assert report.state == "ok" and report.recent.pages == 60 and not report.alarms


def test_a_source_first_seen_today_is_judged_against_its_own_morning(
    any_db_settings: Settings,
) -> None:
    settings, now = any_db_settings, datetime.now(UTC)
    with session_scope(settings) as session:
        scope = new_source(session)
        template_change(session, scope, now)
    (report,) = source_health(settings, now=now)
    assert (report.recent.pages, report.baseline.pages) == (40, 40)
    assert report.state == "degraded"
    assert {alarm.field for alarm in report.alarms} == {"authors", "body_words"}


def test_pruning_keeps_every_row_a_window_can_need(any_db_settings: Settings) -> None:
    settings, now = any_db_settings, datetime.now(UTC)
    with session_scope(settings) as session:
        for days in (40, 3):
            for _ in range(100):
                health.count_page(
                    session,
                    scope="host:a.example",
                    observation=observation(),
                    now=now - timedelta(days=days),
                )
        for _ in range(200):
            health.count_page(session, scope="host:a.example", observation=observation(), now=now)
    before = source_health(settings, now=now)
    with session_scope(settings) as session:
        health.prune(session, now=now)
        recent = session.execute(select(func.count()).select_from(HealthRecent)).scalar()
        oldest = session.execute(select(func.min(HealthDay.day))).scalar()
    # Today's 200 and no more: the rows of three days ago were pruned as pages came in, those
    # of 40 days ago with the rest of the horizon; the daily sums are kept for 92 days.
    assert recent == 200
    assert oldest == (now - timedelta(days=40)).date()
    assert source_health(settings, now=now) == before


def stored_page(session: Session, url: str, source: str | None = None) -> int:
    page = FetchedPage(
        source=source or url,
        url=url,
        content=url.encode(),
        kind="html",
        encoding="utf-8",
        content_type="text/html",
    )
    return save_raw_page(session, page=page)


def article(
    page_id: int, *, authors: tuple[str, ...] = ("Jane Roe",), article_id: int | None = None
) -> Article:
    return Article(
        url="http://news.example/a",
        title="A",
        authors=authors,
        body="word " * 300,
        word_count=300,
        extractor_version="v",
        page_id=page_id,
        article_id=article_id,
    )


def test_pages_are_counted_for_their_source_or_host_once_and_reprocessing_is_not(
    any_db_settings: Settings,
) -> None:
    settings = any_db_settings
    with session_scope(settings) as session:
        source, _ = add_source(
            session, url="http://news.example/feed.xml", interval=600, name=None, rate=None
        )
        mark_seen(session, urls=["http://news.example/a"], source_id=source.id)
        from_feed = stored_page(session, "http://news.example/a?utm_source=rss")
        ingested = stored_page(session, "https://other.example/b")
        from_file = stored_page(session, "/tmp/c.html")
        created = StoredRef(article_id=1, canonical_url="http://news.example/a", created=True)
        same = StoredRef(article_id=1, canonical_url="http://news.example/a", created=False)
        health.count_article(session, article=article(from_feed), stored=created)
        health.count_article(session, article=article(from_feed), stored=same)  # redelivered
        health.count_article(session, article=article(from_feed, article_id=1), stored=created)
        health.count_article(session, article=article(ingested), stored=created)
        health.count_article(session, article=article(from_file), stored=created)
        health.count_failure(
            session, item="https://other.example/gone", page_id=None, error=EmptyDocument("x")
        )
        health.count_failure(
            session, item="page", page_id=ingested, error=Interstitial("x", kind="consent")
        )
        # Our own troubles say nothing of the site.
        health.count_failure(
            session, item="https://other.example/x", page_id=None, error=DatabaseUnavailable("x")
        )
        health.count_failure(
            session, item="https://other.example/y", page_id=None, error=MessageLost("x")
        )
        rows = session.execute(select(HealthDay.scope, HealthDay.outcome, HealthDay.pages)).all()
    counted = {(scope, outcome): pages for scope, outcome, pages in rows}
    assert counted == {
        (f"source:{source.id}", "article"): 1,
        ("host:other.example", "article"): 1,
        ("host:other.example", "empty_document"): 1,
        ("host:other.example", "interstitial:consent"): 1,
    }


@pytest.mark.parametrize("source_id", [None, 1])
def test_every_source_is_reported_even_before_its_first_page(
    settings: Settings, source_id: int | None
) -> None:
    with session_scope(settings) as session:
        add_source(session, url="http://quiet.example/feed.xml", interval=600, name=None, rate=None)
    (report,) = source_health(settings, source_id=source_id)
    assert report.state == "learning" and report.waiting_for == 60
    assert report.last_day.pages == 0 and report.url == "http://quiet.example/feed.xml"
