"""``newsflow status``: what the whole pipeline is doing, read now (shown by
:mod:`workers.status_screen`).

The queues come from Redis, the workers from Celery's remote control (one short broadcast),
and everything else from the database (:mod:`pipeline.store.stats`). When Redis does not
answer, the report says so and still holds what the database knows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from kombu.utils.url import maybe_sanitize_url
from pydantic import BaseModel

from pipeline.errors import BrokerUnavailable
from pipeline.health.report import AlarmReport, degraded, source_health
from pipeline.settings import Settings
from pipeline.store import stats
from pipeline.store.db import session_scope
from pipeline.store.urls import shown
from pipeline.version import extractor_version

from .broker import broker_errors
from .config import celery_config
from .effective_settings import (
    SettingDifference,
    ask_workers,
    differences,
    digest,
    effective_settings,
)
from .queues import broker_client, queue_depths

# How long workers get to answer. Celery waits this long in full for the first question,
# since it cannot know how many workers there are; the next two end once all have answered.
WORKER_TIMEOUT = 1.5


class QueueStatus(BaseModel):
    queue: str
    tasks: list[str]  # the tasks routed to this queue
    waiting: int
    unacked: int  # taken by a worker, not yet acknowledged: running or prefetched
    delayed: int = 0  # waiting in Redis for a rate slot, a retry's backoff or a Retry-After
    next_due: datetime | None = None  # when the first of those is due


class WorkerStatus(BaseModel):
    hostname: str
    pid: int | None
    pool: str  # prefork, threads, solo, ...
    concurrency: int  # the pool's limit: processes or threads
    processes: int | None  # live pool processes (prefork, solo); None for threads
    queues: list[str]
    active: int  # tasks running now
    processed: int  # tasks started since the worker started, each retry again
    processed_by_task: dict[str, int]
    # The settings that decide an item's outcome, where they differ from this command's;
    # None when the worker did not say (an older newsflow).
    settings_digest: str | None = None
    differences: list[SettingDifference] | None = None


class DegradedSource(BaseModel):
    """A source (or the host of pages from no source) whose recent pages have drifted."""

    scope: str
    source_id: int | None
    name: str | None
    url: str | None
    since: datetime | None  # the first page of the window that raised the alarm
    alarms: list[AlarmReport]


class SourceStates(BaseModel):
    ok: int
    degraded: int
    learning: int  # too few pages yet for alarms to speak


class StatusReport(BaseModel):
    generated_at: datetime
    broker: str
    database: str  # this command's, password hidden; each worker's differs only if it says
    # Why the queues and workers are missing, when they are.
    broker_error: str | None = None
    queues: list[QueueStatus]
    unacked_total: int | None = None
    # False when there were too many held messages to count them all per queue.
    unacked_complete: bool = True
    workers: list[WorkerStatus]
    workers_error: str | None = None
    articles: stats.ArticleCounts
    open_failures: int
    failures: list[stats.FailureCount]
    sources: stats.SourceCounts
    health: SourceStates  # of the sources only; hosts are in sources_degraded when degraded
    sources_degraded: list[DegradedSource]
    reprocessing: stats.Reprocessing


def collect(settings: Settings) -> StatusReport:
    """Everything ``newsflow status`` shows, read now."""
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        articles = stats.article_counts(session, now=now)
        failures = stats.open_failures(session)
        sources = stats.source_counts(session, now=now)
        reprocessing = stats.reprocessing(session, current_version=extractor_version())
    health = source_health(settings, now=now)
    states = Counter(
        scope.state for scope in health if scope.source_id is not None and not scope.paused
    )
    report = StatusReport(
        generated_at=now,
        broker=maybe_sanitize_url(settings.broker_url),
        database=shown(settings.database),
        queues=[],
        workers=[],
        articles=articles,
        open_failures=sum(failure.count for failure in failures),
        failures=failures,
        sources=sources,
        health=SourceStates(
            ok=states["ok"], degraded=states["degraded"], learning=states["learning"]
        ),
        sources_degraded=[
            DegradedSource(
                scope=scope.scope,
                source_id=scope.source_id,
                name=scope.name,
                url=scope.url,
                since=scope.degraded_since,
                alarms=scope.alarms,
            )
            for scope in degraded(health)
        ],
        reprocessing=reprocessing,
    )
    client = broker_client(settings)
    try:
        with broker_errors(settings.broker_url):
            client.ping()
            depths = queue_depths(client, settings)
    except BrokerUnavailable as error:
        report.broker_error = str(error)
        # Unknown, not empty: a script reading the JSON must not take them for "none".
        report.unacked_complete = False
        report.workers_error = "not asked: the broker does not answer"
        return report
    finally:
        client.close()
    routed = _routed_tasks(settings)
    report.queues = [
        QueueStatus(
            queue=queue,
            tasks=routed.get(queue, []),
            waiting=waiting,
            unacked=depths.unacked[queue],
            delayed=depths.delayed[queue].count,
            next_due=_moment(depths.delayed[queue].next_due),
        )
        for queue, waiting in depths.waiting.items()
    ]
    report.unacked_total = depths.unacked_total
    report.unacked_complete = depths.unacked_complete
    try:
        with broker_errors(settings.broker_url):
            report.workers = _workers(settings, effective_settings(settings))
    except BrokerUnavailable as error:
        report.workers_error = f"could not ask the workers: {error.__cause__}"
    else:
        if not report.workers:
            report.workers_error = f"no worker answered within {WORKER_TIMEOUT:g}s"
    return report


def _routed_tasks(settings: Settings) -> dict[str, list[str]]:
    routed: dict[str, list[str]] = defaultdict(list)
    for task, route in sorted(celery_config(settings)["task_routes"].items()):
        routed[route["queue"]].append(task.removeprefix("newsflow."))
    return routed


def _workers(settings: Settings, here: dict[str, str]) -> list[WorkerStatus]:
    """Every worker that answers within WORKER_TIMEOUT: its pool, queues, tasks, and how its
    settings differ from ``here``."""
    from .app import get_app

    app = get_app()
    with app.connection_for_read(settings.broker_url) as connection:
        everyone = app.control.inspect(timeout=WORKER_TIMEOUT, connection=connection)
        stats_by_host: dict[str, Any] = everyone.stats() or {}
        if not stats_by_host:
            return []
        # Only those that answered, and only until all of them have.
        hosts = sorted(stats_by_host)
        answered = app.control.inspect(
            destination=hosts, timeout=WORKER_TIMEOUT, connection=connection, limit=len(hosts)
        )
        queues_by_host: dict[str, Any] = answered.active_queues() or {}
        active_by_host: dict[str, Any] = answered.active() or {}
        settings_by_host = ask_workers(
            app,
            timeout=WORKER_TIMEOUT,
            destination=hosts,
            limit=len(hosts),
            connection=connection,
        )
    workers = [
        _worker(host, stats_by_host[host], queues_by_host.get(host), active_by_host.get(host))
        for host in hosts
    ]
    for worker in workers:
        theirs = settings_by_host.get(worker.hostname)
        if theirs is not None:
            worker.settings_digest = digest(theirs)
            worker.differences = differences(here, theirs)
    return workers


def _worker(host: str, info: dict[str, Any], queues: Any, active: Any) -> WorkerStatus:
    pool = info.get("pool") or {}
    # "celery.concurrency.prefork:TaskPool" -> "prefork"; the threads pool's module is "thread".
    implementation = str(pool.get("implementation", "?")).split(":")[0].rsplit(".", 1)[-1]
    processes = pool.get("processes")
    totals = {
        task.removeprefix("newsflow."): int(count)
        for task, count in (info.get("total") or {}).items()
    }
    return WorkerStatus(
        hostname=host,
        pid=info.get("pid"),
        pool={"thread": "threads"}.get(implementation, implementation),
        concurrency=int(pool.get("max-concurrency") or 0),
        processes=len(processes) if isinstance(processes, list) else None,
        queues=sorted(queue["name"] for queue in queues or ()),
        active=len(active or ()),
        processed=sum(totals.values()),
        processed_by_task=totals,
    )


def _moment(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None
