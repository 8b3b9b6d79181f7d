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


def test_a_command_waits_for_its_hosts_turn_but_not_past_the_longest_wait(
    settings: Settings, http_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one process an early request sleeps for its turn; a turn further away than
    ``LONGEST_WAIT`` (a host whose slots queued workers have taken) is said, not slept for."""
    from pipeline.errors import Throttled
    from pipeline.fetch import fetcher as fetcher_module

    monkeypatch.setenv("NEWSFLOW_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    get_settings.cache_clear()
    monkeypatch.setattr(fetcher_module, "LONGEST_WAIT", 0.2)
    body = b"<html><body><p>A story.</p></body></html>"
    first, second, third = (
        http_server.route(f"/story/{n}", Reply(200, body, {"Content-Type": "text/html"}))
        for n in range(3)
    )
    with fetcher_module.make_fetcher(get_settings().model_copy(update={"host_rate": 10.0})) as f:
        f.fetch(first)
        f.fetch(second)  # 0.1 s early: slept for, within the longest wait
    slow = get_settings().model_copy(update={"host_rate": 0.01})  # a turn every 100 s
    with fetcher_module.make_fetcher(slow) as f, pytest.raises(Throttled) as raised:
        f.fetch(third)  # robots.txt takes this new limiter's first turn; the page the next
    assert raised.value.retry_after is not None and raised.value.retry_after > 90
    assert http_server.count("/story/1") == 1 and http_server.count("/story/2") == 0
    assert http_server.count("/robots.txt") == 2  # once for each limiter
