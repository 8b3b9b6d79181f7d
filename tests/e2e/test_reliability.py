"""Nothing lost, nothing duplicated: real workers killed, a real Redis restarted, a real
PostgreSQL cut off, and failures replayed. Every wait is bounded."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_client
from sqlalchemy.engine import make_url
from sqlmodel import col, func, select

from pipeline.settings import Settings, get_settings
from pipeline.store.db import dispose_engines, prepare_database, session_scope
from pipeline.store.tables import ArticleRow, Failure, RawPage
from tests.conftest import ROOT, RedisServer, WorkerProcess, newsflow, wait_until
from tests.e2e.test_pipeline import ARTICLE_HTML
from tests.httpserver import LocalServer, Reply
from tests.tcpproxy import TcpProxy

HTML = {"Content-Type": "text/html; charset=utf-8"}
WORDS = ["amber", "birch", "cedar", "delta", "ember", "fjord", "glade", "harbor", "island"]


def story(index: int) -> bytes:
    """A distinct article for each index: its own title and its own opening sentence."""
    words = " ".join(WORDS[(index + step) % len(WORDS)] for step in range(5))
    return ARTICLE_HTML.format(
        title=f"Story number {index} about {words}",
        sentence=f"Report {index}: the {words} project reached stage {index % 7} this week.",
    ).encode()


def serve_stories(server: LocalServer, count: int, delay: float = 0.0) -> list[str]:
    return [
        server.route(f"/story/{index}", Reply(200, story(index), HTML, delay=delay))
        for index in range(count)
    ]


def counts(settings: Settings) -> tuple[int, int, int]:
    """(articles, distinct canonical URLs, open failures) in the store."""
    with session_scope(settings) as session:
        articles = session.exec(select(func.count()).select_from(ArticleRow)).one()
        distinct = session.exec(select(func.count(func.distinct(ArticleRow.url)))).one()
        failures = session.exec(
            select(func.count()).select_from(Failure).where(col(Failure.resolved).is_(False))
        ).one()
    return articles, distinct, failures


def stored_urls(settings: Settings) -> list[str]:
    with session_scope(settings) as session:
        return sorted(url or "" for url in session.exec(select(ArticleRow.url)))


QUEUES = ("fetch", "clean", "extract", "store")


def settled_broker(broker: redis_client.Redis, settings: Settings, total: int) -> bool:
    """Every article stored, nothing queued, nothing delivered and unacknowledged."""
    return (
        counts(settings)[0] >= total
        and broker.hlen("unacked") == 0
        and all(broker.llen(queue) == 0 for queue in QUEUES)
    )


def wait_settled(
    broker: redis_client.Redis, settings: Settings, total: int, *workers: WorkerProcess
) -> None:
    """Wait until settled, or fail saying what was left where (and what the workers said)."""
    try:
        wait_until(lambda: settled_broker(broker, settings, total), timeout=150, interval=0.5)
    except TimeoutError:
        state = {queue: broker.llen(queue) for queue in QUEUES}
        state["unacked"] = broker.hlen("unacked")
        state["unacked_mutex_ttl"] = broker.ttl("unacked_mutex")
        logs = "\n".join(worker.log()[-4000:] for worker in workers)
        pytest.fail(f"not settled: {counts(settings)} stored, broker {state}\n{logs}")


def send_all(urls: list[str]) -> None:
    from workers.tasks import article_chain

    for url in urls:
        article_chain(url).apply_async()


def worker_hostname(celery_app: Any, worker: WorkerProcess) -> str:
    """The name a started worker answers to, found by its process id."""

    def named() -> str | None:
        stats = celery_app.control.inspect(timeout=2.0).stats() or {}
        return next(
            (name for name, info in stats.items() if info["pid"] == worker.process.pid), None
        )

    return str(wait_until(named, timeout=30, interval=0.5))


# --- a worker killed mid-run -------------------------------------------------------------------


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    # A short visibility timeout, so that the killed worker's messages come back within the test.
    fast_redelivery = {"NEWSFLOW_VISIBILITY_TIMEOUT": "8"}
    urls = serve_stories(http_server, 200, delay=0.1)
    victim = start_worker(extra_env=fast_redelivery)
    survivor = start_worker(extra_env=fast_redelivery)
    send_all(urls)

    wait_until(lambda: counts(settings)[0] >= 30, timeout=120)
    hostname = worker_hostname(celery_app, victim)
    inspect = celery_app.control.inspect([hostname], timeout=2.0)
    in_flight = (inspect.active() or {}).get(hostname, [])
    held = in_flight + (inspect.reserved() or {}).get(hostname, [])
    # Not at once: the worker has just answered us, and a kill that follows its own replies is
    # not the random moment a real crash picks. Its queues are full, so it is still busy.
    time.sleep(random.uniform(0.2, 0.6))
    # The whole worker at once, main process and pool, as the OOM killer or a power cut would.
    os.killpg(victim.process.pid, signal.SIGKILL)
    victim.process.wait(timeout=10)
    stored_at_kill = counts(settings)[0]
    assert in_flight, "the killed worker was running nothing; the test proves nothing"
    assert stored_at_kill < 200

    restarted = start_worker(extra_env=fast_redelivery)  # "start it again"
    broker = redis_client.Redis.from_url(get_settings().broker_url)
    # Kombu can lose a message taken off a queue by a worker killed before it noted it as
    # unacknowledged; pages it stopped after fetch are sent on by the reconcile sweep.
    wait_settled(broker, settings, 0, survivor, restarted)
    swept = newsflow("reconcile", "--older-than", "0")
    assert swept.returncode == 0, swept.stderr
    wait_settled(broker, settings, 200, survivor, restarted)
    articles, distinct, failures = counts(settings)
    assert (articles, distinct, failures) == (200, 200, 0), survivor.log()[-3000:]
    assert stored_urls(settings) == sorted(urls)
    with session_scope(settings) as session:
        assert session.exec(select(func.count()).select_from(RawPage)).one() == 200
    # Work done twice is bounded by what the killed worker can hold at once (two processes,
    # each running one message and holding one more): redelivery repeats those, nothing else.
    refetched = sum(http_server.count(f"/story/{index}") - 1 for index in range(200))
    assert refetched <= 4
    print(
        f"\nkilled a worker holding {len(held)} task(s), {len(in_flight)} running, with "
        f"{stored_at_kill} of 200 stored; in the end 200 stored, 0 failures, "
        f"{refetched} page(s) fetched twice; reconcile: {swept.stdout.strip()}"
    )
    assert survivor.alive()


# --- Redis restarted mid-run -------------------------------------------------------------------


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer(appendonly=True)
    server.start()
    try:
        yield server
    finally:
        server.remove()


PRODUCER = """
import sys, time
from workers.tasks import article_chain
for url in sys.argv[1:]:
    article_chain(url).apply_async()
    time.sleep(0.05)
