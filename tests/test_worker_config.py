"""The Celery configuration and retry policy that the tasks rely on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from celery.schedules import crontab
from kombu import Queue

from pipeline import STAGES
from pipeline.errors import InvalidRequest
from pipeline.settings import Settings
from tests.conftest import ROOT, free_port, newsflow
from workers.config import celery_config, task_name
from workers.policy import backoff
from workers.schedule import reprocess_schedule


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
    # Task events only where someone reads them: Flower turns them on in the workers it
    # watches; NEWSFLOW_TASK_EVENTS turns them on from the start.
    assert not config["worker_send_task_events"] and not config["task_send_sent_event"]
    assert not config["task_track_started"]
    events = celery_config(Settings(task_events=True))
    assert events["worker_send_task_events"] and events["task_send_sent_event"]
    # Waits are kept in Redis, not held by workers: the timeout outlasts the longest task only.
    timeout = config["broker_transport_options"]["visibility_timeout"]
    assert settings.task_time_limit < timeout <= 2 * settings.task_time_limit


def test_every_stage_has_soft_and_hard_limits_and_parsing_the_shorter_ones() -> None:
    settings = Settings(parse_time_limit=20, task_soft_time_limit=120, task_time_limit=150)
    annotations = celery_config(settings)["task_annotations"]
    for stage in STAGES:
        limits = annotations[task_name(stage)]
        assert 0 < limits["soft_time_limit"] < limits["time_limit"], stage
    assert annotations[task_name("clean")] == {"soft_time_limit": 20, "time_limit": 50}
    assert annotations[task_name("extract")]["soft_time_limit"] == 20
    assert annotations[task_name("fetch")] == {"soft_time_limit": 120, "time_limit": 150}


def test_the_visibility_timeout_is_minutes_and_follows_the_longest_task() -> None:
    default = Settings()
    assert celery_config(default)["broker_transport_options"]["visibility_timeout"] == 150 + 150
    slow = Settings(task_time_limit=900, task_soft_time_limit=800, parse_time_limit=60)
    assert celery_config(slow)["broker_transport_options"]["visibility_timeout"] == 900 + 150
    short = Settings(visibility_timeout=60, task_time_limit=150)
    options = celery_config(short)["broker_transport_options"]
    assert options["visibility_timeout"] == 60
    # Messages of a dead worker are looked for often enough to come back soon after 60 s.
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 10
    # A worker killed while holding the lock around that look must not block it for long.
    assert options["unacked_mutex_expire"] <= 15


def test_producers_and_workers_ride_out_a_redis_restart() -> None:
    settings = Settings(parse_time_limit=60, task_soft_time_limit=120)
    config = celery_config(settings)
    assert config["broker_connection_retry"] and config["broker_connection_max_retries"] is None
    policy = config["task_publish_retry_policy"]
    assert config["task_publish_retry"]
    patience = sum(
        min(policy["interval_max"], policy["interval_start"] + step * policy["interval_step"])
        for step in range(policy["max_retries"])
    )
    # Long enough for a restart; short enough that a stage handing on gives up before its own
    # soft time limit cuts it short.
    assert 20 <= patience < 60
    assert config["result_backend_always_retry"]


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


def test_beat_reprocesses_nightly_by_default_on_any_schedule_given_or_never() -> None:
    def reprocessing(value: str) -> Any:
        schedule = celery_config(Settings(reprocess_schedule=value))["beat_schedule"]
        entry = schedule.get("reprocess-outdated-articles")
        assert entry is None or entry["task"] == "newsflow.reprocess"
        return None if entry is None else entry["schedule"]

    nightly = reprocessing(Settings().reprocess_schedule)
    assert isinstance(nightly, crontab)
    assert (nightly.hour, nightly.minute) == ({3}, {0})
    assert reprocessing("900") == 900.0
    assert reprocessing("off") is None
    weekly = reprocessing("30 2 * * sun")
    assert isinstance(weekly, crontab) and weekly.day_of_week == {0}


def test_a_bad_reprocess_schedule_stops_beat_with_the_reason_and_nothing_else() -> None:
    bad = {**os.environ, "NEWSFLOW_REPROCESS_SCHEDULE": "3am daily"}
    # Other processes build the same configuration: they go on, without that entry.
    assert (
        "reprocess-outdated-articles"
        not in celery_config(Settings(reprocess_schedule="3am daily"))["beat_schedule"]
    )
    with pytest.raises(InvalidRequest, match="neither a crontab line"):
        reprocess_schedule("3am daily")
    with pytest.raises(InvalidRequest, match="Invalid end range"):
        reprocess_schedule("99 3 * * *")
    beat = newsflow("beat", env=bad, timeout=60)
    assert beat.returncode == 1 and "3am daily" in beat.stderr and "Traceback" not in beat.stderr


def test_importing_the_workers_modules_builds_no_celery_app() -> None:
    code = (
        "import celery._state\n"
        "import workers.app, workers.tasks, workers.reprocess, workers.failure_retry\n"
        "import workers.status, workers.metrics, workers.policy\n"
        "assert workers.app._app is None\n"
        "assert not list(celery._state._get_active_apps())\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_create_app_keeps_its_settings_registers_every_task_and_is_the_processs_app() -> None:
    from celery import current_app
    from celery.app.utils import find_app

    from workers.app import create_app, get_app, settings_of

    settings = Settings(broker_url="redis://127.0.0.1:1/7", max_retries=2)
    app = create_app(settings)
    assert settings_of(app) is settings and app.conf.broker_url == settings.broker_url
    assert {task_name(stage) for stage in [*STAGES, "poll", "dispatch", "reprocess"]} <= set(
        app.tasks
    )
    assert app.tasks[task_name("clean")].settings is settings
    assert get_app() is app and current_app._get_current_object() is app
    # What `celery -A workers.app` (Flower, Celery's own commands) finds.
    assert find_app("workers.app") is app
    other = create_app(Settings(broker_url="redis://127.0.0.1:1/8"))
    assert get_app() is other and other.tasks[task_name("clean")].settings is not settings


def test_resources_are_made_once_and_made_again_after_being_forgotten() -> None:
    from workers.resources import Resources

    resources = Resources(Settings())
    fetcher = resources.fetcher()
    assert resources.fetcher() is fetcher
    resources.forget()  # what a forked process does with its parent's
    assert resources.fetcher() is not fetcher


def test_a_worker_made_by_create_app_reads_its_own_settings_not_the_environment(
    celery_app: Any, settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    """The worker's database and broker come from the settings it was made with: the
    environment points both somewhere that does not work."""
    from workers.tasks import reconcile

    own = settings.model_copy(update={"broker_url": redis_url, "result_backend": redis_url})
    code = (
        "import json, sys\n"
        "from pipeline.settings import Settings\n"
        "from workers.app import create_app\n"
        "app = create_app(Settings(**json.loads(sys.argv[1])))\n"
        "app.worker_main(['worker', '--pool=solo', '--queues=store', '--loglevel=info',\n"
        f"                 '--hostname=own-settings-{uuid.uuid4().hex[:8]}@%h'])\n"
    )
    away = {
        **os.environ,
        "NEWSFLOW_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
        "NEWSFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}",
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-c", code, own.model_dump_json()],
        cwd=ROOT,
        env=away,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert reconcile.apply_async(kwargs={"older_than": 0}).get(timeout=60) == 0
    except Exception:
        raise AssertionError((tmp_path / "worker.log").read_text(errors="replace")) from None
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()


def test_an_app_sent_to_a_spawned_process_keeps_its_settings_and_tasks() -> None:
    """Where pool processes are spawned rather than forked (macOS), each receives the app
    pickled: it must arrive with its settings, its task modules and resources of its own."""
    import pickle

    from workers.app import create_app

    app = create_app(Settings(broker_url="redis://127.0.0.1:1/9"))
    code = (
        "import pickle, sys\n"
        "app = pickle.loads(sys.stdin.buffer.read())\n"
        "app.loader.import_default_modules()  # what a worker does with the app's includes\n"
        "from workers.app import resources_of, settings_of\n"
        "print(settings_of(app).broker_url, type(resources_of(app)).__name__)\n"
        "print(' '.join(sorted(t for t in app.tasks if t.startswith('newsflow.'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(app),
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    settings_line, tasks_line = result.stdout.decode().splitlines()
    assert settings_line == "redis://127.0.0.1:1/9 Resources"
    assert {task_name(stage) for stage in [*STAGES, "poll", "dispatch", "reprocess"]} <= set(
        tasks_line.split()
    )


def test_pool_processes_are_replaced_past_the_memory_safety_net_only_if_set() -> None:
    config = celery_config(Settings())
    # 1 GiB by default, in Celery's unit (KiB); no limit on tasks.
    assert config["worker_max_memory_per_child"] == 1024 * 1024
    assert config["worker_max_tasks_per_child"] is None
    off = celery_config(Settings(max_memory_per_child=0, max_tasks_per_child=500))
    assert off["worker_max_memory_per_child"] is None
    assert off["worker_max_tasks_per_child"] == 500
