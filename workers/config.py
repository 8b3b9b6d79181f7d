"""Celery configuration, built from :class:`pipeline.settings.Settings`.

Queues are explicit, one per stage, and a task routed to an unknown queue fails loudly.
Delivery is at-least-once (late acks, redelivery when a worker dies), which is safe because
every stage is idempotent.
"""

from __future__ import annotations

from typing import Any

from kombu import Queue

from pipeline.settings import Settings
from pipeline.stages import STAGES

from .schedule import beat_schedule

QUEUES = STAGES


def task_name(stage: str) -> str:
    return f"newsflow.{stage}"


def celery_config(settings: Settings) -> dict[str, Any]:
    # A message not acknowledged within the visibility timeout is delivered again, so it must
    # outlast the longest task plus the longest countdown a retry may ask for.
    longest_wait = max(settings.retry_after_max, settings.retry_backoff_max)
    visibility_timeout = int(max(3600, longest_wait + settings.task_time_limit + 300))
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.results,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": visibility_timeout},
        "result_backend_transport_options": {"visibility_timeout": visibility_timeout},
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "result_expires": 24 * 3600,
        # Errors of every stage are kept for `ingest --wait`, even where results are not.
        "task_store_errors_even_if_ignored": True,
        "task_queues": [Queue(name, routing_key=name) for name in QUEUES],
        "task_default_queue": "clean",
        "task_create_missing_queues": False,
        "task_routes": {
            **{task_name(stage): {"queue": stage, "routing_key": stage} for stage in STAGES},
            # Polling waits on the network, like fetching: the same queue and workers.
            task_name("poll"): {"queue": "fetch", "routing_key": "fetch"},
            task_name("dispatch"): {"queue": "fetch", "routing_key": "fetch"},
        },
        "beat_schedule": beat_schedule(settings),
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A task whose process died (OOM, a crash in a C parser) is retried like any transient
        # failure, and counted, so one that kills its worker every time does not loop forever.
        "task_retry_on_worker_lost": True,
        "task_annotations": {
            "*": {
                "max_retries": settings.max_retries,
                "default_retry_delay": settings.retry_backoff,
            }
        },
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "task_track_started": True,
        # Events for Flower.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "enable_utc": True,
    }
