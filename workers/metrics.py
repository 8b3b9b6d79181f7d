"""Prometheus metrics from a worker: how each stage's runs end, how long they take, and the
queues' depths, served on ``NEWSFLOW_METRICS_ADDRESS:NEWSFLOW_METRICS_PORT`` at ``/metrics``.

The prefork pool runs tasks in processes forked from the worker's main process, so the
metrics use prometheus-client's multiprocess mode: every process writes its values to files
in a private folder, and the main process adds them up when scraped. The folder is made and
the server started in the main process once the worker is set up (``celeryd_after_setup``:
its logging is on, so a port already taken is reported; ``worker_init`` comes before that),
and before the pool forks. The folder is removed at ``worker_shutdown``. The threads and
solo pools run tasks in the main process, which writes to the same folder.

In any other process (the command line, tests) nothing is started and :func:`count` and
:func:`timed` do nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from celery.signals import (
    celeryd_after_setup,
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
)
from celery.utils.log import get_logger
from redis import Redis

from pipeline import STAGES
from pipeline.errors import BrokerUnavailable
from pipeline.settings import Settings

from .app import settings_of
from .broker import broker_errors
from .health_gauge import HealthCollector
from .queues import broker_client, queue_depths

logger = get_logger(__name__)

# How a stage's run ended: its result handed on; retried for a transient error (an attempt
# spent); sent again later without spending an attempt (the host's rate limit, or Redis or
# the database away); or recorded as a failure for good.
OUTCOMES = ("ok", "retried", "waited", "failed")
# From a quick extract (milliseconds) to a fetch near its two-minute limit.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
# Held messages read per scrape, at most: a scrape must stay cheap for Redis.
SCRAPE_UNACKED_LIMIT = 5_000


@dataclass
class _Serving:
    """What a worker with metrics on holds: its metrics, their folder and the HTTP server."""

    tasks: Any  # prometheus_client.Counter
    duration: Any  # prometheus_client.Histogram
    cpu: Any  # prometheus_client.Counter
    folder: str
    server: Any  # wsgiref's server, serving on its own thread


_serving: _Serving | None = None


def count(stage: str, outcome: str) -> None:
    """Count one run of ``stage`` that ended as ``outcome`` (one of :data:`OUTCOMES`)."""
    serving = _serving
    if serving is not None:
        serving.tasks.labels(stage=stage, outcome=outcome).inc()


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Time the block as one call of ``stage``, however it ends: its wall-clock time, and the
    CPU time this process spent on it."""
    serving = _serving
    if serving is None:
        yield
        return
    # This thread's CPU: a threads pool runs many tasks at once in one process.
    started, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        serving.duration.labels(stage=stage).observe(time.perf_counter() - started)
        serving.cpu.labels(stage=stage).inc(time.thread_time() - cpu)


def start(settings: Settings) -> bool:
    """Serve this worker's metrics, unless the port is 0; False when it is not serving.

    A port already taken is logged and the worker goes on without metrics: an endpoint is
    not worth a worker that will not start.
    """
    global _serving
    if settings.metrics_port == 0 or _serving is not None:
        return False
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    folder = tempfile.mkdtemp(prefix="newsflow-metrics-")
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=folder)
    # Multiprocess mode takes no collectors in the pool's processes; this one runs here, in
    # the process that answers the scrape, so it is fine beside the files.
    registry.register(QueueCollector(settings))
    registry.register(HealthCollector(settings))
    try:
        server, _thread = start_http_server(
            settings.metrics_port, settings.metrics_address, registry=registry
        )
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        logger.warning(
            "metrics: cannot listen on %s:%d (%s); this worker runs without metrics "
            "(give each worker on a host its own port: --metrics-port, 0 for none)",
            settings.metrics_address,
            settings.metrics_port,
            error,
        )
        return False
    _serving = _Serving(*_multiprocess_metrics(folder), folder=folder, server=server)
    logger.info(
        "metrics: serving http://%s:%d/metrics (values kept in %s)",
        settings.metrics_address,
        settings.metrics_port,
        folder,
    )
    return True


