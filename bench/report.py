"""The figures of a run and how they are shown: a table for people, or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.costs import Checkpoint, Costs


@dataclass
class RunResult:
    """One run's figures, as the table and the JSON show them."""

    name: str
    pages: int
    stored: int
    failed: int
    unfinished: int
    rows: int
    wall_s: float
    articles_per_s: float
    p50_ms: float | None
    p95_ms: float | None
    processes: int
    errors: list[str]
    costs: Costs | None = None  # the celery run's CPU per process kind, and memory
    checkpoints: list[Checkpoint] = field(default_factory=list)  # a long run's progress
    # The local run's store stage with the source-health bookkeeping and without it (every
    # other article in turn), and the bookkeeping's own time, per article.
    store_ms: float | None = None
    store_uncounted_ms: float | None = None
    health_ms: float | None = None


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(
    name: str,
    pages: int,
    stored: int,
    failed: int,
    wall: float,
    latencies: list[float],
    rows: int,
    processes: int,
    errors: list[str],
) -> RunResult:
    """The run's figures from its counts and latencies (seconds), rounded as reported."""
    p50 = percentile(latencies, 0.50)
    p95 = percentile(latencies, 0.95)
    return RunResult(
        name=name,
        pages=pages,
        stored=stored,
        failed=failed,
        unfinished=pages - stored - failed,
        rows=rows,
        wall_s=round(wall, 3),
        articles_per_s=round(stored / wall, 3) if wall > 0 else 0.0,
        p50_ms=None if p50 is None else round(p50 * 1000, 1),
        p95_ms=None if p95 is None else round(p95 * 1000, 1),
        processes=processes,
        errors=errors[:5],
    )


def report(results: list[RunResult], meta: dict[str, Any], as_json: bool) -> None:
    """Print the runs side by side, with the ratio of their rates, as a table or as JSON."""
    by_name = {result.name: result for result in results}
    celery, local = by_name.get("celery"), by_name.get("local")
    ratio = None
    if celery and local and local.articles_per_s:
        ratio = round(celery.articles_per_s / local.articles_per_s, 3)
    if as_json:
        payload = {
            **meta,
            "runs": [asdict(result) for result in results],
            "ratio_celery_over_local": ratio,
        }
        print(json.dumps(payload, indent=2))
        return

    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console = Console(width=max(console.width, 100))  # piped output defaults to 80 columns
    table = Table(title=f"newsflow pipeline, {meta['pages']} pages", box=box.SIMPLE_HEAD)
    for column in (
        "run",
        "procs",
        "pages",
        "stored",
        "failed",
        "rows",
        "wall s",
        "art/s",
        "p50 ms",
        "p95 ms",
    ):
        table.add_column(column, justify="left" if column == "run" else "right", no_wrap=True)
    for result in results:
        table.add_row(
            result.name,
            str(result.processes),
            str(result.pages),
            str(result.stored),
            str(result.failed),
            str(result.rows),
            f"{result.wall_s:.2f}",
            f"{result.articles_per_s:.2f}",
            _ms(result.p50_ms),
            _ms(result.p95_ms),
        )
    console.print(table)
    if ratio is not None and celery is not None:
        console.print(
            f"celery/local articles/s: [bold]{ratio:.2f}x[/bold]  (celery runs "
            f"{celery.processes} worker process(es), local runs one: the ratio is parallelism "
            "minus the cost of the broker, the result backend and the four hand-offs)"
        )
    for result in results:
        if result.costs is not None:
            _print_costs(console, result.costs)
        if result.checkpoints:
            _print_checkpoints(console, result.checkpoints)
    for result in results:
        if result.health_ms is not None and result.store_ms and result.store_uncounted_ms:
            added = result.store_ms - result.store_uncounted_ms
            console.print(
                f"source health bookkeeping ({result.name} run, every other article without "
                f"it): store stage {result.store_ms:.2f} ms with it, "
                f"{result.store_uncounted_ms:.2f} ms without: [bold]{added:+.2f} ms[/bold] per "
                f"article; the bookkeeping's own calls {result.health_ms:.3f} ms"
            )
    for result in results:
        if result.unfinished:
            console.print(f"[yellow]{result.name}: {result.unfinished} item(s) unfinished[/]")
        for error in result.errors:
            console.print(f"[red]{result.name} failure:[/] {error}", markup=True, highlight=False)
    console.print(
        f"cores: {meta['cores']}   date: {meta['date']}   python: {meta['python']}   "
        "\nstored = chains that succeeded; rows = distinct articles in the database (copies of "
        "a page that declares its canonical URL are upserted into one row); art/s = stored / "
        "wall s"
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _print_costs(console: Any, costs: Costs) -> None:
    """CPU milliseconds per article by kind of process, the pure work beside them, and the
    worker's memory."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"CPU per article, celery run ({costs.articles} articles, worker start left out)",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("process", no_wrap=True)
    table.add_column("ms/article", justify="right")
    table.add_column("share", justify="right")
    rows = [
        ("worker main process", costs.main_ms),
        *((f"pool: {stage} (task's own)", ms) for stage, ms in costs.stages_ms.items()),
        ("pool: Celery around the tasks", costs.celery_in_pool_ms),
        ("Redis (INFO cpu)", costs.redis_ms),
        ("producer (sending, reading results)", costs.producer_ms),
    ]
    for name, ms in rows:
        table.add_row(name, f"{ms:.1f}", _share(ms, costs.total_ms))
    table.add_row("[bold]all[/]", f"[bold]{costs.total_ms:.1f}[/]", "1.00")
    console.print(table)
    if costs.pure_ms is not None:
        console.print(
            f"pure clean + extract, one process, same pages: {costs.pure_ms:.1f} ms/article; "
            f"[bold]extraction share {costs.share:.2f}[/] (pure / all)"
        )
    console.print(
        f"worker resident MB (main, then each pool process): start {costs.rss_start_mb}, "
        f"end {costs.rss_end_mb}"
    )


def _print_checkpoints(console: Any, checkpoints: list[Checkpoint]) -> None:
    from rich import box
    from rich.table import Table

    table = Table(title="celery run, every stretch of articles", box=box.SIMPLE_HEAD)
    for column in ("articles", "seconds", "art/s in the stretch", "resident MB (main, pool)"):
        table.add_column(column, justify="right", no_wrap=True)
    for point in checkpoints:
        table.add_row(
            str(point.articles),
            f"{point.seconds:.0f}",
            f"{point.rate:.2f}",
            ", ".join(f"{mb:.0f}" for mb in point.rss_mb),
        )
    console.print(table)


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.2f}" if whole else "-"
