"""``newsflow status`` on screen: queues and workers, then the store in small tables.

Tables hold figures; anything holding a URL or a message is printed as lines that are never
folded, so that a URL stays whole to be read and copied, whatever the terminal's width.
"""

from __future__ import annotations

from datetime import datetime

from rich import box
from rich.columns import Columns
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline.store import stats

from .effective_settings import advice, difference_said
from .status import StatusReport

# Rows of the failures table on screen; the rest are summed up in one line.
FAILURE_ROWS = 8


def render(report: StatusReport, console: Console) -> None:
    """The report on one screen: queues and workers, then the store in four small tables."""
    console.print(
        f"[bold]newsflow status[/bold]  {report.generated_at:%Y-%m-%d %H:%M:%S} UTC  "
        f"[dim]extractor[/dim] {escape(report.reprocessing.current_version)}",
        highlight=False,
    )
    # One line each, never folded: a URL cut in two can be neither read nor copied.
    console.print(f"[dim]broker[/dim]   {escape(report.broker)}", highlight=False, soft_wrap=True)
    console.print(f"[dim]database[/dim] {escape(report.database)}", highlight=False, soft_wrap=True)
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
        _settings_differences(report, console)
    console.print(
        Columns(
            [
                _articles(report.articles),
                _failures(report),
                _sources(report),
                _reprocessing(report.reprocessing),
            ]
        )
    )
    if report.sources.failing_sources:
        _failing_sources(report.sources, console)
    if report.sources_degraded:
        _degraded_sources(report, console)


def _settings_differences(report: StatusReport, console: Console) -> None:
    """Each worker setting that differs from this command's, one line each, then what to
    do about them."""
    advised: set[str] = set()
    for worker in report.workers:
        for difference in worker.differences or ():
            said = difference_said(worker.hostname, difference)
            console.print(
                f"[yellow]settings differ:[/yellow] {escape(said)}",
                highlight=False,
                soft_wrap=True,
            )
            advised.add(advice(difference))
    for line in sorted(advised):
        console.print(f"  {line}", highlight=False, soft_wrap=True)


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


def _sources(report: StatusReport) -> Table:
    sources, health = report.sources, report.health
    return _counts(
        "sources",
        {
            "total": sources.total,
            "due now": sources.due,
            "paused": sources.paused,
            "failing": _figure(sources.failing, alert=True),
            "degraded": _figure(health.degraded, alert=True),
            "learning": health.learning,
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


def _failing_sources(sources: stats.SourceCounts, console: Console) -> None:
    """Each failing source in one line, its last error whole (never folded or cut)."""
    console.print("[bold]failing sources[/bold]")
    for source in sources.failing_sources:
        name = f"{source.name} ({source.url})" if source.name else source.url
        # "blocked: <url>: ..." beside the URL shown already reads "blocked: ...".
        error = (source.last_error or "no message").replace(f" {source.url}: ", " ", 1)
        console.print(
            f"  #{source.id} {escape(name)}: [yellow]{source.errors_in_row}[/yellow] in a row; "
            f"{escape(error)}",
            highlight=False,
            soft_wrap=True,
        )
    if sources.failing > len(sources.failing_sources):
        console.print(f"  {sources.failing - len(sources.failing_sources)} more not shown")


def _degraded_sources(report: StatusReport, console: Console) -> None:
    """Each degraded source: its name (or its feed's URL, whole), then what fell, from what
    to what (`newsflow sources health ID` has the figures)."""
    console.print("[bold]sources degraded[/bold]")
    for source in report.sources_degraded:
        if source.source_id is not None:
            name = f"#{source.source_id} {source.name or source.url}"
        else:
            name = f"{source.scope.removeprefix('host:')} (pages from no source)"
        since = f", since {source.since:%Y-%m-%d %H:%M} UTC" if source.since else ""
        console.print(f"  {escape(name)}{since}", highlight=False, soft_wrap=True)
        for alarm in source.alarms:
            console.print(f"    [yellow]{escape(alarm.message)}[/yellow]", highlight=False)


def _figure(value: int, *, alert: bool) -> str:
    return f"[yellow]{value}[/yellow]" if alert and value else str(value)
