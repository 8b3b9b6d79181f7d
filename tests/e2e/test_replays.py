"""Failures an operator replays, and limits on one task: a page that failed is listed and
stored by ``failures retry``, a later stage is replayed from the stored page, a page over the
parse time limit or a process that dies every time is recorded, and ``reconcile`` sends on a
page whose chain was lost. Real workers, a real Redis and a real HTTP server; every wait is
bounded."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.tables import Failure
from tests.conftest import WorkerProcess, newsflow, wait_until
from tests.e2e.stories import HTML, send_all, stored_urls, story, worker_hostname
from tests.httpserver import LocalServer, Reply

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
    assert "sent on 1 lost item" in swept.stdout, swept.stdout + swept.stderr
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
