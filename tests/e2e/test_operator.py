"""The operator's view: ``newsflow status`` and the workers' Prometheus endpoints, against
real workers, a real Redis, a real database and a real HTTP server. Every wait is bounded."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_client
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlmodel import col, func, select

from pipeline.clean.html import clean
from pipeline.errors import EmptyDocument, TooDeep
from pipeline.extract.article import extract
from pipeline.settings import Settings, get_settings
from pipeline.stages import store_stage
from pipeline.store.db import session_scope
from pipeline.store.failures import record_failure
from pipeline.store.sources import add_source
from pipeline.store.tables import ArticleRow, Failure, Source
from pipeline.version import extractor_version
from tests.conftest import WorkerProcess, free_port, newsflow, wait_until
from tests.e2e.test_reliability import story
from tests.httpserver import LocalServer, Reply

HTML = {"Content-Type": "text/html; charset=utf-8"}
STAGES = ("fetch", "clean", "extract", "store")
OUTCOMES = ("ok", "retried", "waited", "failed")


def send(url: str, **options: Any) -> None:
    from workers.tasks import article_chain

    article_chain(url, **options).apply_async()


def open_failures(settings: Settings) -> list[tuple[str, str]]:
    with session_scope(settings) as session:
        rows = session.exec(
            select(Failure.stage, Failure.reason).where(col(Failure.resolved).is_(False))
        )
        return sorted((stage, reason) for stage, reason in rows)


def article_count(settings: Settings) -> int:
    with session_scope(settings) as session:
        return session.exec(select(func.count()).select_from(ArticleRow)).one()


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
        failing.last_error = "http_500: " + "the server said no " * 20
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
    assert len(failing["last_error"]) == 120 and failing["last_error"].endswith("…")

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


# --- Prometheus metrics ----------------------------------------------------------------------------


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    response.raise_for_status()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def outcomes(samples: Samples, stage: str) -> dict[str, float]:
    return {
        outcome: value(samples, "newsflow_stage_tasks_total", stage=stage, outcome=outcome)
        for outcome in OUTCOMES
    }


def calls(samples: Samples, stage: str) -> float:
    count = value(samples, "newsflow_stage_duration_seconds_count", stage=stage)
    assert value(samples, "newsflow_stage_duration_seconds_bucket", stage=stage, le="+Inf") == count
    return count


def metrics_folder(worker: WorkerProcess) -> Path:
    """The folder of values the worker names in its log."""
    found = wait_until(
        lambda: re.search(r"values kept in (\S+)\)", worker.log()), timeout=10, interval=0.2
    )
    return Path(found.group(1))


def test_metrics_count_every_outcome_of_every_stage_across_pool_processes(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    # A short wait per page, so both pool processes take pages while the other is busy.
    fine = [
        http_server.route(f"/story/{index}", Reply(200, story(index), HTML, delay=0.3))
        for index in range(3)
    ]
    flaky = http_server.route("/flaky", Reply(503, b"busy"), Reply(200, story(3), HTML))
    gone = http_server.route("/gone", Reply(404, b"no such page"))
    # Two pages of a slow host (under another name, so it has its own rate limit): the
    # second waits its turn, without spending an attempt.
    http_server.route("/slow/a", Reply(200, story(4), HTML))
    http_server.route("/slow/b", Reply(200, story(5), HTML))
    slow = [
        http_server.url(path).replace("127.0.0.1", "localhost") for path in ("/slow/a", "/slow/b")
    ]

    pipeline_port, store_port = free_port(), free_port()
    # Store is not served yet: the articles wait in its queue.
    worker = start_worker(
        "--queues", "fetch,clean,extract", extra_env={"NEWSFLOW_METRICS_PORT": str(pipeline_port)}
    )
    for url in slow:
        send(url, rate=0.25)
    for url in [*fine, flaky, gone]:
        send(url)

    def through_extract() -> Samples | None:
        samples = scrape(pipeline_port)
        done = (
            sum(outcomes(samples, "fetch").values()) >= 9
            and outcomes(samples, "extract")["ok"] >= 6
        )
        waiting = value(samples, "newsflow_queue_depth", queue="store") >= 6
        return samples if done and waiting else None

    samples = wait_until(through_extract, timeout=120, interval=0.5)
    assert outcomes(samples, "fetch") == {"ok": 6, "retried": 1, "waited": 1, "failed": 1}
    assert outcomes(samples, "clean") == {"ok": 6, "retried": 0, "waited": 0, "failed": 0}
    assert outcomes(samples, "extract") == {"ok": 6, "retried": 0, "waited": 0, "failed": 0}
    assert outcomes(samples, "store") == {"ok": 0, "retried": 0, "waited": 0, "failed": 0}
    # Every call is timed, whatever its outcome.
    assert [calls(samples, stage) for stage in STAGES] == [9, 6, 6, 0]
    assert {queue: value(samples, "newsflow_queue_depth", queue=queue) for queue in STAGES} == {
        "fetch": 0,
        "clean": 0,
        "extract": 0,
        "store": 6,
    }
    assert all(value(samples, "newsflow_queue_unacked", queue=queue) == 0 for queue in STAGES)
    assert value(samples, "newsflow_broker_up") == 1
    assert open_failures(settings) == [("fetch", "http_404")]
    assert http_server.count("/flaky") == 2
    # The main process and both pool processes wrote values; the scrape added them up.
    written = {path.name.split("_")[-1] for path in metrics_folder(worker).glob("counter_*.db")}
    assert len(written) == 3, written

    # A threads-pool worker drains store, with its own endpoint.
    store_worker = start_worker(
        "--queues",
        "store",
        "--pool",
        "threads",
        extra_env={"NEWSFLOW_METRICS_PORT": str(store_port)},
    )

    def stored() -> Samples | None:
        samples = scrape(store_port)
        return samples if outcomes(samples, "store")["ok"] >= 6 else None

    samples = wait_until(stored, timeout=60, interval=0.5)
    assert outcomes(samples, "store") == {"ok": 6, "retried": 0, "waited": 0, "failed": 0}
    assert outcomes(samples, "fetch") == {"ok": 0, "retried": 0, "waited": 0, "failed": 0}
    assert calls(samples, "store") == 6
    wait_until(
        lambda: value(scrape(store_port), "newsflow_queue_depth", queue="store") == 0, timeout=10
    )
    assert article_count(settings) == 6
    assert worker.alive() and store_worker.alive()


def test_a_solo_worker_serves_metrics_and_removes_its_folder_when_it_stops(
    start_worker: Callable[..., WorkerProcess], celery_app: Any, http_server: LocalServer
) -> None:
    port = free_port()
    worker = start_worker("--pool", "solo", extra_env={"NEWSFLOW_METRICS_PORT": str(port)})
    send(http_server.route("/story", Reply(200, story(0), HTML)))
    samples = wait_until(
        lambda: (found := scrape(port)) and outcomes(found, "store")["ok"] >= 1 and found,
        timeout=60,
        interval=0.3,
    )
    for stage in STAGES:
        assert outcomes(samples, stage) == {"ok": 1, "retried": 0, "waited": 0, "failed": 0}
        assert calls(samples, stage) == 1
    folder = metrics_folder(worker)
    assert folder.is_dir()
    worker.stop()
    assert not folder.exists()
    # The port is free again (closed connections may linger in TIME_WAIT; a listener may not).
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_a_worker_whose_metrics_port_is_taken_goes_on_without_metrics(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = start_worker(extra_env={"NEWSFLOW_METRICS_PORT": str(port)})
        send(http_server.route("/story", Reply(200, story(0), HTML)))
        wait_until(lambda: article_count(settings) == 1, timeout=60)
    assert worker.alive()
    assert f"metrics: cannot listen on 127.0.0.1:{port}" in worker.log()
    assert "Traceback" not in worker.log()
