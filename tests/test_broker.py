"""The broker transport: a worker must outlive a Redis restart, whatever it held then."""

from __future__ import annotations

from kombu import Connection

from workers.broker import Transport


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
