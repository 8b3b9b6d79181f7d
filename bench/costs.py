"""What a celery run costs each kind of process: CPU per article, and resident memory.

- The worker's **main process** (receiving, routing and acknowledging messages) and its **pool
  processes** (running the tasks), read from the operating system; a pool process that has
  exited is counted too, through its parent's account of its children.
- The pool's CPU **per stage**, from the tasks' own timing (the worker's
  ``newsflow_stage_cpu_seconds_total``); the rest of the pool's CPU is Celery's work around
  the tasks: decoding a message, tracing the call, sending the next stage's message.
- **Redis**, from ``INFO cpu``: the whole server, so run the bench on a quiet one.
- The **producer**: this process's thread that sends the chains and reads their results.

The figures cover the run itself, from the first chain sent to the last result, not the
worker's start. **Pure** clean + extract is the same pages decoded, cleaned and extracted in
a new process, with no fetch, database or broker: the work the pipeline exists for. The
**extraction share** is pure over all, per article.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.pages import Page


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds so far of each kind of process, and the worker's resident memory."""

    main_cpu: float
    pool_cpu: float
    redis_cpu: float
    producer_cpu: float
    main_rss: int
    pool_rss: list[int]
    taken_at: float = field(default_factory=time.monotonic)


def snapshot(worker_pid: int, redis_info: dict[str, Any]) -> Snapshot:
    """Read the worker's processes now; ``redis_info`` is ``INFO cpu``, just read."""
    main = psutil.Process(worker_pid)
    times = main.cpu_times()
    pool_cpu = times.children_user + times.children_system  # pool processes already reaped
    pool_rss: list[int] = []
    for child in main.children():
        try:
            child_times = child.cpu_times()
            pool_cpu += child_times.user + child_times.system
            pool_rss.append(child.memory_info().rss)
        except psutil.NoSuchProcess:  # replaced between the listing and the reading
            continue
    return Snapshot(
        main_cpu=times.user + times.system,
        pool_cpu=pool_cpu,
        redis_cpu=float(redis_info["used_cpu_user"]) + float(redis_info["used_cpu_sys"]),
        producer_cpu=time.thread_time(),
        main_rss=main.memory_info().rss,
        pool_rss=sorted(pool_rss),
    )


@dataclass
class Costs:
    """Milliseconds of CPU per article for each kind of process, over one run."""

    articles: int
    main_ms: float
    pool_ms: float
    stages_ms: dict[str, float]  # the pool's CPU by stage, from the tasks' own timing
    celery_in_pool_ms: float  # the pool's CPU outside the stages
    redis_ms: float
    producer_ms: float
    total_ms: float
    pure_ms: float | None = None
    share: float | None = None
    rss_start_mb: list[float] = field(default_factory=list)  # main, then each pool process
    rss_end_mb: list[float] = field(default_factory=list)

    def with_pure(self, pure_ms: float) -> Costs:
        """The same costs, with the pure clean + extract cost and the extraction share."""
        self.pure_ms = round(pure_ms, 2)
        self.share = round(pure_ms / self.total_ms, 3) if self.total_ms else None
        return self


def costs(before: Snapshot, after: Snapshot, stage_cpu: dict[str, float], articles: int) -> Costs:
    """The run's costs per article from snapshots taken around it and the stages' CPU."""
    per = 1000.0 / max(articles, 1)
    main = (after.main_cpu - before.main_cpu) * per
    pool = (after.pool_cpu - before.pool_cpu) * per
    redis = (after.redis_cpu - before.redis_cpu) * per
    producer = (after.producer_cpu - before.producer_cpu) * per
    stages = {stage: round(seconds * per, 2) for stage, seconds in stage_cpu.items()}
    return Costs(
        articles=articles,
        main_ms=round(main, 2),
        pool_ms=round(pool, 2),
        stages_ms=stages,
        celery_in_pool_ms=round(pool - sum(stages.values()), 2),
        redis_ms=round(redis, 2),
        producer_ms=round(producer, 2),
        total_ms=round(main + pool + redis + producer, 2),
        rss_start_mb=_megabytes(before),
        rss_end_mb=_megabytes(after),
    )


def _megabytes(shot: Snapshot) -> list[float]:
    return [round(value / 2**20, 1) for value in (shot.main_rss, *shot.pool_rss)]


def stage_cpu(metrics_text: str) -> dict[str, float]:
    """CPU seconds per stage from a worker's Prometheus page."""
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "newsflow_stage_cpu_seconds_total":
                found[sample.labels["stage"]] = sample.value
    return found


def pure_in_fresh_process(corpus: Path, count: int) -> float:
    """:func:`pure_clean_extract` of the run's first ``count`` pages, in a new interpreter.

    Not in this process: it has just run the same pages through ``run_local``, and the
    libraries' caches (htmldate's, trafilatura's) would make a page seen before about a
    third cheaper than a page seen first, as no pool process sees it.
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return float(pool.apply(_pure_of_corpus, (corpus, count)))


def _pure_of_corpus(corpus: Path, count: int) -> float:
    from bench.pages import load_pages
    from pipeline.extract.article import load_models

    load_models()  # as a worker does before its pool forks
    return pure_clean_extract(load_pages(corpus, count))


def pure_clean_extract(pages: list[Page]) -> float:
    """Milliseconds of CPU per page to decode, clean and extract ``pages`` in this process,
    as the clean and extract stages do, with no fetch, database or broker."""
    from pipeline.clean.html import clean
    from pipeline.errors import NewsflowError
    from pipeline.extract.article import extract
    from pipeline.fetch.encoding import decode, detect_encoding

    started = time.process_time()
    for index, page in enumerate(pages):
        try:
            text = decode(page.body, detect_encoding(page.body, page.content_type))
            document = clean(text, "html", url=f"http://bench.invalid{page.path}", page_id=index)
            extract(document)
        except NewsflowError:
            continue  # a page the pipeline refuses costs what it cost
    return (time.process_time() - started) * 1000.0 / max(len(pages), 1)


@dataclass(frozen=True)
class Checkpoint:
    """Where a long run stood after another ``every`` articles."""

    articles: int
    seconds: float  # since the first chain was sent
    rate: float  # articles per second over the last stretch
    rss_mb: list[float]  # main, then each pool process