def _multiprocess_metrics(folder: str) -> tuple[Any, Any, Any]:
    """The stage counters and histogram, their values kept in files in ``folder``."""
    from prometheus_client import Counter, Histogram, values

    # Forked pool processes inherit the variable, and with it the folder to write to.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    # prometheus-client chooses how to keep values when it is first imported, before the
    # variable was set here: let it choose again, by its own rule, before any value exists.
    values.ValueClass = values.get_value_class()
    # Not in the default registry: the scrape reads the files, so registering them there
    # would report every value twice.
    tasks = Counter(
        "newsflow_stage_tasks",
        "Runs of each stage, by how they ended: ok, retried, waited or failed.",
        ["stage", "outcome"],
        registry=None,
    )
    duration = Histogram(
        "newsflow_stage_duration_seconds",
        "Seconds each call of a stage took, whatever its outcome.",
        ["stage"],
        buckets=DURATION_BUCKETS,
        registry=None,
    )
    # CPU, beside the wall-clock duration: what a stage costs the machine, waits left out. The
    # rest of a pool process's CPU is Celery's own work around the tasks.
    cpu = Counter(
        "newsflow_stage_cpu_seconds",
        "CPU seconds the worker's processes spent running each stage.",
        ["stage"],
        registry=None,
    )
    # Every series from the start, at 0: a rate or an alert on a series that appears only at
    # its first event misses that event.
    for stage in STAGES:
        duration.labels(stage=stage)
        cpu.labels(stage=stage)
        for outcome in OUTCOMES:
            tasks.labels(stage=stage, outcome=outcome)
    return tasks, duration, cpu


def stop() -> None:
    """Stop serving and remove the folder of values (the worker is shutting down)."""
    global _serving
    serving, _serving = _serving, None
    if serving is None:
        return
    from prometheus_client import values

    serving.server.shutdown()
    serving.server.server_close()
    values.close_all_multiprocess_files()
    shutil.rmtree(serving.folder, ignore_errors=True)
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


class QueueCollector:
    """The queues' depths, read from Redis when Prometheus scrapes, not polled in between."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Redis | None = None

    def describe(self) -> list[Any]:
        # Names only, so that registering this collector does not ask Redis.
        return list(self._families())

    def collect(self) -> Iterator[Any]:
        waiting, held, later, due, up = self._families()
        if self._client is None:
            self._client = broker_client(self.settings)
        try:
            with broker_errors(self.settings.broker_url):
                depths = queue_depths(
                    self._client, self.settings, unacked_limit=SCRAPE_UNACKED_LIMIT
                )
        except BrokerUnavailable as error:
            logger.warning("metrics: cannot read the queues from Redis: %s", error.__cause__)
            up.add_metric([], 0)
            yield up
            return
        for queue, count in depths.waiting.items():
            waiting.add_metric([queue], count)
            held.add_metric([queue], depths.unacked[queue])
            later.add_metric([queue], depths.delayed[queue].count)
            if depths.delayed[queue].next_due is not None:
                due.add_metric([queue], depths.delayed[queue].next_due)
        up.add_metric([], 1)
        yield from (waiting, held, later, due, up)

    @staticmethod
    def _families() -> tuple[Any, Any, Any, Any, Any]:
        from prometheus_client.core import GaugeMetricFamily

        return (
            GaugeMetricFamily(
                "newsflow_queue_depth", "Messages waiting in each queue.", labels=["queue"]
            ),
            GaugeMetricFamily(
                "newsflow_queue_unacked",
                "Messages of each queue taken by a worker and not yet acknowledged: running "
                "or prefetched.",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "newsflow_queue_delayed",
                "Messages of each queue waiting in Redis for a rate slot, a retry or a "
                "Retry-After.",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "newsflow_queue_delayed_next_due_timestamp_seconds",
                "When the first delayed message of each queue is due (epoch seconds); one far "
                "in the past means no worker is moving them.",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "newsflow_broker_up", "1 when Redis answered this scrape's look at the queues."
            ),
        )


@celeryd_after_setup.connect
def _serve(instance: Any = None, **_: Any) -> None:
    try:
        start(settings_of(instance.app))
    except Exception:
        logger.exception("metrics: could not start; this worker runs without metrics")


@worker_process_init.connect
def _drop_listener(**_: Any) -> None:
    # A forked pool process inherits the listening socket; only the main process answers.
    if _serving is not None:
        _serving.server.socket.close()


@worker_process_shutdown.connect
def _process_gone(pid: int | None = None, **_: Any) -> None:
    # The bookkeeping prometheus-client asks for when a process of the pool exits. Its
    # counts stay: they are part of the worker's totals.
    if _serving is not None and pid is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, _serving.folder)


@worker_shutdown.connect
def _stop(**_: Any) -> None:
    stop()
