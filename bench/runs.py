"""The two ways the benchmark runs the same URLs: Celery workers, and ``run_local``.

- ``celery``: a real ``newsflow worker`` subprocess; the chains are enqueued at once and their
  results read back from the result backend, so an item's latency ends at the ``date_done`` of
  its last task.
- ``local``: ``pipeline.stages.run_local`` one URL after the other in this process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis import Redis

from bench.costs import Checkpoint, Snapshot, costs, snapshot, stage_cpu
from bench.report import RunResult, summarize
from bench.services import (
    count_rows,
    dispose_engines,
    free_port,
    log,
    prepared_settings,
    stop,
    use_environment,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULT_TIMEOUT = 600.0  # seconds to wait for all the celery results
POLL_INTERVAL = 0.1
PENDING_LOOKED_AT_PER_SECOND = 5000
# Earlier stages' results are looked at this often only: they exist only for a failure.
FAILURE_LOOK_INTERVAL = 1.0
WORKER_READY_TIMEOUT = 90.0
WORKER_STOP_TIMEOUT = 30.0


def _celery() -> tuple[Any, Callable[[str], Any]]:
    """The Celery app and the chain of one article: the bench's one use of ``workers``.

    Imported only once the environment points at the bench's broker and store, since the app's
    configuration comes from the settings.
    """
    from pipeline.settings import get_settings
    from workers.app import create_app
    from workers.tasks import article_chain

    return create_app(get_settings()), article_chain


def _parse_date(value: Any) -> float | None:
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _wait_for_worker(
    app: Any, hostname: str, worker: subprocess.Popen[Any], log_path: Path
) -> None:
    deadline = time.monotonic() + WORKER_READY_TIMEOUT
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(
                f"the worker exited with code {worker.returncode}:\n{_tail(log_path)}"
            )
        try:
            if app.control.ping(destination=[hostname], timeout=0.5):
                return
        except Exception as error:  # the broker connection may still be settling
            log(f"ping: {type(error).__name__}: {error}")
            time.sleep(0.5)
    raise RuntimeError(
        f"the worker did not answer ping within {WORKER_READY_TIMEOUT:g}s:\n{_tail(log_path)}"
    )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no worker log)"


def run_celery(
    urls: list[str], broker_url: str, concurrency: int, *, checkpoint_every: int = 1000
) -> RunResult:
    """``urls`` through a worker subprocess of ``concurrency`` processes, in a fresh store;
    its costs per process, and every ``checkpoint_every`` articles its rate and memory."""
    with tempfile.TemporaryDirectory(prefix="newsflow-bench-celery-") as tmp:
        data_dir = Path(tmp) / "data"
        env_values = use_environment(broker_url, data_dir)
        settings = prepared_settings()

        app, article_chain = _celery()

        hostname = f"bench-{os.getpid()}@{socket.gethostname()}"
        log_path = Path(tmp) / "worker.log"
        metrics_port = free_port()
        command = [
            sys.executable,
            "-m",
            "workers.cli",
            "worker",
            "--concurrency",
            str(concurrency),
            "--hostname",
            hostname,
            "--loglevel",
            "warning",
            "--metrics-port",
            str(metrics_port),
        ]
        log(f"celery: starting a worker with {concurrency} process(es)")
        with open(log_path, "wb") as worker_log:
            worker = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env={**os.environ, **env_values, "PYTHONUNBUFFERED": "1"},
                stdout=worker_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_for_worker(app, hostname, worker, log_path)
            log(f"celery: worker ready; enqueueing {len(urls)} chains")
            redis = Redis.from_url(broker_url)

            def look() -> Snapshot:
                return snapshot(worker.pid, redis.info("cpu"))

            before = look()
            result = _drive_celery(app, article_chain, urls, look, checkpoint_every)
            after = look()
            redis.close()
            spent = costs(before, after, _stage_cpu(metrics_port), result[0] + result[1])
        finally:
            log("celery: stopping the worker")
            stop(worker, timeout=WORKER_STOP_TIMEOUT)
        stored, failed, wall, latencies, errors, checkpoints = result
        if errors:
            log(f"celery: worker log tail:\n{_tail(log_path, 10)}")
        rows = count_rows(settings)
        dispose_engines()  # release the SQLite file before its folder is removed
        summary = summarize(
            "celery", len(urls), stored, failed, wall, latencies, rows, concurrency, errors
        )
        summary.costs, summary.checkpoints = spent, checkpoints
        return summary


def _stage_cpu(port: int) -> dict[str, float]:
    import httpx

    return stage_cpu(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)


def _drive_celery(
    app: Any,
    article_chain: Callable[[str], Any],
    urls: list[str],
    look: Callable[[], Snapshot],
    checkpoint_every: int,
) -> tuple[int, int, float, list[float], list[str], list[Checkpoint]]:
    backend = app.backend
    enqueued: list[float] = []
    chains: list[list[str]] = []  # per item: task ids from the last (store) back to fetch
    start = time.time()
    for url in urls:
        enqueued.append(time.time())
        last = article_chain(url).apply_async()
        ids = []
        node = last
        while node is not None:
            ids.append(node.id)
            node = node.parent
        chains.append(ids)
    enqueue_s = time.time() - start
    log(f"celery: enqueued in {enqueue_s:.2f}s; waiting for results")

    finished: dict[int, tuple[str, float, str]] = {}  # item -> (state, completed at, detail)
    checkpoints: list[Checkpoint] = []
    deadline = time.monotonic() + RESULT_TIMEOUT
    next_failure_look = time.monotonic() + FAILURE_LOOK_INTERVAL
    while len(finished) < len(urls) and time.monotonic() < deadline:
        pending = [index for index in range(len(urls)) if index not in finished]
        # A chain ends with its store task's result, or with an earlier stage's failure:
        # only the store tasks are asked every time.
        asked = [(index, chains[index][0]) for index in pending]
        if time.monotonic() >= next_failure_look:
            asked += [(index, task_id) for index in pending for task_id in chains[index][1:]]
            next_failure_look = time.monotonic() + FAILURE_LOOK_INTERVAL
        values = backend.mget([backend.get_key_for_task(task_id) for _, task_id in asked])
        now = time.time()
        for (index, _), value in zip(asked, values, strict=True):
            if not value or index in finished:
                continue
            meta = backend.decode_result(value)
            if meta["status"] == "SUCCESS":
                finished[index] = ("SUCCESS", _parse_date(meta.get("date_done")) or now, "")
            elif meta["status"] == "FAILURE":
                error = meta.get("result")
                detail = (
                    f"{error.get('exc_type')}: {error.get('exc_message')}"
                    if isinstance(error, dict)
                    else str(error)
                )
                finished[index] = ("FAILURE", _parse_date(meta.get("date_done")) or now, detail)
        while checkpoint_every and len(finished) >= (len(checkpoints) + 1) * checkpoint_every:
            done = sorted(when for _, when, _ in finished.values())
            checkpoints.append(_checkpoint(len(checkpoints), checkpoint_every, start, done, look()))
        if len(finished) < len(urls):
            # A look costs in proportion to the items pending: look less often while many
            # are, so that watching 5,000 costs the producer no more than watching 300.
            time.sleep(max(POLL_INTERVAL, len(pending) / PENDING_LOOKED_AT_PER_SECOND))
    if len(finished) < len(urls):
        log(f"celery: {len(urls) - len(finished)} item(s) unfinished after {RESULT_TIMEOUT:g}s")

    stored = sum(state == "SUCCESS" for state, _, _ in finished.values())
    failed = sum(state == "FAILURE" for state, _, _ in finished.values())
    errors = [f"{urls[i]}: {detail}" for i, (state, _, detail) in finished.items() if detail]
    latencies = [done - enqueued[i] for i, (_, done, _) in finished.items()]
    last_done = max((done for _, done, _ in finished.values()), default=time.time())
    wall = (last_done if len(finished) == len(urls) else time.time()) - start
    return stored, failed, wall, latencies, errors, checkpoints


def _checkpoint(
    reached: int, every: int, start: float, done: list[float], shot: Snapshot
) -> Checkpoint:
    """Where the run stands after another ``every`` articles: when the ``every``-th of them
    finished (their tasks' own completion times, ``done``, sorted), the rate since the last
    checkpoint, and the memory now (read at the poll that saw them)."""
    articles = (reached + 1) * every
    seconds = done[articles - 1] - start
    since = done[articles - every - 1] - start if reached else 0.0
    checkpoint = Checkpoint(
        articles=articles,
        seconds=round(seconds, 2),
        rate=round(every / (seconds - since), 2) if seconds > since else 0.0,
        rss_mb=[round(value / 2**20, 1) for value in (shot.main_rss, *shot.pool_rss)],
    )
    log(
        f"celery: {checkpoint.articles} articles after {checkpoint.seconds:.0f}s, "
        f"{checkpoint.rate:.1f} art/s, resident MB {checkpoint.rss_mb}"
    )
    return checkpoint


def run_local(urls: list[str], broker_url: str) -> RunResult:
    """``urls`` one after the other in this process, in a fresh store."""
    from pipeline import stages
    from pipeline.extract.article import load_models
    from pipeline.fetch.fetcher import make_fetcher
    from pipeline.store.fingerprints import load_minhash

    with tempfile.TemporaryDirectory(prefix="newsflow-bench-local-") as tmp:
        use_environment(broker_url, Path(tmp) / "data")
        settings = prepared_settings()
        # Left out of the time, as the worker's start is left out of the celery run's.
        load_models()
        load_minhash()
        log(f"local: running {len(urls)} items in this process")
        latencies: list[float] = []
        errors: list[str] = []
        stored = failed = 0
        health_time, stores = Stopwatch(), HealthAB()
        with (
            make_fetcher(settings) as fetcher,  # one polite fetcher, as each worker process has
            health_time.timing(stages.health, "count_article"),
            stores.alternating(stages),
        ):
            start = time.perf_counter()
            for url in urls:
                began = time.perf_counter()
                try:
                    stages.run_local(url, settings, fetcher=fetcher)
                    stored += 1
                except Exception as error:  # recorded by run_local; keep going
                    failed += 1
                    errors.append(f"{url}: {type(error).__name__}: {error}")
                latencies.append(time.perf_counter() - began)
            wall = time.perf_counter() - start
        rows = count_rows(settings)
        dispose_engines()  # release the SQLite file before its folder is removed
        result = summarize("local", len(urls), stored, failed, wall, latencies, rows, 1, errors)
        result.health_ms = health_time.ms_per_call()
        result.store_ms = stores.counted.ms_per_call()
        result.store_uncounted_ms = stores.uncounted.ms_per_call()
        return result


class HealthAB:
    """The store stage timed with the health bookkeeping and without it, every other article
    in turn, in one run: the difference is what the bookkeeping adds, its share of the
    commit included."""

    def __init__(self) -> None:
        self.counted, self.uncounted = Stopwatch(), Stopwatch()

    @contextmanager
    def alternating(self, stages: Any) -> Iterator[None]:
        original, counting = stages.store_stage, stages.health.count_article

        def store_stage(*args: Any, **kwargs: Any) -> Any:
            skip = self.counted.calls > self.uncounted.calls
            watch = self.uncounted if skip else self.counted
            if skip:
                stages.health.count_article = lambda *_, **__: None
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                watch.seconds += time.perf_counter() - began
                watch.calls += 1
                stages.health.count_article = counting

        stages.store_stage = store_stage
        try:
            yield
        finally:
            stages.store_stage = original


class Stopwatch:
    """The time spent in one function of a module, added up over the calls made while
    :meth:`timing` is on: what a part of a stage costs, measured inside the run itself."""

    def __init__(self) -> None:
        self.seconds, self.calls = 0.0, 0

    @contextmanager
    def timing(self, module: Any, name: str) -> Iterator[None]:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - began
                self.calls += 1

        setattr(module, name, timed)
        try:
            yield
        finally:
            setattr(module, name, original)

    def ms_per_call(self) -> float | None:
        return round(self.seconds * 1000 / self.calls, 3) if self.calls else None
