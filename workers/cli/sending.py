"""Sending to the broker, with its failures said in the pipeline's terms.

Every command that sends messages sends them through :func:`send_to_broker`. Kombu and redis
each have their own exceptions for a broker that does not answer; :mod:`workers.broker` turns
them all into :class:`~pipeline.errors.BrokerUnavailable`, so a command catches that alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pipeline.settings import Settings

Sent = TypeVar("Sent")


def send_to_broker(
    app: Any, settings: Settings, sends: Mapping[str, Callable[[], Sent]]
) -> dict[str, Sent]:
    """Call each of ``sends`` (each sends one item) and return what each returned, by item.

    Raises :class:`~pipeline.errors.BrokerUnavailable` when the broker does not answer, before
    the first send or during one. Warns on stderr first when no worker answers, or when one
    runs with other settings (:func:`~workers.cli.readiness.check_workers`).
    """
    from workers.broker import broker_errors, check_broker

    from .readiness import check_workers

    check_broker(app)
    # Said before the first send: what was sent waits for a worker, and runs as its
    # settings say, not this command's.
    check_workers(app, settings, sent="messages")
    with broker_errors(settings.broker_url):
        return {item: send() for item, send in sends.items()}
