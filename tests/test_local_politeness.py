"""``newsflow ingest --local`` is as polite as a worker: a page robots.txt disallows is never
requested, and is recorded as blocked, with Redis or without it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pipeline.settings import Settings, get_settings
from pipeline.store.db import session_scope
from pipeline.store.failures import list_failures
from tests.conftest import free_port
from tests.httpserver import LocalServer, Reply
from workers.cli import app

runner = CliRunner()


@pytest.mark.parametrize("shared", [True, False], ids=["redis", "in-process"])
def test_ingest_local_of_a_page_robots_txt_disallows_is_recorded_as_blocked(
    shared: bool,
    request: pytest.FixtureRequest,
    settings: Settings,
    http_server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker = (
        request.getfixturevalue("redis_url") if shared else f"redis://127.0.0.1:{free_port()}/0"
    )
    monkeypatch.setenv("NEWSFLOW_BROKER_URL", broker)
    get_settings.cache_clear()
    http_server.route(
        "/robots.txt",
        Reply(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}),
    )
    page = http_server.route(
        "/private/story",
        Reply(
            200, b"<html><body><p>Not for robots.</p></body></html>", {"Content-Type": "text/html"}
        ),
    )
    if shared:
        import redis

        robots_key = f"newsflow:robots:{http_server.base_url}"
        redis.Redis.from_url(broker).delete(robots_key)
    result = runner.invoke(app, ["ingest", "--local", page], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "blocked" in result.stdout and "robots.txt" in result.stdout
    assert http_server.count("/private/story") == 0 and http_server.count("/robots.txt") == 1
    with session_scope(settings) as session:
        failures = list_failures(session)
    # As a worker records it: the fetch stage, the source as its item, for good.
    assert [(f.stage, f.item, f.reason, f.retryable) for f in failures] == [
        ("fetch", page, "blocked", False)
    ]
    assert failures[0].payload == {"source": page, "entry": None, "rate": None}
