"""Throughput and latency of the pipeline: Celery workers against ``run_local``, same pages.

Run from the repository root::

    python -m bench.pipeline [--pages N] [--corpus DIR] [--workers-concurrency C] [--json]

The pages of ``article-body-dev`` (gzip-compressed in the corpus) are served from a local HTTP
server, each copy under its own path, so every item is a real download. Two runs, each with a
fresh data folder and SQLite database:

- ``celery``: a real ``newsflow worker`` subprocess (prefork, C processes, all four queues) on a
  dedicated Redis database; the N chains are enqueued at once and their results polled.
  An item's latency is from just before its ``apply_async`` to the ``date_done`` of its last
  task (the store, or the stage that failed).
- ``local``: the same URLs through ``pipeline.stages.run_local`` one after the other in this
  process; an item's latency is its own duration.

Everything started here (HTTP server, worker, a private Redis if needed) is stopped on exit.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus"
PAGES_SUBDIR = Path("article-body-dev") / "html"
REDIS_DB = 14
RESULT_TIMEOUT = 600.0  # seconds to wait for all the celery results
POLL_INTERVAL = 0.05
WORKER_READY_TIMEOUT = 90.0
WORKER_STOP_TIMEOUT = 30.0


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    path: str
    body: bytes
    content_type: str


def load_pages(corpus: Path, count: int) -> list[Page]:
    """``count`` pages, cycling through the corpus, each copy under its own URL path."""
    folder = corpus / PAGES_SUBDIR
    if not folder.is_dir():
        sys.exit(
            f"bench: corpus folder {folder} not found; "
            "pass --corpus DIR (the folder that holds article-body-dev/)"
        )
    files = sorted(folder.glob("*.html.gz"))
    if not files:
        sys.exit(f"bench: no *.html.gz pages in {folder}")
    originals: list[tuple[str, bytes, str]] = []
    for file in files:
        body = gzip.decompress(file.read_bytes())
        key = file.name.removesuffix(".html.gz")
        originals.append((key, body, _content_type(body)))
    pages = []
    for index in range(count):
        key, body, content_type = originals[index % len(originals)]
        pages.append(Page(f"/p/{index}/{key}.html", body, content_type))
    return pages


def _content_type(body: bytes) -> str:
    # Say UTF-8 only when the bytes are UTF-8; otherwise let the pipeline sniff the charset.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "text/html"
    return "text/html; charset=utf-8"


@contextmanager
def serve(pages: list[Page]) -> Iterator[str]:
    """Serve ``pages`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    by_path = {page.path: page for page in pages}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real site would offer

        def do_GET(self) -> None:
            page = by_path.get(self.path)
            if page is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bench-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- Redis ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@contextmanager
def redis_broker() -> Iterator[str]:
    """A flushed Redis database for the run: 6379/14 if it answers, else a private server."""
    import redis

    process: subprocess.Popen[bytes] | None = None
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    if not _redis_answers(url):
        executable = shutil.which("redis-server")
        if executable is None:
            sys.exit("bench: nothing answers on 127.0.0.1:6379 and redis-server is not installed")
        port = _free_port()
        log(f"no Redis on 6379; starting a private redis-server on port {port}")
        process = subprocess.Popen(
            [
                executable,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"redis://127.0.0.1:{port}/{REDIS_DB}"
    try:
        if process is not None:
            deadline = time.monotonic() + 10
            while not _redis_answers(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit("bench: the private redis-server did not start")
                time.sleep(0.1)
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
        yield url
    finally:
        if process is not None:
            _stop(process, timeout=10)
        else:
            with suppress(redis.RedisError):
                client = redis.Redis.from_url(url, socket_connect_timeout=1)
                client.flushdb()
                client.close()


def _stop(process: subprocess.Popen[Any], timeout: float) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL (its whole process group if it led one)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    log(f"process {process.pid} did not stop within {timeout:g}s; killing it")
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


# --- settings -------------------------------------------------------------------------------


def use_environment(broker_url: str, data_dir: Path) -> dict[str, str]:
    """Point newsflow (here and in children) at ``broker_url`` and a database in ``data_dir``."""
    from pipeline.settings import get_settings

    values = {
        "NEWSFLOW_BROKER_URL": broker_url,
        "NEWSFLOW_RESULT_BACKEND": broker_url,
        "NEWSFLOW_DATA_DIR": str(data_dir),
        # Explicit, so that neither an inherited variable nor a .env file picks another store.
        "NEWSFLOW_DATABASE_URL": f"sqlite:///{data_dir / 'newsflow.db'}",
        # The benchmark's pages are served on 127.0.0.1, which the network guard refuses.
        "NEWSFLOW_ALLOW_PRIVATE_NETWORKS": "true",
        # One local server stands in for many sites: the per-host rate limit would measure
        # politeness (1 request/s by default), not the cost of orchestration.
        "NEWSFLOW_HOST_RATE": "1000",
    }
    os.environ.update(values)
    get_settings.cache_clear()
    return values


def prepared_settings() -> Any:
    from pipeline.settings import get_settings
    from pipeline.store.db import prepare_database

    settings = get_settings()
    prepare_database(settings)
    return settings


def dispose_engines() -> None:
    from pipeline.store.db import dispose_engines as dispose

    dispose()


def count_rows(settings: Any) -> int:
    from pipeline.store.articles import count_articles
    from pipeline.store.db import session_scope

    with session_scope(settings) as session:
        return count_articles(session)


# --- results --------------------------------------------------------------------------------


@dataclass
class RunResult:
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


# --- run A: celery --------------------------------------------------------------------------


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


def run_celery(urls: list[str], broker_url: str, concurrency: int) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="newsflow-bench-celery-") as tmp:
        data_dir = Path(tmp) / "data"
        env_values = use_environment(broker_url, data_dir)
        settings = prepared_settings()

        # Imported only now: the Celery app reads its configuration from the settings at import.
        from workers.app import app
        from workers.tasks import article_chain

        hostname = f"bench-{os.getpid()}@{socket.gethostname()}"
        log_path = Path(tmp) / "worker.log"
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
            result = _drive_celery(app, article_chain, urls)
        finally:
            log("celery: stopping the worker")
            _stop(worker, timeout=WORKER_STOP_TIMEOUT)
        stored, failed, wall, latencies, errors = result
        if errors:
            log(f"celery: worker log tail:\n{_tail(log_path, 10)}")
        rows = count_rows(settings)
        dispose_engines()  # release the SQLite file before its folder is removed
        return summarize(
            "celery", len(urls), stored, failed, wall, latencies, rows, concurrency, errors
        )


def _drive_celery(
    app: Any, article_chain: Callable[[str], Any], urls: list[str]
) -> tuple[int, int, float, list[float], list[str]]:
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
    deadline = time.monotonic() + RESULT_TIMEOUT
    while len(finished) < len(urls) and time.monotonic() < deadline:
        pending = [index for index in range(len(urls)) if index not in finished]
        keys = [backend.get_key_for_task(task_id) for index in pending for task_id in chains[index]]
        values = iter(backend.mget(keys))
        now = time.time()
        for index in pending:
            metas = []
            for _ in chains[index]:
                value = next(values)
                metas.append(backend.decode_result(value) if value else {"status": "PENDING"})
            last = metas[0]
            if last["status"] == "SUCCESS":
                finished[index] = ("SUCCESS", _parse_date(last.get("date_done")) or now, "")
                continue
            for meta in metas:
                if meta["status"] == "FAILURE":
                    error = meta.get("result")
                    detail = (
                        f"{error.get('exc_type')}: {error.get('exc_message')}"
                        if isinstance(error, dict)
                        else str(error)
                    )
                    finished[index] = ("FAILURE", _parse_date(meta.get("date_done")) or now, detail)
                    break
        if len(finished) < len(urls):
            time.sleep(POLL_INTERVAL)
    if len(finished) < len(urls):
        log(f"celery: {len(urls) - len(finished)} item(s) unfinished after {RESULT_TIMEOUT:g}s")

    stored = sum(state == "SUCCESS" for state, _, _ in finished.values())
    failed = sum(state == "FAILURE" for state, _, _ in finished.values())
    errors = [f"{urls[i]}: {detail}" for i, (state, _, detail) in finished.items() if detail]
    latencies = [done - enqueued[i] for i, (_, done, _) in finished.items()]
    last_done = max((done for _, done, _ in finished.values()), default=time.time())
    wall = (last_done if len(finished) == len(urls) else time.time()) - start
    return stored, failed, wall, latencies, errors


# --- run B: local ---------------------------------------------------------------------------


def run_local(urls: list[str], broker_url: str) -> RunResult:
    from pipeline import stages
    from pipeline.fetch.download import make_client

    with tempfile.TemporaryDirectory(prefix="newsflow-bench-local-") as tmp:
        use_environment(broker_url, Path(tmp) / "data")
        settings = prepared_settings()
        log(f"local: running {len(urls)} items in this process")
        latencies: list[float] = []
        errors: list[str] = []
        stored = failed = 0
        with make_client(settings) as client:  # one pooled client, as each worker process has
            start = time.perf_counter()
            for url in urls:
                began = time.perf_counter()
                try:
                    stages.run_local(url, settings, client=client)
                    stored += 1
                except Exception as error:  # recorded by run_local; keep going
                    failed += 1
                    errors.append(f"{url}: {type(error).__name__}: {error}")
                latencies.append(time.perf_counter() - began)
            wall = time.perf_counter() - start
        rows = count_rows(settings)
        dispose_engines()  # release the SQLite file before its folder is removed
        return summarize("local", len(urls), stored, failed, wall, latencies, rows, 1, errors)


# --- report ---------------------------------------------------------------------------------


def report(results: list[RunResult], meta: dict[str, Any], as_json: bool) -> None:
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--pages", type=int, default=200, help="articles per run (default 200)")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="the corpus folder, holding article-body-dev/ (default: ../shared/corpus beside "
        "the repository)",
    )
    parser.add_argument(
        "--workers-concurrency",
        type=int,
        default=os.cpu_count() or 2,
        help="processes of the celery worker (default: the number of cores)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.pages < 1:
        parser.error("--pages must be at least 1")
    if args.workers_concurrency < 1:
        parser.error("--workers-concurrency must be at least 1")

    pages = load_pages(args.corpus, args.pages)
    meta = {
        "pages": args.pages,
        "cores": os.cpu_count(),
        "workers_concurrency": args.workers_concurrency,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
    }
    saved_env = {
        name: os.environ.get(name)
        for name in (
            "NEWSFLOW_BROKER_URL",
            "NEWSFLOW_RESULT_BACKEND",
            "NEWSFLOW_DATA_DIR",
            "NEWSFLOW_DATABASE_URL",
            "NEWSFLOW_ALLOW_PRIVATE_NETWORKS",
            "NEWSFLOW_HOST_RATE",
        )
    }
    results: list[RunResult] = []
    try:
        with redis_broker() as broker_url, serve(pages) as base:
            urls = [base + page.path for page in pages]
            results.append(run_celery(urls, broker_url, args.workers_concurrency))
            results.append(run_local(urls, broker_url))
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    report(results, meta, args.json)


if __name__ == "__main__":
    main()
