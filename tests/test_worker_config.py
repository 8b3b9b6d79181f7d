"""The Celery configuration and retry policy that the tasks rely on."""

from __future__ import annotations

from kombu import Queue

from pipeline.settings import Settings
from pipeline.stages import STAGES
from workers.config import celery_config, task_name
from workers.tasks import backoff


def test_one_explicit_queue_per_stage_and_no_implicit_ones() -> None:
    config = celery_config(Settings())
    assert [queue.name for queue in config["task_queues"]] == list(STAGES)
    assert all(isinstance(queue, Queue) for queue in config["task_queues"])
    assert config["task_create_missing_queues"] is False
    assert {route["queue"] for route in config["task_routes"].values()} == set(STAGES)
    assert config["task_routes"][task_name("fetch")]["queue"] == "fetch"


def test_delivery_is_at_least_once_with_json_messages() -> None:
    settings = Settings()
    config = celery_config(settings)
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["accept_content"] == ["json"] and config["task_serializer"] == "json"
    assert config["task_soft_time_limit"] < config["task_time_limit"]
    assert config["worker_send_task_events"] and config["task_send_sent_event"]
    longest = max(settings.retry_after_max, settings.retry_backoff_max) + settings.task_time_limit
    assert config["broker_transport_options"]["visibility_timeout"] > longest


def test_backoff_grows_exponentially_within_bounds_and_jitters() -> None:
    settings = Settings(retry_backoff=2.0, retry_backoff_max=60.0)
    for retries in range(10):
        ceiling = min(60.0, 2.0 * 2**retries)
        waits = {backoff(retries, settings) for _ in range(20)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1


def test_beat_dispatches_due_sources_every_minute_and_stale_dispatches_expire() -> None:
    schedule = celery_config(Settings())["beat_schedule"]
    entry = schedule["dispatch-due-sources"]
    assert entry["task"] == task_name("dispatch")
    assert entry["options"]["expires"] < entry["schedule"] == 60.0
    routes = celery_config(Settings())["task_routes"]
    assert routes[task_name("poll")]["queue"] == routes[task_name("dispatch")]["queue"] == "fetch"
