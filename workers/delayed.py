"""Messages that wait, kept in Redis rather than in a worker's hands.

A task that must come back later (its host's rate slot is ahead, a retry's backoff, a
server's Retry-After, an outage) is published with a due time. The transport
(:mod:`workers.broker`) stores that message, exactly as it would have pushed it onto its
queue, in a sorted set per queue scored by the due time, and the task's own message is then
acknowledged. Celery's countdowns did otherwise: the worker held the waiting message,
unacknowledged, so a worker killed or cut off took every wait it held with it until Redis's
visibility timeout handed them out again, an hour later.

Every worker runs a :class:`Mover`: several times a second, under a short Redis lock so that
one worker at a time does it, a Lua script takes the due messages out of the set and pushes
each onto its queue, on the end workers take from next. Redis runs a script with nothing else
in between, and it pushes each message before removing it from the set, so a message is never
in neither place, and never in both once the script returns.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from celery import bootsteps
from redis import Redis
from redis.exceptions import RedisError

from .config import QUEUES

logger = logging.getLogger(__name__)

#: The message header that asks the transport to keep the message until this epoch second.
DUE_HEADER = "newsflow-due"
#: How often each worker's mover looks for due messages, seconds.
MOVE_INTERVAL = 0.25
#: Messages moved per look, at most: a backlog that falls due at once moves over a few looks.
MOVE_BATCH = 500
_LOCK = "newsflow:delayed:lock"

# KEYS[1]: the delayed set. ARGV: now, batch. Each member is "<queue key>\n<message>".
# RPUSH: kombu pushes on the left and workers pop from the right, so a message whose time
# has come is the next one handed out, not queued behind everything sent meanwhile.
_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
    local cut = string.find(member, '\\n', 1, true)
    redis.call('RPUSH', string.sub(member, 1, cut - 1), string.sub(member, cut + 1))
    redis.call('ZREM', KEYS[1], member)
end
return #due
"""


def send_delayed(signature: Any, countdown: float) -> None:
    """Publish ``signature`` to wait ``countdown`` seconds in the delayed set of its queue."""
    headers = {**(signature.options.get("headers") or {}), DUE_HEADER: time.time() + countdown}
    signature.apply_async(headers=headers)


def delayed_key(queue: str, prefix: str = "") -> str:
    """The sorted set holding ``queue``'s waiting messages."""
    return f"{prefix}newsflow:delayed:{queue}"


def member(queue_key: str, message: str) -> str:
    """What the set holds for one message: the list it goes to, then the message itself."""
    return f"{queue_key}\n{message}"


def move_due(
    client: Redis, queues: Iterable[str], *, prefix: str = "", now: float | None = None
) -> int:
    """Move every message that is due onto its queue; how many were moved."""
    script = client.register_script(_MOVE_DUE)
    moment = time.time() if now is None else now
    moved = 0
    for queue in queues:
        while True:
            count = int(script(keys=[delayed_key(queue, prefix)], args=[moment, MOVE_BATCH]))
            moved += count
            if count < MOVE_BATCH:
                break
    return moved


@dataclass(frozen=True)
class Delayed:
    """What waits for one queue: how many messages, and when the first of them is due."""

    count: int
    next_due: float | None


def delayed(client: Redis, queues: Iterable[str], *, prefix: str = "") -> dict[str, Delayed]:
    """The waiting messages of each queue, read in one round trip."""
    names = list(queues)
    with client.pipeline(transaction=False) as pipe:
        for queue in names:
            pipe.zcard(delayed_key(queue, prefix))
            pipe.zrange(delayed_key(queue, prefix), 0, 0, withscores=True)
        answers = pipe.execute()
    found = {}
    for index, queue in enumerate(names):
        count, first = answers[2 * index], answers[2 * index + 1]
        found[queue] = Delayed(int(count), float(first[0][1]) if first else None)
    return found


class Mover(bootsteps.StartStopStep):
    """A worker's thread that moves due messages onto their queues.

    One worker at a time moves (a lock that expires by itself, so a killed worker's lock
    holds nobody up for long); a worker that cannot reach Redis tries again at the next look.
    """

    requires = ("celery.worker.components:Pool",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, parent: Any) -> None:
        app = parent.app
        options = app.conf.broker_transport_options or {}
        client = Redis.from_url(app.conf.broker_url, socket_timeout=5, socket_connect_timeout=5)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run,
            args=(client, list(QUEUES), options.get("global_keyprefix", "")),
            name="newsflow-delayed-mover",
            daemon=True,
        )
        self._thread.start()

    def stop(self, parent: Any) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self, client: Redis, queues: list[str], prefix: str) -> None:
        token = uuid.uuid4().hex
        failing = False
        while not self._stopping.wait(MOVE_INTERVAL):
            try:
                # The lock outlives one look a little: a worker that dies holding it delays
                # the next move by a second at most.
                if client.set(prefix + _LOCK, token, nx=True, px=1000) or (
                    client.get(prefix + _LOCK) == token.encode()
                ):
                    moved = move_due(client, queues, prefix=prefix)
                    client.pexpire(prefix + _LOCK, 1000)
                    if moved:
                        logger.debug("moved %d due message(s) onto their queues", moved)
                failing = False
            except RedisError as error:
                if not failing:
                    logger.warning("cannot move due messages now: %s", error)
                failing = True
            except Exception:
                # Whatever it was, the thread must live on: without it nothing waiting moves.
                logger.exception("moving due messages failed; trying again")
        client.close()
