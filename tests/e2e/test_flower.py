"""Flower, started as operators start it, sees the worker and every stage of an article."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT, free_port, wait_until
from tests.e2e.test_pipeline import ARTICLE_HTML
from tests.httpserver import LocalServer, Reply


def test_flower_sees_the_worker_and_the_four_tasks_of_an_article(
    http_server: LocalServer, start_worker: Any, celery_app: Any, tmp_path: Path
) -> None:
    from workers.tasks import article_chain

    port = free_port()
    log = (tmp_path / "flower.log").open("wb")
    flower = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "flower", "--port", str(port)],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        worker = start_worker()

        def workers_seen() -> dict[str, Any] | None:
            try:
                response = httpx.get(f"{api}/workers", params={"refresh": "true"}, timeout=5)
            except httpx.TransportError:
                return None
            return response.json() if response.status_code == 200 and response.json() else None

        seen = wait_until(workers_seen, timeout=60, interval=0.5)
        assert worker.alive()
        assert any(name.startswith("test-") for name in seen)

        page = ARTICLE_HTML.format(title="Flower watches", sentence="Flower was watching.").encode()
        url = http_server.route("/watched", Reply(200, page, {"Content-Type": "text/html"}))
        result = article_chain(url).apply_async()
        result.get(timeout=60)

        def four_tasks() -> dict[str, str] | None:
            tasks = httpx.get(f"{api}/tasks", timeout=5).json()
            names = {info.get("name"): info.get("state") for info in tasks.values()}
            wanted = {f"newsflow.{stage}" for stage in ("fetch", "clean", "extract", "store")}
            return (
                names
                if wanted <= set(names) and all(names[n] == "SUCCESS" for n in wanted)
                else None
            )

        names = wait_until(four_tasks, timeout=30, interval=0.5)
        assert names["newsflow.fetch"] == "SUCCESS"
        queues = {
            info["routing_key"]
            for info in httpx.get(f"{api}/tasks", timeout=5).json().values()
            if info.get("routing_key")
        }
        assert {"fetch", "clean", "extract", "store"} <= queues
    finally:
        os.killpg(flower.pid, signal.SIGTERM)
        try:
            flower.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(flower.pid, signal.SIGKILL)
            flower.wait(timeout=10)
        log.close()
