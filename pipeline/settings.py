"""Every setting newsflow reads, in one place, from ``NEWSFLOW_*`` environment variables.

Defaults work on a laptop: a local Redis and an SQLite file in the user's data directory.
Nothing is built at import time; call :func:`get_settings`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.errors import InvalidRequest


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("newsflow", appauthor=False))


# A value out of range is refused when the settings are read, not when it first misbehaves.
Seconds = Annotated[float, Field(gt=0)]
Pause = Annotated[float, Field(ge=0)]  # zero: no wait at all
Count = Annotated[int, Field(ge=0)]
Several = Annotated[int, Field(ge=1)]
Port = Annotated[int, Field(ge=0, le=65535)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", env_file=".env", extra="ignore")

    broker_url: str = Field(
        "redis://127.0.0.1:6379/0", description="Celery broker (Redis) that connects the stages."
    )
    result_backend: str | None = Field(
        None, description="Where task states are kept; defaults to the broker URL."
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder for the default SQLite database (created on first use).",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the store; default `sqlite:///<data_dir>/newsflow.db`. "
        "Use `postgresql+psycopg://...` in production.",
    )
    auto_migrate: bool = Field(
        True, description="Upgrade an older database schema on start; if false, refuse to start."
    )

    user_agent: str = Field(
        "newsflow/0.1 (+https://github.com/newsflow/newsflow; news ingestion bot)",
        description="User-Agent sent with every request, so sites can tell who is fetching.",
    )
    connect_timeout: Seconds = Field(5.0, description="Seconds to establish a connection.")
    read_timeout: Seconds = Field(20.0, description="Seconds to wait for each chunk of a response.")
    total_timeout: Seconds = Field(60.0, description="Seconds a whole download may take.")
    max_redirects: Count = Field(5, description="Redirects followed before giving up.")
    max_bytes: Several = Field(
        10 * 1024 * 1024,
        description="Largest response body accepted, in bytes (after decompression).",
    )

    host_rate: Pause = Field(
        1.0,
        description="Requests per second to one host, shared by all workers (per source too); "
        "0 sets no limit but a robots.txt Crawl-delay.",
    )
    allow_private_networks: bool = Field(
        False,
        description="Fetch from loopback, private and link-local addresses too (tests, intranets).",
    )
    allowed_hosts: str = Field(
        "",
        description="Comma-separated hosts (or host:port) fetched even on private addresses.",
    )

    max_retries: Count = Field(
        5, description="Retries of a transient failure, then it is recorded."
    )
    retry_backoff: Pause = Field(
        2.0,
        description="Seconds before the first retry; doubled on each further retry (with jitter).",
    )
    retry_backoff_max: Pause = Field(
        600.0, description="Longest wait between two retries, seconds."
    )
    retry_after_max: Pause = Field(
        3600.0,
        description="Longest Retry-After (429/503) honoured, seconds; longer ones are capped.",
    )

    fetch_concurrency: Several = Field(
        32, description="Threads of a worker that serves only the fetch queue (I/O bound)."
    )
    worker_concurrency: Several | None = Field(
        None, description="Processes of a worker for the CPU stages; default: the number of cores."
    )
    max_memory_per_child: Count = Field(
        1024,
        description="Megabytes of resident memory (its peak, as the OS counts it) after which "
        "a worker's pool process is replaced, once its task ends; 0 for no limit. A safety "
        "net, not a cure: a pool process levels off at a few hundred megabytes (`make bench "
        "BENCH_ARGS=--soak`).",
    )
    max_tasks_per_child: Count = Field(
        0,
        description="Tasks after which a worker's pool process is replaced; 0 for no limit.",
    )
    task_events: bool = Field(
        False,
        description="Workers send an event for every task from their start, and senders a "
        "task-sent event (Flower's queue column). Off, Flower still sees every task a worker "
        "receives once Flower runs: it turns events on in the workers it watches.",
    )
    task_soft_time_limit: Several = Field(
        120, description="Seconds after which a task is asked to stop and its failure recorded."
    )
    task_time_limit: Several = Field(150, description="Seconds after which a task is killed.")
    parse_time_limit: Several = Field(
        60,
        description="Seconds the clean or extract stage may spend on one page before it is "
        "recorded as `time_limit` (killed 30 s later if it does not stop).",
    )
    outage_patience: Pause = Field(
        3600.0,
        description="Seconds a task keeps retrying while the database or Redis is away; these "
        "retries do not count against NEWSFLOW_MAX_RETRIES.",
    )
    visibility_timeout: Several | None = Field(
        None,
        description="Seconds before Redis redelivers a message whose worker died without "
        "acknowledging it; default: the longest task's hard limit plus 150 s (waits are kept "
        "in Redis, not held by workers).",
    )

    reprocess_schedule: str = Field(
        "0 3 * * *",
        description="When beat reprocesses articles an older extractor produced: a crontab "
        "line (UTC) or a number of seconds; `off` turns it off.",
    )
    reprocess_batch: Several = Field(
        10000, description="Most articles one scheduled reprocessing run sends to the queues."
    )

    metrics_address: str = Field(
        "127.0.0.1", description="Address a worker's Prometheus endpoint listens on."
    )
    metrics_port: Port = Field(
        9540,
        description="Port of a worker's Prometheus endpoint (`/metrics`); 0 turns it off. "
        "Workers sharing a host need one port each.",
    )

    flower_address: str = Field("127.0.0.1", description="Address Flower listens on.")
    flower_port: Port = Field(5555, description="Port Flower listens on.")

    @field_validator("database_url")
    @classmethod
    def _usable_database(cls, url: str | None) -> str | None:
        from pipeline.store.urls import check_database_url

        try:
            return check_database_url(url) if url else None
        except InvalidRequest as error:
            raise ValueError(str(error)) from None  # pydantic reports ValueErrors only

    @property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'newsflow.db'}"

    @property
    def allowed_host_set(self) -> frozenset[str]:
        return frozenset(
            host.strip().lower() for host in self.allowed_hosts.split(",") if host.strip()
        )

    @property
    def results(self) -> str:
        return self.result_backend or self.broker_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment.

    A value that cannot be used raises :class:`~pipeline.errors.InvalidRequest` naming the
    variable, what it held and what it must be, rather than pydantic's report on a class the
    operator never wrote.
    """
    try:
        return Settings()
    except ValidationError as error:
        raise InvalidRequest(_explain(error)) from None


def _explain(error: ValidationError) -> str:
    problems = []
    for problem in error.errors():
        name = "NEWSFLOW_" + "_".join(str(part) for part in problem["loc"]).upper()
        if problem["type"] == "value_error":
            # Our own validators' words: they say what the value was and what would do.
            problems.append(f"{name}: {problem['ctx']['error']}")
        else:
            problems.append(f"{name}={problem.get('input')!r}: {problem['msg'].lower()}")
    return "bad setting: " + "; ".join(problems)
