"""The broker transport: a worker must outlive a Redis restart, whatever it held then; and a
broker that does not answer is one error, whichever library noticed."""

from __future__ import annotations

import time

import pytest
from celery import Celery
from kombu import Connection
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

from pipeline.errors import BrokerUnavailable
from tests.conftest import free_port
from workers.broker import Transport, broker_errors, check_broker


def test_closing_a_lost_connection_with_unacknowledged_messages_does_not_raise(
    redis_url: str,
) -> None:
    connection = Connection(redis_url, transport=Transport)
    channel = connection.default_channel
    queue = connection.SimpleQueue("newsflow-test-broker")
    queue.put({"n": 1})
    message = queue.get(timeout=5)  # delivered, not acknowledged
    assert channel.qos._delivered
    # What Celery does after losing Redis: the transport is let go, then the channel closed.
    connection._do_close_transport()
    channel.close()  # kombu's own QoS raises AttributeError here, which kills the worker
    assert not channel.qos._delivered
    # The message was never lost: it waits in Redis's unacked set for the visibility timeout.
    with Connection(redis_url, transport=Transport) as fresh:
        client = fresh.default_channel.client
        assert client.hexists("unacked", message.delivery_tag)
        client.hdel("unacked", message.delivery_tag)
        client.zrem("unacked_index", message.delivery_tag)
        client.delete("newsflow-test-broker")


@pytest.mark.parametrize("transport", [kombu_redis.Transport, Transport], ids=["kombu", "ours"])
def test_publishing_on_a_channel_closed_with_its_lost_connection_is_retried(
    redis_url: str, transport: type
) -> None:
    """What lost a fetch in a Redis restart test: a task publishing its own retry after
    Redis came back, on a channel kombu had closed with the lost connection."""
    queue = "newsflow-test-publish"
    with Connection(redis_url, transport=transport) as connection:
        producer = connection.Producer()
        publish = connection.ensure(producer, producer.publish, max_retries=3)
        publish({"n": 1}, routing_key=queue)
        connection.transport.close_connection(connection.connection)
        if transport is kombu_redis.Transport:
            # kombu's own channel: an AttributeError no retry catches; the message is lost.
            with pytest.raises(AttributeError):
                publish({"n": 2}, routing_key=queue)
        else:
            publish({"n": 2}, routing_key=queue)
    with Connection(redis_url, transport=Transport) as fresh:
        client = fresh.default_channel.client
        queued = client.llen(queue)
        client.delete(queue)
    assert queued == (1 if transport is kombu_redis.Transport else 2)


def test_a_broker_that_does_not_answer_is_newsflows_own_error_without_the_password() -> None:
    with (
        pytest.raises(BrokerUnavailable, match="cannot reach the broker at redis://") as caught,
        broker_errors("redis://:secret@127.0.0.1:1/0"),
    ):
        raise RedisConnectionError("Connection refused")
    assert "secret" not in str(caught.value) and "Connection refused" in str(caught.value)
    assert isinstance(caught.value.__cause__, RedisConnectionError)
    # Errors that do not mean "the broker is away" go through untouched.
    with pytest.raises(KeyError), broker_errors("redis://127.0.0.1:1/0"):
        raise KeyError("a bug")


def test_checking_a_broker_nobody_listens_on_fails_quickly_as_broker_unavailable() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = Celery("newsflow-test", broker=url, set_as_current=False)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match=f"cannot reach the broker at {url}"):
        check_broker(app, timeout=1.0)
    assert time.monotonic() - started < 10
