"""The settings a worker runs with, asked for by the commands that send it work.

A worker reads its settings once, when it starts, from its own environment. A user who sets
``NEWSFLOW_ALLOWED_HOSTS`` (or points ``NEWSFLOW_DATABASE_URL`` elsewhere) in one shell and
sends work from it sees the worker go on with what it started with. So each worker answers
a remote-control question, ``newsflow_settings``, with the settings that decide what becomes
of an item; a command compares them with its own and says which differ
(:func:`differences`), and ``newsflow status`` shows them beside each worker.

Only settings that change an item's outcome are compared: where it is stored, what the guard
lets through, how fast and how far a host is fetched. A worker's own size (concurrency,
metrics port) is its business.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from celery.worker.control import inspect_command
from pydantic import BaseModel

from pipeline.settings import Settings
from pipeline.store.urls import shown
from pipeline.version import extractor_version

COMMAND = "newsflow_settings"

# How long a command waits for the workers' answers; all of it when none answers.
ASK_TIMEOUT = 1.0


class SettingDifference(BaseModel):
    name: str  # the environment variable, or "extractor" for the code's version
    here: str
    worker: str


def effective_settings(settings: Settings) -> dict[str, str]:
    """The settings that decide what becomes of an item, as text (passwords hidden)."""
    return {
        "NEWSFLOW_DATABASE_URL": _database(settings.database),
        "NEWSFLOW_ALLOW_PRIVATE_NETWORKS": str(settings.allow_private_networks).lower(),
        "NEWSFLOW_ALLOWED_HOSTS": ",".join(sorted(settings.allowed_host_set)),
        "NEWSFLOW_HOST_RATE": f"{settings.host_rate:g}",
        "NEWSFLOW_USER_AGENT": settings.user_agent,
        "NEWSFLOW_MAX_BYTES": str(settings.max_bytes),
        "NEWSFLOW_MAX_RETRIES": str(settings.max_retries),
        "NEWSFLOW_TOTAL_TIMEOUT": f"{settings.total_timeout:g}",
        "extractor": extractor_version(),
    }


def _database(url: str) -> str:
    """The database as a place: an SQLite path made absolute (a relative one is relative to
    each process's folder, so the same text can name two files), password hidden."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return f"sqlite:///{Path(parsed.database).resolve()}"
    return shown(url)


def difference_said(hostname: str, difference: SettingDifference) -> str:
    """One difference as a line says it: the worker's value, then this command's."""
    return (
        f"{hostname} runs with {difference.name}={difference.worker!r}, this command with "
        f"{difference.here!r}"
    )


def advice(difference: SettingDifference) -> str:
    """What to do about ``difference``, in a few words."""
    if difference.name == "extractor":
        return "the worker runs other newsflow code: restart it after an upgrade"
    # A worker in a container may reach the same server by another name: a difference is
    # not always a mistake, so the advice is conditional.
    return (
        "a worker reads its settings when it starts: if it should run with this command's, "
        "set them where it runs and restart it"
    )


def digest(values: dict[str, str]) -> str:
    """A short fingerprint of ``values``: equal for workers that run alike."""
    text = json.dumps(values, sort_keys=True).encode("utf-8")
    return hashlib.sha256(text).hexdigest()[:12]


def differences(here: dict[str, str], worker: dict[str, Any]) -> list[SettingDifference]:
    """Each setting whose value differs between this command and a worker's answer (a
    setting the worker did not report, from an older newsflow, is not guessed at)."""
    return [
        SettingDifference(name=name, here=value, worker=str(worker[name]))
        for name, value in here.items()
        if name in worker and str(worker[name]) != value
    ]


def ask_workers(
    app: Any, *, timeout: float = ASK_TIMEOUT, **options: Any
) -> dict[str, dict[str, Any] | None]:
    """Each answering worker's effective settings, by hostname (one broadcast); None for a
    worker that answers but does not know the question (an older newsflow)."""
    replies = app.control.broadcast(COMMAND, reply=True, timeout=timeout, **options) or []
    answers: dict[str, dict[str, Any] | None] = {}
    for reply in replies:
        for hostname, answer in reply.items():
            settings = answer.get("settings") if isinstance(answer, dict) else None
            answers[hostname] = settings if isinstance(settings, dict) else None
    return answers


@inspect_command(name=COMMAND)
def _newsflow_settings(state: Any, **_: Any) -> dict[str, Any]:
    from .app import settings_of

    return {"settings": effective_settings(settings_of(state.consumer.app))}
