"""What ``newsflow status`` reads from Redis, and what it says when Redis does not answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import redis as redis_client
from rich.console import Console

from pipeline.settings import Settings, get_settings
from tests.conftest import ROOT, free_port
from workers.delayed import Delayed, delayed_key
from workers.queues import queue_depths
from workers.status import collect
from workers.status_screen import render

PRIORITY = "\x06\x16"


def held(routing_key: str, body: str) -> str:
    """An entry of kombu's ``unacked`` hash: [message, exchange, routing key]."""
    return json.dumps([{"body": body, "properties": {"x": ']", "store"]'}}, "", routing_key])


def test_queue_depths_count_priority_lists_and_held_messages_per_queue(celery_app: Any) -> None:
    settings = get_settings()
    broker = redis_client.Redis.from_url(settings.broker_url)
    broker.rpush("extract", "m1", "m2")
    broker.rpush(f"extract{PRIORITY}3", "m3")
    broker.rpush(f"store{PRIORITY}9", "m4")
    entries = {f"tag-{n}": held("store", "x" * 50_000) for n in range(3)}
    entries["tag-fetch"] = held("fetch", 'quotes " and ] inside')
    broker.hset("unacked", mapping=entries)
    broker.zadd(delayed_key("fetch"), {"fetch\nm5": 2000.0, "fetch\nm6": 1000.0})
    try:
        depths = queue_depths(broker, settings)
        assert depths.waiting == {"fetch": 0, "clean": 0, "extract": 3, "store": 1}
        assert depths.unacked == {"fetch": 1, "clean": 0, "extract": 0, "store": 3}
        assert (depths.unacked_total, depths.unacked_complete) == (4, True)
        assert depths.delayed["fetch"] == Delayed(count=2, next_due=1000.0)
        assert depths.delayed["store"] == Delayed(count=0, next_due=None)
    finally:
        broker.delete(
            "extract", f"extract{PRIORITY}3", f"store{PRIORITY}9", "unacked", delayed_key("fetch")
        )


def test_without_redis_the_status_says_so_and_still_shows_the_store(
    settings: Settings, monkeypatch: Any
) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("NEWSFLOW_BROKER_URL", nobody)
    get_settings.cache_clear()

    report = collect(get_settings())
    assert report.broker_error is not None
    assert report.broker_error.startswith(f"cannot reach the broker at {nobody}")
    assert report.queues == [] and report.workers == []
    assert report.articles.total == 0 and report.sources.total == 0

    console = Console(record=True, width=120)
    render(report, console)
    assert "queues and workers are unknown" in console.export_text()

    result = subprocess.run(
        [sys.executable, "-m", "workers.cli", "status"],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "cannot reach the broker" in result.stdout and "articles" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
