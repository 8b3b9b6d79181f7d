"""What Celery beat runs, and how often. Run exactly one beat process."""

from __future__ import annotations

import logging
from typing import Any

from celery.schedules import crontab

from pipeline.errors import InvalidRequest
from pipeline.settings import Settings

logger = logging.getLogger(__name__)


def beat_schedule(settings: Settings) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "dispatch-due-sources": {
            "task": "newsflow.dispatch",
            "schedule": 60.0,
            # A dispatch that waited in the queue past the next one is only a duplicate.
            "options": {"expires": 50},
        },
        # Pages whose chain a lost message stopped (see workers.tasks.reconcile).
        "reconcile-unfinished-pages": {
            "task": "newsflow.reconcile",
            "schedule": 900.0,
            "options": {"expires": 850},
        },
        # Health counts past any window (see pipeline.store.health.prune).
        "prune-source-health": {
            "task": "newsflow.prune_health",
            "schedule": crontab(minute=17, hour=3),
        },
    }
    try:
        reprocessing = reprocess_schedule(settings.reprocess_schedule)
    except InvalidRequest as error:
        # Every process builds this configuration; only beat needs the schedule, and
        # `newsflow beat` refuses to start with this message. Workers and commands go on.
        logger.warning("%s", error)
        reprocessing = None
    if reprocessing is not None:
        # Articles an older extractor produced (see workers.reprocess).
        schedule["reprocess-outdated-articles"] = {
            "task": "newsflow.reprocess",
            "schedule": reprocessing,
        }
    return schedule


def reprocess_schedule(text: str) -> crontab | float | None:
    """``NEWSFLOW_REPROCESS_SCHEDULE``: a crontab line (UTC), a number of seconds, or off."""
    value = text.strip()
    if value.lower() in {"off", "none", "never", ""}:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if seconds <= 0:
            raise InvalidRequest(f"NEWSFLOW_REPROCESS_SCHEDULE must be positive, not {text!r}")
        return seconds
    fields = value.split()
    if len(fields) != 5:
        raise InvalidRequest(
            f"NEWSFLOW_REPROCESS_SCHEDULE {text!r} is neither a crontab line "
            "(minute hour day month weekday) nor a number of seconds"
        )
    try:
        return crontab.from_string(" ".join(fields))
    except ValueError as error:
        raise InvalidRequest(f"NEWSFLOW_REPROCESS_SCHEDULE {text!r}: {error}") from error


def describe(schedule: dict[str, Any]) -> list[str]:
    """One line per entry of ``schedule``: what runs, and when (UTC)."""
    lines = []
    for name, entry in schedule.items():
        every = entry["schedule"]
        if isinstance(every, crontab):
            when = (
                f"at crontab '{every._orig_minute} {every._orig_hour} "
                f"{every._orig_day_of_month} {every._orig_month_of_year} "
                f"{every._orig_day_of_week}' (UTC)"
            )
        else:
            when = f"every {float(every):g} s"
        lines.append(f"{name}: {entry['task']} {when}")
    return lines
