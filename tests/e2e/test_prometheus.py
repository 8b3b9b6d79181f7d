"""The workers' Prometheus endpoints against real workers: every outcome of every stage
counted across pool processes, a solo worker's folder of values removed when it stops, and a
worker whose port is taken going on without metrics. Every wait is bounded."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from pipeline.settings import Settings
from tests.conftest import WorkerProcess, free_port, wait_until
from tests.e2e.stories import HTML, STAGES, article_count, open_failures, send, story
from tests.httpserver import LocalServer, Reply

OUTCOMES = ("ok", "retried", "waited", "failed")


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
    # Two pages of a slow host (under another name, so it has its own rate limit): its
    # robots.txt takes the first turn, and each page waits for its own, without spending an
    # attempt.
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
            sum(outcomes(samples, "fetch").values()) >= 10
            and outcomes(samples, "extract")["ok"] >= 6
        )
        waiting = value(samples, "newsflow_queue_depth", queue="store") >= 6
        return samples if done and waiting else None

    samples = wait_until(through_extract, timeout=120, interval=0.5)
    assert outcomes(samples, "fetch") == {"ok": 6, "retried": 1, "waited": 2, "failed": 1}
    assert outcomes(samples, "clean") == {"ok": 6, "retried": 0, "waited": 0, "failed": 0}
    assert outcomes(samples, "extract") == {"ok": 6, "retried": 0, "waited": 0, "failed": 0}
    assert outcomes(samples, "store") == {"ok": 0, "retried": 0, "waited": 0, "failed": 0}
    # Every call is timed, whatever its outcome.
    assert [calls(samples, stage) for stage in STAGES] == [10, 6, 6, 0]
    # And their CPU: parsing six pages costs something, storing none costs nothing.
    cpu = {
        stage: value(samples, "newsflow_stage_cpu_seconds_total", stage=stage) for stage in STAGES
    }
    assert cpu["clean"] > 0 and cpu["extract"] > 0 and cpu["store"] == 0
    assert {queue: value(samples, "newsflow_queue_depth", queue=queue) for queue in STAGES} == {
        "fetch": 0,
        "clean": 0,
        "extract": 0,
        "store": 6,
    }
    assert all(value(samples, "newsflow_queue_unacked", queue=queue) == 0 for queue in STAGES)
    # The retry and the wait above were kept in Redis and are long since moved back.
    assert all(value(samples, "newsflow_queue_delayed", queue=queue) == 0 for queue in STAGES)
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