print("sent", len(sys.argv) - 1)
"""


def test_a_redis_restart_mid_run_loses_and_duplicates_nothing(
    own_redis: RedisServer, settings: Settings, http_server: LocalServer, tmp_path: Path
) -> None:
    total = 120
    urls = serve_stories(http_server, total, delay=0.02)
    environment = {
        **os.environ,
        "NEWSFLOW_BROKER_URL": own_redis.url,
        "NEWSFLOW_VISIBILITY_TIMEOUT": "8",
    }
    worker = WorkerProcess(
        environment,
        ["--concurrency", "2", "--hostname", "restart@%h", "--loglevel", "info"],
        tmp_path / "worker.log",
    )
    producer = subprocess.Popen(
        [sys.executable, "-c", PRODUCER, *urls],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: "ready" in worker.log(), timeout=60)
        wait_until(lambda: counts(settings)[0] >= 15, timeout=60)
        broker = redis_client.Redis.from_url(own_redis.url)
        waiting = sum(broker.llen(queue) for queue in QUEUES)
        waiting += broker.hlen("unacked")
        own_redis.stop()
        stored_at_restart = counts(settings)[0]
        time.sleep(2)  # producer and worker both find Redis gone
        own_redis.start()

        output, _ = producer.communicate(timeout=150)
        assert producer.returncode == 0, output
        assert f"sent {total}" in output
        assert waiting > 0 and stored_at_restart < total, "Redis went down with nothing in flight"
        # A message taken off a queue just as Redis stopped may be lost (kombu notes it as
        # unacknowledged in a second command); the reconcile sweep sends such pages on.
        wait_settled(broker, settings, 0, worker)
        swept = newsflow("reconcile", "--older-than", "0", env=environment)
        assert swept.returncode == 0, swept.stderr
        wait_settled(broker, settings, total, worker)
        assert counts(settings) == (total, total, 0), worker.log()[-3000:]
        assert stored_urls(settings) == sorted(urls)
        assert worker.alive(), worker.log()[-3000:]
        print(
            f"\nRedis restarted with {waiting} message(s) queued or unacknowledged and "
            f"{stored_at_restart} of {total} stored; in the end {total} stored, 0 failures; "
            f"reconcile: {swept.stdout.strip()}"
        )
    finally:
        producer.kill()
        worker.stop()


# --- PostgreSQL cut off --------------------------------------------------------------------------


@pytest.mark.postgres
def test_store_tasks_wait_for_postgresql_to_return(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    env: dict[str, str],
    postgres_url: str,
    http_server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeline.clean.html import clean
    from pipeline.extract.article import extract
    from workers.tasks import store

    direct = make_url(postgres_url)
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
    through_proxy = direct.set(port=proxy.port).render_as_string(hide_password=False)
    monkeypatch.setenv("NEWSFLOW_DATABASE_URL", postgres_url)
    get_settings.cache_clear()
    settings = get_settings()
    prepare_database(settings)
    worker = start_worker(
        extra_env={
            "NEWSFLOW_DATABASE_URL": through_proxy,
            # Few retries for the item, to show that the outage's retries are not counted.
            "NEWSFLOW_MAX_RETRIES": "1",
        }
    )
    # Articles ready to store, and whole chains, all sent while the database is away.
    articles = [
        extract(clean(story(index).decode(), "html", url=f"https://example.org/a/{index}"))
        for index in range(10)
    ]
    urls = serve_stories(http_server, 5)
    # A page that fails for good while the failure cannot be recorded: kept until it can be.
    gone = http_server.route("/gone", Reply(404, b"gone"))
    proxy.close()
    try:
        for article in articles:
            store.apply_async((article.model_dump(mode="json"),))
        send_all([*urls, gone])
        # 48 waits among 16 tasks: some task waited 3 times, past NEWSFLOW_MAX_RETRIES=1.
        wait_until(lambda: worker.log().count("waiting") >= 48, timeout=60)
        assert counts(settings)[0] == 0
    finally:
        proxy.open()
    wait_until(lambda: counts(settings)[0] >= 15 and counts(settings)[2], timeout=120)
    assert counts(settings) == (15, 15, 1), worker.log()[-3000:]
    with session_scope(settings) as session:
        [failure] = session.exec(select(Failure)).all()
    assert (failure.item, failure.reason) == (gone, "http_404")
    assert "cannot record the failure" in worker.log()
    print(f"\n{worker.log().count('waiting')} waits while PostgreSQL was away; 15 stored, 1 404")
    assert "database_unavailable" in worker.log() or "unavailable" in worker.log()
    proxy.close()
    dispose_engines()


# --- dead letters ------------------------------------------------------------------------------


def test_a_page_that_failed_with_500_is_listed_and_stored_by_failures_retry(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    start_worker()
    broken = http_server.route("/down", Reply(500, b"oops"))
    ingested = newsflow("ingest", broken, "--wait", "--timeout", "60")
    assert ingested.returncode == 1
    listed = newsflow("failures", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [failure] = json.loads(listed.stdout)
    assert (failure["stage"], failure["item"], failure["reason"]) == ("fetch", broken, "http_500")
    assert failure["attempts"] == 1 + int(os.environ["NEWSFLOW_MAX_RETRIES"])
    assert failure["retryable"] is True and failure["first_seen"] <= failure["last_seen"]
    assert newsflow("failures", "list", "--stage", "store", "--json").stdout.strip() == "[]"

    http_server.route("/down", Reply(200, story(1), HTML))  # the server is fixed
    retried = newsflow("failures", "retry", "--wait", "--timeout", "60")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "replayed 1 failure" in retried.stdout
    assert stored_urls(settings) == [broken]
    assert json.loads(newsflow("failures", "list", "--json").stdout) == []
    [resolved] = json.loads(newsflow("failures", "list", "--all", "--json").stdout)
    assert resolved["resolved"] is True and resolved["replays"] == 1


def test_a_later_stage_is_replayed_from_the_stored_page_without_refetching(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    from pipeline import stages
    from pipeline.errors import TimeLimit

    url = http_server.route("/slow-to-parse", Reply(200, story(2), HTML))
    ref = stages.fetch_stage(url, settings)
    # As if clean had been killed by its time limit on this page.
    stages.record_failure(
        settings,
        stage="clean",
        item=stages.page_item(ref.page_id),
        error=TimeLimit("clean took too long"),
        page_id=ref.page_id,
        payload=stages.page_payload(ref),
    )
    start_worker()
    [failure] = json.loads(newsflow("failures", "list", "--stage", "clean", "--json").stdout)
    retried = newsflow("failures", "retry", "--id", str(failure["id"]), "--wait", "--timeout", "60")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert stored_urls(settings) == [url]
    assert http_server.count("/slow-to-parse") == 1  # fetched once, before the failure


# --- limits on one task ------------------------------------------------------------------------


def test_a_page_over_the_parse_time_limit_is_recorded_and_the_worker_goes_on(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    paragraph = "<p>" + "The committee reviewed every clause of the long report again. " * 30
    huge = "<html><body><article>" + (paragraph + "</p>") * 4000 + "</article></body></html>"
    worker = start_worker(
        extra_env={"NEWSFLOW_PARSE_TIME_LIMIT": "1", "NEWSFLOW_MAX_BYTES": str(20 << 20)}
    )
    slow = http_server.route("/huge", Reply(200, huge.encode(), HTML))
    good = http_server.route("/fine", Reply(200, story(3), HTML))
    newsflow("ingest", slow, "--wait", "--timeout", "90")
    with session_scope(settings) as session:
        [failure] = session.exec(select(Failure)).all()
    assert (failure.stage, failure.reason) in {("clean", "time_limit"), ("extract", "time_limit")}
    assert worker.alive()
    assert newsflow("ingest", good, "--wait", "--timeout", "60").returncode == 0
    assert stored_urls(settings) == [good]


def test_a_task_whose_process_dies_every_time_is_recorded_as_worker_lost(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    worker = start_worker(
        "--queues", "fetch", "--pool", "prefork", extra_env={"NEWSFLOW_MAX_RETRIES": "1"}
    )
    slow = http_server.route("/slow", Reply(200, story(4), HTML, delay=10.0))
    send_all([slow])
    hostname = worker_hostname(celery_app, worker)
    killed: set[int] = set()

    def running() -> int | None:
        active = (celery_app.control.inspect([hostname], timeout=1.0).active() or {}).get(
            hostname, []
        )
        pids = [task["worker_pid"] for task in active if task["name"] == "newsflow.fetch"]
        return next((pid for pid in pids if pid not in killed), None)

    for attempt in range(1, 3):
        # Kill the pool process while it waits for the page, as the OOM killer would.
        wait_until(lambda tries=attempt: http_server.count("/slow") >= tries, timeout=30)
        pid = wait_until(running, timeout=30, interval=0.2)
        os.kill(pid, signal.SIGKILL)
        killed.add(pid)

    def recorded() -> Failure | None:
        with session_scope(settings) as session:
            return session.exec(select(Failure)).first()

    failure = wait_until(recorded, timeout=60, interval=0.3)
    assert (failure.stage, failure.item, failure.reason) == ("fetch", slow, "worker_lost")
    assert failure.attempts == 2  # NEWSFLOW_MAX_RETRIES=1
    assert failure.payload and failure.payload["source"] == slow
    assert worker.alive()


def test_reconcile_sends_on_a_page_whose_chain_was_lost_once_only(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    from pipeline import stages
    from pipeline.errors import EmptyDocument

    stopped = http_server.route("/stopped", Reply(200, story(5), HTML))
    finished = http_server.route("/finished", Reply(200, story(6), HTML))
    failed = http_server.route(
        "/failed", Reply(200, b"<html><body><nav>x</nav></body></html>", HTML)
    )
    # As if the broker had lost the clean message after the fetch: a page and nothing else.
    stages.fetch_stage(stopped, settings)
    stages.run_local(finished, settings)
    with pytest.raises(EmptyDocument):
        stages.run_local(failed, settings)  # recorded as a failure
    start_worker()

    swept = newsflow("reconcile", "--older-than", "0")
    assert "sent on 1 unfinished page" in swept.stdout, swept.stdout + swept.stderr
    wait_until(lambda: stopped in stored_urls(settings), timeout=60)
    assert newsflow("reconcile", "--older-than", "0").stdout.strip().startswith("sent on 0")
    assert sorted(stored_urls(settings)) == sorted([stopped, finished])
    assert http_server.count("/stopped") == 1  # sent on from its stored page, not refetched
    [lost] = [
        row
        for row in json.loads(newsflow("failures", "list", "--all", "--json").stdout)
        if row["reason"] == "message_lost"
    ]
    assert lost["resolved"] and lost["stage"] == "clean"
