"""``newsflow status``: the whole pipeline on one screen.

The queues come from Redis, the workers from Celery's remote control (one short broadcast),
and everything else from the database (:mod:`pipeline.store.stats`). When Redis does not
answer, the report says so and still holds what the database knows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from kombu.utils.url import maybe_sanitize_url
from pydantic import BaseModel
from rich import box
from rich.columns import Columns
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline.errors import BrokerUnavailable
from pipeline.settings import Settings
from pipeline.store import stats
from pipeline.store.db import session_scope
from pipeline.version import extractor_version

from .broker import broker_errors
from .config import celery_config
from .queues import broker_client, queue_depths

# How long workers get to answer. Celery waits this long in full for the first question,
# since it cannot know how many workers there are; the next two end once all have answered.
WORKER_TIMEOUT = 1.5
# Rows of the failures table on screen; the rest are summed up in one line.
FAILURE_ROWS = 8


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


class StatusReport(BaseModel):
    generated_at: datetime
    broker: str
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
    reprocessing: stats.Reprocessing


def collect(settings: Settings) -> StatusReport:
    """Everything ``newsflow status`` shows, read now."""
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        articles = stats.article_counts(session, now=now)
        failures = stats.open_failures(session)
        sources = stats.source_counts(session, now=now)
        reprocessing = stats.reprocessing(session, current_version=extractor_version())
    report = StatusReport(
        generated_at=now,
        broker=maybe_sanitize_url(settings.broker_url),
        queues=[],
        workers=[],
        articles=articles,
        open_failures=sum(failure.count for failure in failures),
        failures=failures,
        sources=sources,
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
            report.workers = _workers(settings)
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


def _workers(settings: Settings) -> list[WorkerStatus]:
    """Every worker that answers within WORKER_TIMEOUT: its pool, queues and tasks."""
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
    return [
        _worker(host, stats_by_host[host], queues_by_host.get(host), active_by_host.get(host))
        for host in hosts
    ]


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


# --- on screen ---------------------------------------------------------------------------------


def render(report: StatusReport, console: Console) -> None:
    """The report on one screen: queues and workers, then the store in four small tables."""
    console.print(
        f"[bold]newsflow status[/bold]  {report.generated_at:%Y-%m-%d %H:%M:%S} UTC  "
        f"[dim]broker[/dim] {escape(report.broker)}  [dim]extractor[/dim] "
        f"{escape(report.reprocessing.current_version)}",
        highlight=False,
    )
    if report.broker_error:
        console.print(f"[red]{escape(report.broker_error)}[/red]; queues and workers are unknown")
    else:
        console.print(
            Columns(
                [_queues(report), _workers_table(report)] if report.workers else [_queues(report)]
            )
        )
        if report.workers_error:
            console.print(f"[yellow]workers:[/yellow] {escape(report.workers_error)}")
    console.print(
        Columns(
            [
                _articles(report.articles),
                _failures(report),
                _sources(report.sources),
                _reprocessing(report.reprocessing),
            ]
        )
    )
    if report.sources.failing_sources:
        console.print(_failing_sources(report.sources))


def _table(title: str, *columns: str, header: bool = True) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        show_header=header,
        padding=(0, 1),
    )
    for column in columns:
        # A column whose name ends in a space holds words; the others hold figures.
        table.add_column(column.strip(), justify="left" if column.endswith(" ") else "right")
    return table


def _queues(report: StatusReport) -> Table:
    unacked = "unacked" if report.unacked_complete else "unacked (partial)"
    table = _table("queues", "queue ", "waiting", unacked, "delayed", "next due", "tasks ")
    for queue in report.queues:
        table.add_row(
            Text(queue.queue),
            _figure(queue.waiting, alert=queue.waiting > 0),
            str(queue.unacked),
            str(queue.delayed),
            _due(queue.next_due, report.generated_at),
            Text(", ".join(queue.tasks)),
        )
    return table


def _moment(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def _due(moment: datetime | None, now: datetime) -> str:
    """When the first delayed message is due; overdue ones (no worker moving them) in red."""
    if moment is None:
        return "-"
    seconds = (moment - now).total_seconds()
    if seconds < -5:
        return f"[red]{-seconds:.0f}s late[/red]"
    return f"in {max(0.0, seconds):.0f}s"


def _workers_table(report: StatusReport) -> Table:
    table = _table("workers", "worker ", "pool ", "size", "queues ", "active", "processed")
    for worker in report.workers:
        table.add_row(
            Text(worker.hostname),
            Text(worker.pool),
            str(worker.concurrency),
            Text(", ".join(worker.queues)),
            str(worker.active),
            str(worker.processed),
        )
    return table


def _articles(articles: stats.ArticleCounts) -> Table:
    return _counts(
        "articles",
        {
            "total": articles.total,
            "new, last hour": articles.created_last_hour,
            "new, last day": articles.created_last_day,
            "updated, last hour": articles.updated_last_hour,
            "duplicates": articles.duplicates,
        },
    )


def _failures(report: StatusReport) -> Table:
    table = _table(f"open failures ({report.open_failures})", "stage ", "reason ", "count")
    for failure in report.failures[:FAILURE_ROWS]:
        table.add_row(Text(failure.stage), Text(failure.reason), _figure(failure.count, alert=True))
    rest = report.failures[FAILURE_ROWS:]
    if rest:
        table.add_row("", f"{len(rest)} more reasons", str(sum(f.count for f in rest)))
    return table


def _sources(sources: stats.SourceCounts) -> Table:
    failing = _figure(sources.failing, alert=sources.failing > 0)
    return _counts(
        "sources",
        {
            "total": sources.total,
            "due now": sources.due,
            "paused": sources.paused,
            "failing": failing,
        },
    )


def _counts(title: str, rows: dict[str, int | str | Text]) -> Table:
    """A small table of figures, each beside its label."""
    table = _table(title, "what ", "count", header=False)
    for label, figure in rows.items():
        table.add_row(label, str(figure) if isinstance(figure, int) else figure)
    return table


def _reprocessing(reprocessing: stats.Reprocessing) -> Table:
    table = _table(f"older extractors ({reprocessing.outdated})", "version ", "articles")
    for version in reprocessing.by_version[:FAILURE_ROWS]:
        table.add_row(Text(version.extractor_version), str(version.count))
    return table


def _failing_sources(sources: stats.SourceCounts) -> Table:
    table = _table("failing sources", "id", "source ", "errors", "last error ")
    for source in sources.failing_sources:
        table.add_row(
            str(source.id),
            Text(f"{source.name} ({source.url})" if source.name else source.url),
            _figure(source.errors_in_row, alert=True),
            Text(source.last_error or ""),
        )
    if sources.failing > len(sources.failing_sources):
        table.caption = f"{sources.failing - len(sources.failing_sources)} more not shown"
    return table


def _figure(value: int, *, alert: bool) -> str:
    return f"[yellow]{value}[/yellow]" if alert and value else str(value)
