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

        wanted = {f"newsflow.{stage}" for stage in ("fetch", "clean", "extract", "store")}

        def four_tasks(ids: set[str]) -> dict[str, str] | None:
            tasks = httpx.get(f"{api}/tasks", timeout=5).json()
            names = {
                info.get("name"): info.get("state")
                for task_id, info in tasks.items()
                if task_id in ids
            }
            return (
                names
                if wanted <= set(names) and all(names[n] == "SUCCESS" for n in wanted)
                else None
            )

        # Workers send task events only once Flower has turned them on (its broadcast, every
        # 5 s): an article sent before that is stored, but Flower never hears of it. So send
        # one until Flower has seen all four of its tasks, a bounded number of times.
        names = None
        for attempt in range(8):
            page = ARTICLE_HTML.format(
                title=f"Flower watches {attempt}", sentence="Flower was watching."
            ).encode()
            url = http_server.route(
                f"/watched-{attempt}", Reply(200, page, {"Content-Type": "text/html"})
            )
            result = article_chain(url).apply_async()
            result.get(timeout=60)
            ids = {node.id for node in _chain_of(result)}
            try:
                names = wait_until(lambda: four_tasks(ids), timeout=6, interval=0.5)  # noqa: B023
                break
            except TimeoutError:
                continue
        assert names is not None, "Flower saw no article's four tasks in 8 tries"
        assert names["newsflow.fetch"] == "SUCCESS"
        # Flower names what a task is about: its URL, not only a page id.
        fetched = [
            info
            for info in httpx.get(f"{api}/tasks", timeout=5).json().values()
            if info.get("name") == "newsflow.clean"
        ]
        assert any("/watched-" in str(info.get("args")) for info in fetched)
    finally:
        os.killpg(flower.pid, signal.SIGTERM)
        try:
            flower.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(flower.pid, signal.SIGKILL)
            flower.wait(timeout=10)
        log.close()


def _chain_of(result: Any) -> list[Any]:
    """The results of a chain's tasks, from its last back to its first."""
    nodes = []
    while result is not None:
        nodes.append(result)
        result = result.parent
    return nodes
