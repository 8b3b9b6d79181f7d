"""Before work is sent: does a worker answer, and does it run with this command's settings?

A worker reads its settings when it starts. A setting changed in the user's shell since
(``NEWSFLOW_ALLOWED_HOSTS``, ``NEWSFLOW_DATABASE_URL``) reaches this command but not the
worker, and the work then fails, or is stored somewhere else, with no word of why. One
broadcast asks every worker for its settings (:mod:`workers.effective_settings`); each
difference is said here, on stderr, with what to do. Nothing is refused: the user may mean
it (a worker on another machine with its own paths, say).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape

from .console import errors

if TYPE_CHECKING:
    from pipeline.settings import Settings


def check_workers(app: Any, settings: Settings, *, sent: str) -> bool:
    """Warn when no worker answers (``sent``, e.g. "items", then waits in the queues) or when
    a worker's settings differ from this command's. True if any worker answered."""
    from workers.broker import broker_errors
    from workers.effective_settings import (
        advice,
        ask_workers,
        difference_said,
        differences,
        effective_settings,
    )

    with broker_errors(settings.broker_url):
        answers = ask_workers(app)
    if not answers:
        errors.print(
            f"[yellow]no worker answered:[/yellow] the {sent} wait in the queues until one "
            "starts (`newsflow worker`)",
        )
        return False
    here = effective_settings(settings)
    advised: set[str] = set()
    for hostname, theirs in sorted(answers.items()):
        if theirs is None:
            errors.print(
                f"[yellow]warning:[/yellow] worker {escape(hostname)} does not say which "
                "settings it runs with (an older newsflow?)",
                highlight=False,
            )
            continue
        for difference in differences(here, theirs):
            errors.print(
                f"[yellow]warning:[/yellow] worker {escape(difference_said(hostname, difference))}",
                highlight=False,
            )
            advised.add(advice(difference))
    for line in sorted(advised):
        errors.print(f"  {line} (`newsflow status` shows each worker's)", highlight=False)
    return True
