"""What Flower shows as a stage task's arguments: the article's URL, for every message of an
article, retries and waits included.

A later stage's real argument is a page id or a whole record, which tells an operator nothing
(and is written out again for every message). The tests listen to the task-received events
real workers send, the ones Flower reads its arguments column from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from pipeline.settings import get_settings
from pipeline.store.db import dispose_engines, prepare_database
from tests.conftest import WorkerProcess, wait_until
from tests.e2e.stories import HTML, STAGES, story
from tests.httpserver import LocalServer, Reply
from tests.tcpproxy import TcpProxy

# Workers send task events from their start, as they do once Flower has asked for them.
EVENTS = {"NEWSFLOW_TASK_EVENTS": "true"}


class TaskEvents:
    """The task-received events of every worker on the test broker, heard in a thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.received: list[dict[str, Any]] = []
        self.listening = threading.Event()
        self._receiver: Any = None
        self._thread = threading.Thread(target=self._listen, daemon=True)

    def _listen(self) -> None:
        with self.app.connection_for_read() as connection:
            self._receiver = self.app.events.Receiver(
                connection,
                handlers={
                    "task-received": self.received.append,
                    # A heartbeat heard means the subscription is in place: events sent
                    # from then on are not missed.
                    "worker-heartbeat": lambda _event: self.listening.set(),
                    "*": lambda _event: None,
                },
            )
            # wakeup: ask every worker for a heartbeat now rather than within 2 s.
            self._receiver.capture(limit=None, timeout=None, wakeup=True)

    def start(self) -> None:
        self._thread.start()
        if not self.listening.wait(timeout=30):
            raise TimeoutError("no worker heartbeat heard within 30 s")

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(timeout=10)

    def of(self, root_id: str) -> list[dict[str, Any]]:
        """The events of one article's chain, in the order they were heard."""
        return [event for event in list(self.received) if event.get("root_id") == root_id]


@contextmanager
def task_events(app: Any) -> Iterator[TaskEvents]:
    events = TaskEvents(app)
    try:
        events.start()
        yield events
    finally:
        events.stop()


def first_task_id(result: Any) -> str:
    """The chain's first task (its root), from the result of its last."""
    while result.parent is not None:
        result = result.parent
    return str(result.id)


def by_stage(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {stage: [] for stage in STAGES}
    for event in events:
        found[str(event["name"]).removeprefix("newsflow.")].append(event)
    return found


def assert_every_message_shows(url: str, events: list[dict[str, Any]]) -> None:
    shown = {(event["name"], event["args"], event["kwargs"]) for event in events}
    assert shown == {(f"newsflow.{stage}", repr((url,)), "{}") for stage in STAGES}, shown


def test_every_message_of_an_article_shows_its_url_a_retried_fetch_too(
    start_worker: Callable[..., WorkerProcess], celery_app: Any, http_server: LocalServer
) -> None:
    from workers.tasks import article_chain

    url = http_server.route("/busy-once", Reply(503, b"busy"), Reply(200, story(1), HTML))
    worker = start_worker(extra_env=EVENTS)
    with task_events(celery_app) as events:
        result = article_chain(url).apply_async()
        result.get(timeout=60)
        root = first_task_id(result)
        # Events travel apart from the tasks: wait until the store task's has arrived too.
        wait_until(lambda: all(by_stage(events.of(root)).values()), timeout=15)
    received = events.of(root)
    stages = by_stage(received)
    assert [event["retries"] for event in stages["fetch"]] == [0, 1], worker.log()[-3000:]
    assert http_server.count("/busy-once") == 2
    assert_every_message_shows(url, received)


@pytest.mark.postgres
def test_a_page_stage_sent_again_while_the_database_is_away_still_shows_the_url(
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    postgres_url: str,
    http_server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fetch worker reaches the database; the worker of the later stages only through a
    proxy that is cut, so its clean task waits for the database: it is sent again, in a new
    message, with the arguments Celery would write out afresh (the whole page record)."""
    from workers.tasks import article_chain

    direct = make_url(postgres_url)
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
    through_proxy = direct.set(port=proxy.port).render_as_string(hide_password=False)
    monkeypatch.setenv("NEWSFLOW_DATABASE_URL", postgres_url)
    get_settings.cache_clear()
    prepare_database(get_settings())
    url = http_server.route("/waits", Reply(200, story(2), HTML))
    start_worker("--queues", "fetch", extra_env=EVENTS)
    pages = start_worker(
        "--queues",
        "clean,extract,store",
        extra_env={**EVENTS, "NEWSFLOW_DATABASE_URL": through_proxy},
    )
    try:
        with task_events(celery_app) as events:
            proxy.close()
            result = article_chain(url).apply_async()
            root = first_task_id(result)
            try:
                # Received once, waited, received again: a second message of the same task.
                wait_until(lambda: len(by_stage(events.of(root))["clean"]) >= 2, timeout=60)
            finally:
                proxy.open()
            result.get(timeout=60)
            wait_until(lambda: all(by_stage(events.of(root)).values()), timeout=15)
        received = events.of(root)
        assert "waiting" in pages.log()
        assert_every_message_shows(url, received)
    finally:
        proxy.close()
        dispose_engines()


def test_a_stage_task_sent_again_by_celery_itself_keeps_what_its_message_showed(
    env: dict[str, str],
) -> None:
    """Celery re-sends a task whose pool process died (``task_retry_on_worker_lost``) from the
    request, as our retries and waits do: the same rule applies there."""
    from celery.app.task import Context

    from workers.app import get_app
    from workers.tasks import clean

    get_app()
    message = {"page_id": 7, "url": "https://example.org/a.html", "entry": None}
    request = Context(
        {
            "id": "a-task",
            "args": [message],
            "kwargs": {},
            "argsrepr": "('https://example.org/a.html',)",
            "kwargsrepr": "{}",
            "delivery_info": {"exchange": "", "routing_key": "clean"},
        }
    )
    again = clean.signature_from_request(request, countdown=1.0, retries=1)
    assert again.options["argsrepr"] == "('https://example.org/a.html',)"
    assert again.options["kwargsrepr"] == "{}"
    assert again.args == (message,) or list(again.args) == [message]
