"""Celery configuration, built from :class:`pipeline.settings.Settings`.

Queues are explicit, one per stage, and a task routed to an unknown queue fails loudly.
Delivery is at-least-once (late acks, redelivery when a worker dies), which is safe because
every stage is idempotent.
"""

from __future__ import annotations

from typing import Any

from kombu import Queue

from pipeline import STAGES
from pipeline.settings import Settings

from .schedule import beat_schedule

QUEUES = STAGES


def task_name(stage: str) -> str:
    return f"newsflow.{stage}"


# Room between the longest task and the visibility timeout: a message handed to a worker may
# wait a little for a free process, and a task may run a little past its limit before the pool
# kills it.
SLACK = 150


def longest_task(settings: Settings) -> float:
    """The longest any task may run before it is killed (its hard time limit)."""
    return max(hard for _, hard in stage_time_limits(settings).values())


def visibility_timeout(settings: Settings) -> int:
    """Seconds before Redis hands an unacknowledged message to another worker.

    A worker holds a message only while it runs it: every wait (a rate slot, a retry's
    backoff, a Retry-After, an outage) is kept in Redis's delayed set instead
    (:mod:`workers.delayed`). So by default the timeout need only outlast the longest task,
    and a killed worker's messages come back within minutes.
    """
    if settings.visibility_timeout:
        return settings.visibility_timeout
    return int(longest_task(settings) + SLACK)


def stage_time_limits(settings: Settings) -> dict[str, tuple[float, float]]:
    """(soft, hard) seconds per task. Parsing gets its own, shorter limit: a page that takes a
    minute to parse is an attack or a bug, while a fetch may be slow for honest reasons."""
    network = (settings.task_soft_time_limit, settings.task_time_limit)
    parse = (settings.parse_time_limit, settings.parse_time_limit + 30)
    return {"fetch": network, "poll": network, "clean": parse, "extract": parse, "store": network}


def publish_retry_policy(settings: Settings) -> dict[str, float]:
    """How long a send keeps trying while Redis is away (restarting, say).

    Stages send the next stage's message from inside their task, so the sending gives up well
    before the shortest soft time limit, rather than being cut short by it; the task then fails
    without acknowledging, as Redis is away, and its message comes back. Two minutes at most.
    """
    shortest = min(soft for soft, _ in stage_time_limits(settings).values())
    patience = max(10.0, min(120.0, shortest / 2))
    # Waits of 0.5, 1, 1.5, then 2 s each.
    return {
        "max_retries": int(4 + max(0.0, patience - 5) // 2),
        "interval_start": 0.5,
        "interval_step": 0.5,
        "interval_max": 2.0,
    }


def celery_config(settings: Settings) -> dict[str, Any]:
    timeout = visibility_timeout(settings)
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.results,
        "broker_connection_retry_on_startup": True,
        # Workers reconnect after losing Redis, for as long as it takes (None: no limit).
        "broker_connection_retry": True,
        "broker_connection_max_retries": None,
        "broker_transport_options": {
            "visibility_timeout": timeout,
            # How often a worker looks for messages whose worker died unacknowledged, so they
            # are handed out soon after the visibility timeout, not minutes later.
            "unacked_restore_interval": max(1, min(60, timeout // 10)),
            "unacked_restore_throttle": 1,
            # The lock around that look outlives a worker killed while holding it, and while
            # it stands nobody's messages come back: keep it short next to the timeout.
            "unacked_mutex_expire": max(10, min(300, timeout // 4)),
            "socket_connect_timeout": 5,
            # Notice a dead connection (a restarted Redis) within seconds, not at TCP's pace.
            "health_check_interval": 10,
            "socket_keepalive": True,
        },
        "result_backend_transport_options": {"visibility_timeout": timeout},
        "task_publish_retry": True,
        "task_publish_retry_policy": publish_retry_policy(settings),
        # Storing a result or an error must not fail the task when Redis blinks.
        "result_backend_always_retry": True,
        "result_backend_max_retries": 60,
        "redis_backend_health_check_interval": 10,
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
            # A few queries and sends: light, beside the store tasks.
            task_name("reconcile"): {"queue": "store", "routing_key": "store"},
            task_name("reprocess"): {"queue": "store", "routing_key": "store"},
            task_name("prune_health"): {"queue": "store", "routing_key": "store"},
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
            },
            **{
                task_name(stage): {"soft_time_limit": soft, "time_limit": hard}
                for stage, (soft, hard) in stage_time_limits(settings).items()
            },
        },
        # A safety net for a pool process that grows (a leak in a C parser, say): replaced
        # once its task ends. None is Celery's "no limit"; Celery counts memory in KiB.
        "worker_max_memory_per_child": settings.max_memory_per_child * 1024 or None,
        "worker_max_tasks_per_child": settings.max_tasks_per_child or None,
        # One message at a time per process: a long task never sits on others' messages.
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        # A task still running when Redis drops is left to finish; its message was not
        # acknowledged, so Redis hands it out again later and the repeat is harmless.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # A task's STARTED state is one more write to the result backend per task, read by
        # nobody: Flower learns it from the task-started event.
        "task_track_started": False,
        # Task events cost each task four messages through Redis and a third of the main
        # process's time, and only Flower reads them. Flower turns them on in every worker it
        # watches (its enable_events broadcast, every 5 s), where they stay on until the
        # worker restarts; a worker Flower never saw sends none. Heartbeats and worker-online
        # events are always sent.
        "worker_send_task_events": settings.task_events,
        "task_send_sent_event": settings.task_events,
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "enable_utc": True,
    }
