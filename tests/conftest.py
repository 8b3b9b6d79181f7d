"""Shared fixtures: real Redis, real PostgreSQL, real HTTP servers and real Celery workers.

Where a service is missing on a user's machine the tests that need it are skipped with the
reason; in CI (``CI=true``) such a skip is a failure, since CI must run everything.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_client

from pipeline.fetch.politeness import host_of, rate_key
from pipeline.settings import Settings, get_settings
from pipeline.store.db import dispose_engines, prepare_database
from tests.httpserver import LocalServer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
SAMPLES = ROOT / "samples"
# Kept apart from the default 0 that `make run` uses; NEWSFLOW_TEST_REDIS_URL overrides it.
REDIS_DB = 13


def skip_or_fail(reason: str) -> None:
    """Skip on a user's machine; fail in CI, where everything must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)


def newsflow(
    *arguments: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """The ``newsflow`` command as a user runs it: a subprocess with the test's environment,
    wide enough that no table wraps."""
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", *arguments],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        skip_or_fail(f"the shared corpus is not at {CORPUS}")
    return CORPUS


# --- Redis -----------------------------------------------------------------------------------


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis_client.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis_client.RedisError:
        return False


def _configured_redis_url() -> str:
    return os.environ.get("NEWSFLOW_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{REDIS_DB}")


# Every Redis this session's tests use, so that what they keep there can be cleared.
_SESSION_REDIS: list[str] = []


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The machine's Redis if it answers, else a private ``redis-server`` for this session."""
    configured = _configured_redis_url()
    if _redis_answers(configured):
        _SESSION_REDIS.append(configured)
        yield configured
        return
    if shutil.which("redis-server") is None:
        skip_or_fail("no Redis answers on 127.0.0.1:6379 and redis-server is not installed")
    server = RedisServer(db=REDIS_DB)
    server.start()
    _SESSION_REDIS.append(server.url)
    try:
        yield server.url
    finally:
        _SESSION_REDIS.remove(server.url)
        server.remove()


def _forget_host_state(origin: str) -> None:
    """Drop what fetches kept in Redis about ``origin``: its cached robots.txt (the OS hands a
    port out again, and the next server on it must not inherit the last one's rules; a cache
    that lives a day outlives the test, and the test run too), and the rate slots reserved on
    its machine name and on ``localhost``, which tests use as a second host (a test that
    queued 500 pages at 1 request/s leaves the next free slot minutes ahead)."""
    configured = _configured_redis_url()
    # The configured one even before a test of this session has used it: an earlier run's
    # cache is still there.
    for url in dict.fromkeys([configured, *_SESSION_REDIS]):
        # A Redis that does not answer (a test stopped it on purpose) has nothing cached.
        with contextlib.suppress(redis_client.RedisError):
            redis_client.Redis.from_url(url, socket_connect_timeout=1).delete(
                f"newsflow:robots:{host_of(origin)}",
                rate_key(origin),
                rate_key("http://localhost/"),
            )


class RedisServer:
    """A private redis-server on a free port, that a test can stop and start again.

    With ``appendonly`` it keeps the append-only file, as production should, so its data
    survives a restart.
    """

    def __init__(self, *, appendonly: bool = False, db: int = 0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            skip_or_fail("redis-server is not installed")
        assert binary is not None
        self.binary = binary
        self.appendonly = appendonly
        self.port = free_port()
        self.folder = tempfile.mkdtemp(prefix="newsflow-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/{db}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--appendfsync",
                "everysec",
                "--dir",
                self.folder,
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_until(lambda: _redis_answers(self.url), timeout=15)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): Redis flushes its append-only file and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


# --- databases -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get(
        "NEWSFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        import psycopg
    except ImportError:
        skip_or_fail("psycopg is not installed (pip install 'newsflow[postgres]')")
    try:
        with psycopg.connect(_plain(url), connect_timeout=3):
            pass
    except psycopg.OperationalError as error:
        skip_or_fail(f"PostgreSQL does not answer at {url}: {error}")
    return url


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"newsflow_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain(postgres_server_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_server_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        dispose_engines()
        with psycopg.connect(_plain(postgres_server_url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """NEWSFLOW_* variables for this test: a private data folder, fast retries."""
    values = {
        "NEWSFLOW_DATA_DIR": str(tmp_path / "data"),
        "NEWSFLOW_RETRY_BACKOFF": "0.2",
        "NEWSFLOW_RETRY_BACKOFF_MAX": "1",
        "NEWSFLOW_MAX_RETRIES": "3",
        "NEWSFLOW_READ_TIMEOUT": "5",
        "NEWSFLOW_TOTAL_TIMEOUT": "10",
        # The tests' servers listen on 127.0.0.1; tests of the guard itself turn this off.
        "NEWSFLOW_ALLOW_PRIVATE_NETWORKS": "true",
        # One test server stands for many sites; tests of politeness set their own rate.
        "NEWSFLOW_HOST_RATE": "200",
        # Test workers serve no metrics unless a test asks: they would all want port 9540.
        "NEWSFLOW_METRICS_PORT": "0",
    }
    for name in list(os.environ):
        if (
            name.startswith("NEWSFLOW_")
            and name not in values
            and not name.startswith("NEWSFLOW_TEST_")
        ):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()
    dispose_engines()


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    """Settings on a fresh SQLite database with the current schema."""
    current = get_settings()
    prepare_database(current)
    return current


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_settings(
    request: pytest.FixtureRequest, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings on a fresh database of each kind: the store must behave the same on both."""
    if request.param == "postgresql":
        monkeypatch.setenv("NEWSFLOW_DATABASE_URL", request.getfixturevalue("postgres_url"))
    get_settings.cache_clear()
    current = get_settings()
    prepare_database(current)
    return current


# --- HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    server = LocalServer()
    server.start()
    _forget_host_state(server.base_url)
    try:
        yield server
    finally:
        server.stop()
        _forget_host_state(server.base_url)


# --- Celery workers --------------------------------------------------------------------------


class WorkerProcess:
    """A real ``newsflow worker`` in a subprocess, with its log kept for failed tests."""

    def __init__(self, environment: dict[str, str], arguments: list[str], log: Path) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workers.cli", "worker", *arguments],
            cwd=ROOT,
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture
def celery_app(
    redis_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The project's Celery app, made from the test's settings and pointed at the test broker,
    with the queues emptied. Workers started by the test read the same environment."""
    monkeypatch.setenv("NEWSFLOW_BROKER_URL", redis_url)
    get_settings.cache_clear()
    from workers.app import create_app

    app = create_app(get_settings())
    # Empty newsflow's queues on the test database only; other keys there are left alone.
    # Messages an earlier test's worker held unacknowledged would come back into this test's
    # queues after their visibility timeout: forget them too.
    app.control.purge()
    broker = redis_client.Redis.from_url(redis_url)
    broker.delete("unacked", "unacked_index", "unacked_mutex", *broker.keys("newsflow:delayed:*"))
    yield app
    app.close()


@pytest.fixture
def start_worker(celery_app: Any, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real workers on the test broker and database; all are stopped afterwards."""
    started: list[WorkerProcess] = []

    def start(*arguments: str, extra_env: dict[str, str] | None = None) -> WorkerProcess:
        name = f"test-{uuid.uuid4().hex[:8]}@%h"
        environment = {**os.environ, **(extra_env or {})}
        worker = WorkerProcess(
            environment,
            ["--concurrency", "2", "--hostname", name, "--loglevel", "info", *arguments],
            tmp_path / f"worker-{len(started)}.log",
        )
        started.append(worker)
        hostname = name.replace("%h", socket.gethostname())

        def answers() -> bool:
            if not worker.alive():
                raise RuntimeError(f"worker exited early:\n{worker.log()}")
            replies = celery_app.control.ping(destination=[hostname], timeout=0.5)
            return bool(replies)

        wait_until(answers, timeout=60, interval=0.2)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
