"""What a run stands on: a Redis database of its own, newsflow's settings pointed at it and at
a fresh SQLite store, and a way to stop the processes a run starts.

Settings reach newsflow through ``NEWSFLOW_*`` variables, so that the worker subprocess reads
the same ones as this process; :func:`restored_environment` puts the caller's back afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

REDIS_DB = 14
# Every variable use_environment sets, and so every one restored_environment puts back.
VARIABLES = (
    "NEWSFLOW_BROKER_URL",
    "NEWSFLOW_RESULT_BACKEND",
    "NEWSFLOW_DATA_DIR",
    "NEWSFLOW_DATABASE_URL",
    "NEWSFLOW_ALLOW_PRIVATE_NETWORKS",
    "NEWSFLOW_HOST_RATE",
    "NEWSFLOW_MAX_MEMORY_PER_CHILD",
    "NEWSFLOW_MAX_TASKS_PER_CHILD",
)


def log(message: str) -> None:
    """Progress on stderr, so that ``--json`` keeps stdout to the figures."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- Redis -----------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
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
        port = free_port()
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
            stop(process, timeout=10)
        else:
            with suppress(redis.RedisError):
                client = redis.Redis.from_url(url, socket_connect_timeout=1)
                client.flushdb()
                client.close()


def stop(process: subprocess.Popen[Any], timeout: float) -> None:
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

    # A database URL's folder must exist before the settings are read (a typo in one is
    # refused, not created): this one is made here.
    data_dir.mkdir(parents=True, exist_ok=True)
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
        # No pool process is replaced during a run: a replacement would hide a leak from the
        # memory figures and add its start to the CPU ones.
        "NEWSFLOW_MAX_MEMORY_PER_CHILD": "0",
        "NEWSFLOW_MAX_TASKS_PER_CHILD": "0",
    }
    os.environ.update(values)
    get_settings.cache_clear()
    return values


def prepared_settings() -> Any:
    """The settings as the environment now says, with their database made ready."""
    from pipeline.settings import get_settings
    from pipeline.store.db import prepare_database

    settings = get_settings()
    prepare_database(settings)
    return settings


def dispose_engines() -> None:
    """Close the pooled connections, which hold the SQLite file open."""
    from pipeline.store.db import dispose_engines as dispose

    dispose()


def count_rows(settings: Any) -> int:
    """Distinct articles in the store: copies of one canonical page are one row."""
    from pipeline.store.articles import count_articles
    from pipeline.store.db import session_scope

    with session_scope(settings) as session:
        return count_articles(session)


@contextmanager
def restored_environment() -> Iterator[None]:
    """Put the caller's ``NEWSFLOW_*`` variables back as they were, whatever the runs set."""
    saved_env = {name: os.environ.get(name) for name in VARIABLES}
    try:
        yield
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
