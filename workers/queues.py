"""What each queue holds in Redis, read the way kombu's Redis transport keeps it.

A queue is a Redis list, plus one list per message priority other than the lowest
(``<queue>\\x06\\x16<priority>``). A message a worker has taken but not yet acknowledged
(running, or prefetched) lives in the ``unacked`` hash as ``[message, exchange,
routing_key]`` until it is acknowledged. A message that waits (a rate slot, a retry) is in
neither: it is in the queue's delayed set (:mod:`workers.delayed`) until it is due. Used by
``newsflow status`` and by the workers' Prometheus endpoint, so both count alike.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from kombu.transport import redis as kombu_redis
from redis import Redis

from pipeline.settings import Settings

from .config import celery_config
from .delayed import Delayed, delayed

# Held messages counted per queue at most: their routing key is read from the end of each
# entry, inside Redis, so a large hash costs a bounded number of small round trips.
UNACKED_LIMIT = 20_000
_UNACKED_BATCH = 1_000
# The end of an entry: `, "<exchange>", "<routing key>"]`. Names are short; messages are not.
_TAIL_CHARS = 300
_TAIL = re.compile(r',\s*("(?:[^"\\]|\\.)*"|null)\s*,\s*("(?:[^"\\]|\\.)*"|null)\s*\]\s*$')
# One HSCAN step that returns only each entry's tail, not the message it holds.
_SCAN_TAILS = """
local page = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', tonumber(ARGV[2]))
local tails = {}
for index = 2, #page[2], 2 do
    tails[#tails + 1] = string.sub(page[2][index], -tonumber(ARGV[3]))
end
return {page[1], tails}
"""


@dataclass(frozen=True)
class QueueDepths:
    """Messages waiting per queue, messages held unacknowledged per queue, and in all (by
    queue name, in the order of the configuration's queues)."""

    waiting: dict[str, int]
    unacked: dict[str, int]
    unacked_total: int
    # False when there were more held messages than UNACKED_LIMIT: ``unacked`` counts the
    # first ones only, ``unacked_total`` all of them.
    unacked_complete: bool
    # Messages waiting in the delayed set, per queue, and when the first of them is due.
    delayed: dict[str, Delayed]


def broker_client(settings: Settings, *, timeout: float = 2.0) -> Redis:
    """A Redis client for the broker that gives up quickly: a status must not hang."""
    return Redis.from_url(
        settings.broker_url, socket_connect_timeout=timeout, socket_timeout=timeout
    )


def queue_depths(
    client: Redis, settings: Settings, *, unacked_limit: int = UNACKED_LIMIT
) -> QueueDepths:
    """Read every newsflow queue's depth; raises redis' errors when Redis does not answer."""
    config = celery_config(settings)
    queues = [queue.name for queue in config["task_queues"]]
    layout = _Layout(config["broker_transport_options"])
    with client.pipeline(transaction=False) as pipe:
        for queue in queues:
            for key in layout.keys(queue):
                pipe.llen(key)
        pipe.hlen(layout.unacked_key)
        sizes = pipe.execute()
    waiting, index = {}, 0
    for queue in queues:
        count = len(layout.keys(queue))
        waiting[queue] = sum(int(size) for size in sizes[index : index + count])
        index += count
    unacked_total = int(sizes[index])
    unacked = dict.fromkeys(queues, 0)
    routing_keys, complete = (
        _held_routing_keys(client, layout.unacked_key, unacked_limit)
        if unacked_total
        else ([], True)
    )
    for routing_key in routing_keys:
        if routing_key in unacked:
            unacked[routing_key] += 1
    return QueueDepths(
        waiting=waiting,
        unacked=unacked,
        unacked_total=unacked_total,
        unacked_complete=complete,
        delayed=delayed(client, queues, prefix=layout.prefix),
    )


class _Layout:
    """Key names as the transport makes them, with the options our config may give it."""

    def __init__(self, options: dict[str, Any]) -> None:
        channel = kombu_redis.Channel
        self.prefix: str = options.get("global_keyprefix", channel.global_keyprefix)
        self.sep: str = options.get("sep", channel.sep)
        self.steps: list[int] = list(options.get("priority_steps", channel.priority_steps))
        self.unacked_key = self.prefix + options.get("unacked_key", channel.unacked_key)

    def keys(self, queue: str) -> list[str]:
        # Priority 0 is the queue's own name; each other step its own list.
        return [
            self.prefix + (f"{queue}{self.sep}{step}" if step else queue)
            for step in sorted(set(self.steps))
        ]


def _held_routing_keys(client: Redis, key: str, limit: int) -> tuple[list[str], bool]:
    """The routing keys (ours are the queue names) of held messages, up to about ``limit``
    of them; and whether that was all of them."""
    scan = client.register_script(_SCAN_TAILS)
    cursor: Any = "0"
    keys: list[str] = []
    while len(keys) < limit:
        cursor, tails = scan(keys=[key], args=[cursor, _UNACKED_BATCH, _TAIL_CHARS])
        for tail in tails:
            match = _TAIL.search(tail.decode("utf-8", "replace"))
            if match:
                keys.append(str(json.loads(match.group(2)) or ""))
        if int(cursor) == 0:
            return keys, True
    return keys, False
