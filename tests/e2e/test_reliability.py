"""Nothing lost, nothing duplicated: real workers killed, a real Redis restarted, a real
PostgreSQL cut off. Every wait is bounded. Failures replayed, and the limits on one task, are in
``test_replays.py``."""

from __future__ import annotations

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
from sqlmodel import func, select

from pipeline.settings import Settings, get_settings
from pipeline.store.db import dispose_engines, prepare_database, session_scope
from pipeline.store.tables import Failure, Outbox, RawPage
from tests.conftest import ROOT, RedisServer, WorkerProcess, newsflow, wait_until
from tests.e2e.stories import counts, send_all, serve_stories, stored_urls, story, worker_hostname
from tests.httpserver import LocalServer, Reply
from tests.tcpproxy import TcpProxy

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


# --- a fetch message lost between Redis and the worker -----------------------------------------


def test_a_fetch_message_lost_on_its_way_is_sent_again_by_reconcile_and_stored_once(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    """Kombu takes a message off its queue, then notes it as unacknowledged: a worker killed
    between the two loses it, and Redis keeps no trace. The outbox row does."""
    lost, kept = serve_stories(http_server, 2)
    sent = newsflow("ingest", lost, kept)
    assert sent.returncode == 0, sent.stderr
    broker = redis_client.Redis.from_url(get_settings().broker_url)
    assert broker.llen("fetch") == 2
    dropped = broker.rpop("fetch")  # the first sent, as a worker's BRPOP would take it
    assert dropped is not None and lost.encode() in dropped

    start_worker()
    wait_until(lambda: counts(settings)[0] == 1, timeout=60)
    time.sleep(1)
    assert stored_urls(settings) == [kept] and http_server.count("/story/0") == 0
    # Reconcile, as beat runs it, but without waiting for the usual twice the visibility timeout.
    swept = newsflow("reconcile", "--older-than", "0")
    assert swept.returncode == 0, swept.stderr
    assert "sent on 1" in swept.stdout, swept.stdout
    wait_settled(broker, settings, 2)
    assert counts(settings) == (2, 2, 0)
    assert stored_urls(settings) == sorted([lost, kept])
    assert http_server.count("/story/0") == 1 and http_server.count("/story/1") == 1
    # Nothing more is owed: a second sweep sends nothing, and the trace says what happened.
    again = newsflow("reconcile", "--older-than", "0")
    assert "sent on 0" in again.stdout, again.stdout
    with session_scope(settings) as session:
        owed = session.exec(select(func.count()).select_from(Outbox)).one()
        trace = session.exec(select(Failure).where(Failure.item == lost)).one()
    assert owed == 0
    assert (trace.stage, trace.reason, trace.resolved) == ("fetch", "message_lost", True)
