"""The broker as workers and commands reach it: kombu's Redis transport with two fixes, so
that a worker survives a Redis restart, and one way to say that the broker does not answer.

Kombu's Redis transport, first.

When a worker loses Redis while it holds delivered, unacknowledged messages, Celery closes the
lost connection, and closing its channel tries to push those messages back to their queues.
Redis is gone, and by then kombu has dropped the connection's details, so the attempt raises
``AttributeError`` (or a connection error). That error escapes Celery's cleanup and the worker
dies ("Unrecoverable error"). Nothing needs pushing back: the messages are still in Redis's
``unacked`` set, and any worker hands them out again once the visibility timeout has passed.
So the failed attempt is logged and let go.

And a second: a producer that publishes on a channel closed with its lost connection gets a
connection error, which kombu's retry recovers from, instead of ``AttributeError``.

Then the errors: kombu, redis-py and the socket each say "the broker does not answer" their
own way. :func:`broker_errors` turns all of them into
:class:`pipeline.errors.BrokerUnavailable`, so callers catch newsflow's error alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.transport import TRANSPORT_ALIASES, virtual
from kombu.transport import redis as kombu_redis
from kombu.utils.json import dumps
from kombu.utils.url import maybe_sanitize_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeout

from pipeline.errors import BrokerUnavailable

from .delayed import DUE_HEADER, delayed_key, member

logger = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client: Any = None) -> None:
        try:
            super().restore_unacked(client)
        except (AttributeError, RedisConnectionError, RedisTimeout) as error:
            logger.warning(
                "could not hand back %d unacknowledged message(s) on a lost connection (%r); "
                "Redis redelivers them after the visibility timeout",
                len(self._delivered),
                error,
            )
            self._delivered.clear()

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        # A task rejects its message back to the queue when it could not store its wait,
        # Redis being away; handing it back fails the same way, and the message stays in
        # the unacknowledged set, from which Redis hands it out again after the timeout.
        try:
            super().reject(delivery_tag, requeue=requeue)
        except (RedisConnectionError, RedisTimeout) as error:
            logger.warning(
                "could not hand back a rejected message (%r); Redis redelivers it after the "
                "visibility timeout",
                error,
            )
            # Forget it here (it stays in Redis's unacknowledged set), or it would hold one of
            # this worker's prefetch places for good.
            virtual.QoS.ack(self, delivery_tag)


class Channel(kombu_redis.Channel):
    QoS = QoS
    _sync_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        # kombu builds a new client object for every message it publishes; one per channel
        # serves them all, over the same pool (made again, with a new client, after a drop).
        if client:
            yield client
            return
        pool = self.pool
        cached = self._sync_client
        if cached is None or cached.connection_pool is not pool:
            cached = self._sync_client = self._create_client()
        yield cached

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        # A message published with a due time waits in the delayed set, as the very message
        # this method would push, for the mover to push when it is due (workers.delayed).
        headers = dict(message.get("headers") or {})
        due = headers.pop(DUE_HEADER, None)
        if due is None:
            super()._put(queue, message, **kwargs)
            return
        # A copy: kombu publishes the same message again if this attempt fails, and it must
        # still carry its due time then.
        message = {**message, "headers": headers}
        key = self._q_for_pri(queue, self._get_message_priority(message, reverse=False))
        waiting = {member(self.global_keyprefix + key, dumps(message)): float(due)}
        batch = kwargs.pop("_publish_batch", None)
        if batch is not None:
            batch.add("zadd", delayed_key(queue), waiting)
            return
        with self.conn_or_acquire() as client:
            client.zadd(delayed_key(queue), waiting)

    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection is None:
            # A channel closed with its lost connection, still held by a producer: kombu
            # would fail with AttributeError, which no retry catches, so a task publishing its
            # next step (or its own wait) failed and its message was acknowledged and lost.
            # As a connection error, kombu's ensure() opens a fresh channel and publishes again.
            raise RedisConnectionError("the channel's connection was closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel


def use_for_redis_urls() -> None:
    """Make ``redis://`` and ``rediss://`` broker URLs use this transport in this process."""
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"


# What kombu, redis-py and a refused or reset socket raise when Redis does not answer.
UNREACHABLE = (KombuOperationalError, RedisError, OSError)


@contextmanager
def broker_errors(broker_url: str) -> Iterator[None]:
    """Within the block, the broker not answering is :class:`BrokerUnavailable`, whose message
    names the broker (without its password) and what the library said."""
    try:
        yield
    except UNREACHABLE as error:
        raise BrokerUnavailable(
            f"cannot reach the broker at {maybe_sanitize_url(broker_url)} ({error})"
        ) from error


def check_broker(app: Any, *, timeout: float = 5.0) -> None:
    """Ask the broker once, quickly, whether it answers; :class:`BrokerUnavailable` if not.

    Worth doing before sending many messages: each send would otherwise retry on its own
    before failing.
    """
    with broker_errors(app.conf.broker_url), app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=timeout)
