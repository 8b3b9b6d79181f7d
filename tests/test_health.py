"""Source health in the store: each page counted for its source, the windows read back,
alarms that stand while a source stays broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from pipeline.errors import DatabaseUnavailable, EmptyDocument, Interstitial, MessageLost
from pipeline.health.report import source_health
from pipeline.health.tally import FIELDS, Observation, words_bin
from pipeline.models import Article, FetchedPage, StoredRef
from pipeline.settings import Settings
from pipeline.store import health
from pipeline.store.db import session_scope
from pipeline.store.pages import save_raw_page
from pipeline.store.sources import add_source, mark_seen
from pipeline.store.tables import HealthDay, HealthRecent

EVERYTHING = frozenset(FIELDS)


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
    # of 40 days ago with the rest of the horizon, and their daily sums past 30 days.
    assert recent == 200
    assert oldest == (now - timedelta(days=3)).date()
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
        from_file = stored_page(session, "samples/c.html")
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


def test_a_failure_is_counted_once_never_for_a_reprocessing_and_never_at_its_records_cost(
    settings: Settings,
) -> None:
    from pipeline.stages import record_failure
    from pipeline.store.failures import list_failures

    def counted() -> dict[str, int]:
        with session_scope(settings) as session:
            rows = session.execute(select(HealthDay.scope, HealthDay.pages)).all()
        return {scope: pages for scope, pages in rows}

    with session_scope(settings) as session:
        page = stored_page(session, "https://site.example/a")
        archived = FetchedPage(
            source="crawl.warc.gz",
            url="https://site.example/old",
            content=b"old",
            kind="html",
            encoding="utf-8",
            content_type="text/html",
            archive="crawl.warc.gz",
        )
        old_page = save_raw_page(session, page=archived)
    gone = EmptyDocument("nothing")
    record_failure(settings, stage="clean", item=f"page:{page}", error=gone, page_id=page)
    record_failure(
        settings, stage="clean", item=f"page:{page}", error=gone, page_id=page
    )  # replayed
    assert counted() == {"host:site.example": 1}
    reprocessed = {"page_id": page, "url": "https://site.example/a", "article_id": 7}
    record_failure(
        settings,
        stage="extract",
        item=f"page:{page}",
        error=gone,
        page_id=page,
        payload=reprocessed,
    )
    record_failure(settings, stage="clean", item=f"page:{old_page}", error=gone, page_id=old_page)
    assert counted() == {"host:site.example": 1}
    # A URL too malformed to name a host: recorded all the same, counted nowhere.
    record_failure(settings, stage="fetch", item="http://[::1/x", error=gone)
    with session_scope(settings) as session:
        assert len(list_failures(session)) == 4  # the replay updated its record


def test_an_alarm_stands_while_the_source_stays_broken_and_clears_when_it_is_fixed(
    settings: Settings,
) -> None:
    start = datetime.now(UTC) - timedelta(days=60)

    def day(number: int, pages: int, broken: bool) -> datetime:
        moment = start + timedelta(days=number)
        seen = observation(30, EVERYTHING - {"authors"}) if broken else observation()
        with session_scope(settings) as session:
            for _ in range(pages):
                health.count_page(session, scope="host:site.example", observation=seen, now=moment)
        return moment + timedelta(hours=1)

    for number in range(28):
        day(number, 10, broken=False)
    states = []
    for number in range(28, 48):  # broken for 20 days, read every day
        (report,) = source_health(settings, now=day(number, 40, broken=True))
        states.append(report.state)
        if number == 28:
            since = report.degraded_since
    # Without the alarm's own baseline, the broken days would have become the past within a
    # week and the alarm cleared by itself; it stands, from the first broken page.
    assert states == ["degraded"] * 20
    assert since == start + timedelta(days=28)
    (report,) = source_health(settings, now=day(48, 40, broken=False))
    assert report.state == "ok" and report.degraded_since is None


def test_a_change_that_lasts_past_the_horizon_becomes_the_sources_normal(
    settings: Settings,
) -> None:
    start = datetime.now(UTC) - timedelta(days=70)
    with session_scope(settings) as session:
        for number in range(70):
            seen = observation() if number < 30 else observation(30, EVERYTHING - {"authors"})
            for _ in range(10 if number < 30 else 40):
                health.count_page(
                    session,
                    scope="host:site.example",
                    observation=seen,
                    now=start + timedelta(days=number),
                )
            if number == 30:
                break
    (report,) = source_health(settings, now=start + timedelta(days=30, hours=1))
    assert report.state == "degraded"
    with session_scope(settings) as session:
        for number in range(31, 70):
            for _ in range(10):
                health.count_page(
                    session,
                    scope="host:site.example",
                    observation=observation(30, EVERYTHING - {"authors"}),
                    now=start + timedelta(days=number),
                )
    (report,) = source_health(settings, now=start + timedelta(days=69))
    assert report.state == "ok" and not report.alarms


def test_an_alarm_keeps_the_pages_it_was_raised_against_when_their_rows_are_pruned(
    settings: Settings,
) -> None:
    first = datetime.now(UTC) - timedelta(days=5)

    def pages(count: int, outcome: Observation, moment: datetime) -> datetime:
        with session_scope(settings) as session:
            for _ in range(count):
                health.count_page(
                    session, scope="host:young.example", observation=outcome, now=moment
                )
        return moment

    broken = Observation("empty_document")
    pages(30, observation(), first)
    (report,) = source_health(settings, now=pages(30, broken, first + timedelta(minutes=5)))
    assert report.state == "degraded"  # judged against its own morning
    # The next day the morning's rows are pruned; the alarm's baseline is its own.
    (report,) = source_health(settings, now=pages(70, broken, first + timedelta(days=1)))
    assert report.state == "degraded" and report.baseline.pages == 30
    (report,) = source_health(settings, now=pages(40, observation(), first + timedelta(days=3)))
    assert report.state == "ok"


def test_a_challenge_is_fetched_again_at_its_sources_rate_never_for_a_reprocessing_or_archive(
    settings: Settings,
) -> None:
    from pipeline.errors import Challenge
    from pipeline.stages import record_failure, refetch_payload
    from pipeline.store.failures import list_failures

    with session_scope(settings) as session:
        source, _ = add_source(
            session, url="http://news.example/feed.xml", interval=600, name=None, rate=0.5
        )
        mark_seen(session, urls=["http://news.example/a"], source_id=source.id)
        fetched = stored_page(session, "http://news.example/a")
        archived = FetchedPage(
            source="http://news.example/b",
            url="http://news.example/b",
            content=b"b",
            kind="html",
            encoding="utf-8",
            content_type="text/html",
            archive="crawl.warc",
        )
        old = save_raw_page(session, page=archived)
    assert refetch_payload(settings, fetched) == (
        "http://news.example/a",
        {"source": "http://news.example/a", "entry": None, "rate": 0.5},
    )
    assert refetch_payload(settings, old) is None
    assert refetch_payload(settings, fetched, {"page_id": fetched, "article_id": 3}) is None
    wall = Challenge("a bot challenge")
    record_failure(settings, stage="clean", item=f"page:{fetched}", error=wall, page_id=fetched)
    record_failure(settings, stage="clean", item=f"page:{old}", error=wall, page_id=old)
    with session_scope(settings) as session:
        recorded = {(failure.stage, failure.item) for failure in list_failures(session)}
    assert recorded == {("fetch", "http://news.example/a"), ("clean", f"page:{old}")}
