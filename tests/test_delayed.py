"""The delayed set: a message that waits is kept in Redis, and moved onto its queue, whole and
once, when it is due. Real Redis; no worker needed."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import redis as redis_client
from celery.exceptions import Reject

from pipeline.errors import ServerError
from pipeline.settings import Settings, get_settings
from tests.conftest import free_port
from workers.delayed import delayed, delayed_key, move_due, send_delayed

QUEUES = ("fetch", "clean", "extract", "store")


def _messages(broker: redis_client.Redis, queue: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in broker.lrange(queue, 0, -1)]


def test_a_message_sent_to_wait_is_kept_in_redis_until_due_then_handed_out_next(
    celery_app: Any,
) -> None:
    from workers.tasks import fetch

    broker = redis_client.Redis.from_url(celery_app.conf.broker_url)
    fetch.s("https://example.org/now").apply_async()  # sent earlier, waiting its turn
    before = time.time()
    send_delayed(fetch.s("https://example.org/later", reserved=123.0), 30)

    assert broker.llen("fetch") == 1, "a waiting message must not be on the queue"
    waiting = delayed(broker, QUEUES)
    assert waiting["fetch"].count == 1 and waiting["clean"].count == 0
    due = waiting["fetch"].next_due
    assert due is not None and before + 29 <= due <= time.time() + 31

    assert move_due(broker, QUEUES, now=due - 1) == 0
    assert move_due(broker, QUEUES, now=due + 1) == 1
    assert broker.zcard(delayed_key("fetch")) == 0
    # Workers take from the right: the due message is the next one handed out.
    taken = json.loads(broker.rpop("fetch") or b"{}")
    assert taken["headers"]["task"] == "newsflow.fetch"
    assert taken["headers"]["kwargsrepr"].find("reserved") >= 0
    assert "newsflow-due" not in taken["headers"], "the due time is the set's, not the task's"
    assert taken["properties"]["delivery_info"]["routing_key"] == "fetch"


def test_a_delayed_task_runs_like_any_other_once_moved(celery_app: Any) -> None:
    from workers.tasks import fetch

    broker = redis_client.Redis.from_url(celery_app.conf.broker_url)
    result = send_delayed_and_move(broker, fetch.s("https://example.org/a"))
    # Consumed through kombu, as a worker would: the message decodes to the task it was.
    with celery_app.connection_for_read() as connection:
        queue = connection.SimpleQueue("fetch", no_ack=True)
        message = queue.get(timeout=5)
        assert message.headers["id"] == result and message.headers["task"] == "newsflow.fetch"
        assert message.payload[0] == ["https://example.org/a"]
        queue.close()


def send_delayed_and_move(broker: redis_client.Redis, signature: Any) -> str:
    frozen = signature.freeze()
    send_delayed(signature, 0.0)
    assert move_due(broker, QUEUES, now=time.time() + 1) == 1
    return str(frozen.id)


def test_movers_racing_move_every_message_exactly_once(celery_app: Any) -> None:
    broker = redis_client.Redis.from_url(celery_app.conf.broker_url)
    total = 3000
    now = time.time()
    for start in range(0, total, 500):
        broker.zadd(
            delayed_key("clean"),
            {f'clean\n{{"n": {n}}}': now - n for n in range(start, start + 500)},
        )
    moved: list[int] = []

    def mover() -> None:
        moved.append(move_due(broker, QUEUES, now=now + 1))

    threads = [threading.Thread(target=mover) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(moved) == total
    numbers = sorted(message["n"] for message in _messages(broker, "clean"))
    assert numbers == list(range(total)), "a message moved twice, or lost"
    assert broker.zcard(delayed_key("clean")) == 0
    broker.delete("clean")


def test_a_wait_redis_cannot_take_rejects_the_message_back_never_acknowledges_it(
    settings: Settings,
) -> None:
    """The task's own message is acknowledged only once its wait is stored; when Redis is
    away, the task rejects it back to the queue (Redis keeps it unacknowledged meanwhile)."""
    from workers.app import create_app
    from workers.policy import store_wait

    away = settings.model_copy(
        update={
            "broker_url": f"redis://127.0.0.1:{free_port()}/0",
            # Short limits, so that the send gives up within seconds (half the shortest).
            "parse_time_limit": 10,
            "task_soft_time_limit": 10,
            "task_time_limit": 20,
        }
    )
    app = create_app(away)
    try:
        signature = app.signature("newsflow.fetch", args=("https://example.org/a",))
        with pytest.raises(Reject) as rejected:
            store_wait(away, signature, 30.0, ServerError("busy", status_code=503))
        assert rejected.value.requeue is True
    finally:
        app.close()
        create_app(get_settings())  # the process's app, as the other tests expect it


def test_reconcile_leaves_the_outbox_alone_while_fetches_are_queued(celery_app: Any) -> None:
    """A row says when its item was sent, not how long it then sat in the queue: an overdue
    row is taken for lost only once the fetch queue is empty."""
    from pipeline import stages
    from workers.tasks import send_unfinished

    settings = get_settings()
    broker = redis_client.Redis.from_url(settings.broker_url)
    stages.note_sent(settings, [stages.fetch_payload("https://example.org/owed")])
    broker.rpush("fetch", b"{}")  # something still waiting its turn
    assert send_unfinished(settings, older_than=-1) == 0
    broker.delete("fetch")
    assert send_unfinished(settings, older_than=-1) == 1  # now it is lost: sent again
    assert json.loads(broker.lpop("fetch") or b"{}")["headers"]["task"] == "newsflow.fetch"
    assert send_unfinished(settings, older_than=60) == 0  # sent just now: not owed yet
