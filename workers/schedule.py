"""What Celery beat runs, and how often. Run exactly one beat process."""

from __future__ import annotations

from typing import Any

from pipeline.settings import Settings


def beat_schedule(settings: Settings) -> dict[str, Any]:
    return {
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
    }
