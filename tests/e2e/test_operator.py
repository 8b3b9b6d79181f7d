"""The operator's view: ``newsflow status`` against real workers, a real Redis, a real
database and a real HTTP server. Every wait is bounded. The workers' Prometheus endpoints are
in ``test_prometheus.py``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis as redis_client
from sqlalchemy import update
from sqlmodel import col

from pipeline.clean.html import clean
from pipeline.errors import EmptyDocument, TooDeep
from pipeline.extract.article import extract
from pipeline.settings import Settings, get_settings
from pipeline.stages import store_stage
from pipeline.store import stats
from pipeline.store.db import session_scope
from pipeline.store.failures import record_failure
from pipeline.store.sources import add_source
from pipeline.store.tables import ArticleRow, Source
from pipeline.version import extractor_version
from tests.conftest import WorkerProcess, newsflow, wait_until
from tests.e2e.stories import HTML, STAGES, open_failures, send, story
from tests.httpserver import LocalServer, Reply

# --- newsflow status -----------------------------------------------------------------------------


def store_articles(settings: Settings) -> None:
    """Five articles of known ages and extractor versions, stored as the store stage does."""
    now = datetime.now(UTC)
    current = extractor_version()
    # (created, updated, extractor version) of each.
    shapes = [
        (now, now, current),
        (now, now, "0.0.9+old"),
        (now, now, "0.0.9+old"),
        (now - timedelta(hours=3), now - timedelta(hours=3), "0.0.8+older"),
        (now - timedelta(days=2), now - timedelta(minutes=30), current),
    ]
    for index, (created, updated, version) in enumerate(shapes):
        url = f"https://news.example.org/stored/{index}"
        stored = store_stage(extract(clean(story(100 + index).decode(), "html", url=url)), settings)
        with session_scope(settings) as session:
            session.execute(
                update(ArticleRow)
                .where(col(ArticleRow.id) == stored.article_id)
                .values(created_at=created, updated_at=updated, extractor_version=version)
            )


def add_sources(settings: Settings) -> int:
    """One source due now, one paused, one failing, one polled later; the failing one's id."""
    later = datetime.now(UTC) + timedelta(hours=1)
    with session_scope(settings) as session:

        def add(url: str) -> Source:
            source, _ = add_source(session, url=url, name=None, interval=600, rate=None)
            return source

        add("https://due.example.org/rss")
        add("https://paused.example.org/rss").paused = True
        failing = add("https://failing.example.org/rss")
        failing.errors_in_row = 3
        failing.last_error = "http_500: " + "the server said no " * 40  # a page of it
        failing.next_poll_at = later
        add("https://later.example.org/rss").next_poll_at = later
        session.flush()
        assert failing.id is not None
        return failing.id


def record_failures(settings: Settings) -> None:
    with session_scope(settings) as session:
        for page in (901, 902):
            record_failure(
                session,
                stage="clean",
                item=f"page:{page}",
                error=TooDeep("nested past 200 elements"),
                attempts=1,
            )
        record_failure(
            session,
            stage="extract",
            item="page:903",
            error=EmptyDocument("no text"),
            attempts=1,
            resolved=True,
        )


def test_status_shows_queues_workers_and_the_store_at_a_glance(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    from workers.tasks import fetch

    urls = [
        http_server.route(f"/story/{index}", Reply(200, story(index), HTML)) for index in range(3)
    ]
    gone = http_server.route("/gone", Reply(404, b"no such page"))
    # Nobody serves extract or store: what the worker hands on waits there.
    worker = start_worker("--queues", "fetch,clean")
    for url in [*urls, gone]:
        send(url)
    # A fetch due in ten minutes: the worker takes it and holds it, unacknowledged.
    fetch.apply_async((http_server.url("/story/later"),), countdown=600)
    store_articles(settings)
    failing_source = add_sources(settings)
    record_failures(settings)

    broker = redis_client.Redis.from_url(get_settings().broker_url)

    def settled() -> bool:
        return (
            broker.llen("extract") == 3
            and broker.hlen("unacked") == 1
            and ("fetch", "http_404") in open_failures(settings)
        )

    try:
        wait_until(settled, timeout=90, interval=0.2)
    except TimeoutError:
        state = {queue: broker.llen(queue) for queue in STAGES}
        pytest.fail(
            f"not settled: queues {state}, unacked {broker.hlen('unacked')}, failures "
            f"{open_failures(settings)}\n{worker.log()[-4000:]}"
        )

    result = newsflow("status", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["broker_error"] is None and report["workers_error"] is None
    queues = {queue["queue"]: queue for queue in report["queues"]}
    assert {name: (q["waiting"], q["unacked"]) for name, q in queues.items()} == {
        "fetch": (0, 1),
        "clean": (0, 0),
        "extract": (3, 0),
        "store": (0, 0),
    }
    assert report["unacked_total"] == 1 and report["unacked_complete"] is True
    assert {"fetch", "poll", "dispatch"} <= set(queues["fetch"]["tasks"])
    assert {"store", "reconcile"} <= set(queues["store"]["tasks"])

    [listed] = report["workers"]
    assert listed["hostname"].startswith("test-")
    assert listed["pid"] == worker.process.pid
    assert (listed["pool"], listed["concurrency"], listed["processes"]) == ("prefork", 2, 2)
    assert listed["queues"] == ["clean", "fetch"]
    assert listed["active"] == 0
    # Four fetches and three cleans; the fetch held for later has not run.
    assert listed["processed_by_task"] == {"fetch": 4, "clean": 3}
    assert listed["processed"] == 7

    assert report["articles"] == {
        "total": 5,
        "created_last_hour": 3,
        "created_last_day": 4,
        "updated_last_hour": 4,
        # The five share the test site's template, all but a sentence: copies of the first.
        "duplicates": 4,
    }
    assert report["failures"] == [
        {"stage": "clean", "reason": "too_deep", "count": 2},
        {"stage": "fetch", "reason": "http_404", "count": 1},
    ]
    assert report["open_failures"] == 3

    sources = report["sources"]
    assert (sources["total"], sources["paused"], sources["due"], sources["failing"]) == (
        4,
        1,
        1,
        1,
    )
    [failing] = sources["failing_sources"]
    assert failing["id"] == failing_source
    assert failing["url"] == "https://failing.example.org/rss"
    assert failing["errors_in_row"] == 3
    assert failing["last_error"].startswith("http_500: the server said no")
    assert len(failing["last_error"]) == stats.ERROR_CHARS and failing["last_error"].endswith("…")

    assert report["reprocessing"] == {
        "current_version": extractor_version(),
        "outdated": 3,
        "by_version": [
            {"extractor_version": "0.0.9+old", "count": 2},
            {"extractor_version": "0.0.8+older", "count": 1},
        ],
    }

    screen = newsflow("status")
    assert screen.returncode == 0, screen.stderr
    text = screen.stdout
    assert re.search(r"\bextract\s+3\s+0\b", text), text
    assert re.search(r"\bfetch\s+0\s+1\b", text), text
    assert re.search(rf"{re.escape(listed['hostname'])}\s+prefork\s+2\s+clean, fetch\s+0\s+7", text)
    assert re.search(r"new, last hour\s+3\b", text) and re.search(r"total\s+5\b", text), text
    assert re.search(r"fetch\s+http_404\s+1\b", text) and re.search(r"clean\s+too_deep\s+2", text)
    assert re.search(r"failing\s+1\b", text) and "https://failing.example.org/rss" in text
    assert re.search(r"0\.0\.9\+old\s+2\b", text), text
    assert len(text.splitlines()) <= 40, text  # one screen
    assert worker.alive()
