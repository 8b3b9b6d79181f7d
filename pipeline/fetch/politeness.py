"""Being a good guest: one request per host at a time the host can bear, and robots.txt.

The rate limit is shared by every worker through Redis, so two workers (or twenty) fetching
from one site keep to its rate together. A fetch that has to wait is not left sleeping in a
worker slot: the caller gets :class:`~pipeline.errors.Throttled` with the wait, and the task
is rescheduled. Without Redis (``--local`` when Redis does not answer) the same rules hold
within the one process. Work done in one process sleeps until its turn (``patience``).

A host's robots.txt is fetched once a day: its text is kept in Redis for every worker, and
its parsed rules in each process, so a check costs no round trip and no parse.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.robotparser
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeout

from pipeline.errors import Blocked, BrokerUnavailable, Throttled
from pipeline.settings import Settings

logger = logging.getLogger(__name__)

ROBOTS_TTL = 24 * 3600
# Hosts whose parsed robots.txt one process keeps; the least recently asked go first, so a
# worker that meets many sites over weeks does not grow without bound.
ROBOTS_HOSTS_KEPT = 4096

# Reserves the host's next free moment for the caller and moves the next one on by the
# interval; returns the reserved moment (epoch ms). Atomic in Redis, so no two workers get
# the same slot, and a task that must wait is told exactly when its own turn is: each
# waiting task is rescheduled once, not woken again and again to race for the next slot.
_RESERVE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local free_at = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(free_at, now_ms)
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], slot + interval, 'PX', slot + interval - now_ms + 1000)
return {slot, now_ms}
"""
# A wait this short is slept through; rescheduling would cost more than it frees.
SHORT_WAIT = 0.25
# However slow a site asks us to be (its Crawl-delay), two requests to it are at most this far
# apart: a larger delay is more likely a mistake than a wish to be read once an hour.
LONGEST_INTERVAL = 300.0


@contextmanager
def _shared_state() -> Iterator[None]:
    """Redis away (restarting, say) is an outage to wait out, not a fault of the page."""
    try:
        yield
    except (RedisConnectionError, RedisTimeout) as error:
        raise BrokerUnavailable(f"Redis does not answer: {error}") from error


def _sleep_until(moment: float) -> None:
    remaining = moment - time.time()
    if remaining > 0:
        time.sleep(remaining)


def host_of(url: str) -> str:
    """The origin robots.txt speaks for: scheme, lower-case host, and a port if not default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def rate_key(url: str) -> str:
    """One rate limit per machine name, whatever the scheme or the spelling of the URL."""
    return f"newsflow:host:{(urlsplit(url).hostname or '').lower()}"


# A host's robots.txt, parsed: what it allows, and the Crawl-delay it asks for.
Rules = urllib.robotparser.RobotFileParser


class Politeness:
    """Per-host rate limits and robots.txt rules, shared through ``redis`` when given one."""

    def __init__(self, *, redis: Any | None, user_agent: str, default_rate: float) -> None:
        self.redis = redis
        self.user_agent = user_agent
        self.default_rate = default_rate
        self._reserve = redis.register_script(_RESERVE) if redis is not None else None
        self._local_free_at: dict[str, float] = {}
        # host -> (until when, in time.monotonic(), the rules hold; the parsed rules)
        self._rules_by_host: OrderedDict[str, tuple[float, Rules]] = OrderedDict()
        self._lock = threading.Lock()

    def check(
        self,
        url: str,
        *,
        rate: float | None,
        robots_text: Callable[[str], str],
        reserved: float | None = None,
        patience: float = 0.0,
    ) -> None:
        """Raise Blocked if robots.txt disallows ``url``; Throttled if it is not its turn yet.

        ``robots_text`` fetches a robots.txt URL and returns its text ("" when there is none).
        Throttled carries the slot reserved for this fetch (``slot``, epoch seconds): pass it
        back as ``reserved`` when the fetch is tried again, and it goes without a new claim.
        A turn that comes within ``patience`` seconds is slept for instead: work done in one
        process has no task to reschedule (a worker's wait is short, :data:`SHORT_WAIT`).
        """
        slot = reserved  # a fetch woken at (or before) the slot it was handed
        if self._known_rules(host_of(url)) is None:
            # Fetching robots.txt is a request to the host like any other: it takes a slot
            # (the Crawl-delay is not known yet), and the page then takes the next one.
            if slot is None:
                slot = self._claim(rate_key(url), self._interval(rate, 0.0))
            self._wait_for(url, slot, patience)
            self._fetched_rules(host_of(url), robots_text)
            slot = None
        rules = self.allowed(url, robots_text)  # known by now: asks nobody
        if slot is None:
            delay = float(rules.crawl_delay(self.user_agent) or 0)
            slot = self._claim(rate_key(url), self._interval(rate, delay))
        self._wait_for(url, slot, patience)

    def _interval(self, rate: float | None, delay: float) -> float:
        """Seconds between two requests to a host: its rate's, or its Crawl-delay if longer."""
        per_second = rate or self.default_rate
        return min(LONGEST_INTERVAL, max(1.0 / per_second if per_second > 0 else 0.0, delay))

    @staticmethod
    def _wait_for(url: str, slot: float, patience: float) -> None:
        """Sleep until ``slot`` if it is near, else raise Throttled carrying it."""
        wait = slot - time.time()
        if wait <= max(SHORT_WAIT, patience):
            _sleep_until(slot)  # never before the slot, or the host sees two requests at once
            return
        throttled = Throttled(f"{host_of(url)}: its turn comes in {wait:.2f}s", retry_after=wait)
        throttled.slot = slot
        raise throttled

    def allowed(self, url: str, robots_text: Callable[[str], str]) -> Rules:
        """The host's robots.txt rules; raise Blocked if they disallow ``url``."""
        rules = self._rules(url, robots_text)
        if not rules.can_fetch(self.user_agent, url):
            raise Blocked(f"{url} is disallowed by {host_of(url)}/robots.txt")
        return rules

    def _claim(self, key: str, interval: float) -> float:
        """Reserve the host's next slot; the moment it begins (epoch seconds)."""
        if interval <= 0:
            return time.time()
        if self._reserve is not None:
            with _shared_state():
                slot_ms, now_ms = self._reserve(keys=[key], args=[int(interval * 1000)])
            # Redis's clock decides the order; this machine's clock decides the wait.
            return time.time() + (int(slot_ms) - int(now_ms)) / 1000
        with self._lock:
            now = time.time()
            slot = max(self._local_free_at.get(key, 0.0), now)
            self._local_free_at[key] = slot + interval
            return slot

    def _rules(self, url: str, robots_text: Callable[[str], str]) -> Rules:
        """The host's parsed rules: known already, or fetched from the site now."""
        host = host_of(url)
        return self._known_rules(host) or self._fetched_rules(host, robots_text)

    def _known_rules(self, host: str) -> Rules | None:
        """This process's copy while it holds, else Redis's text (as long as Redis keeps
        it); None when the site must be asked."""
        with self._lock:
            kept = self._rules_by_host.get(host)
            if kept is not None and kept[0] > time.monotonic():
                self._rules_by_host.move_to_end(host)
                return kept[1]
        text, lifetime = self._shared_robots(host)
        return self._keep(host, text, lifetime) if text is not None else None

    def _fetched_rules(self, host: str, robots_text: Callable[[str], str]) -> Rules:
        text = robots_text(f"{host}/robots.txt")
        self._share_robots(host, text)
        return self._keep(host, text, float(ROBOTS_TTL))

    def _keep(self, host: str, text: str, lifetime: float) -> Rules:
        rules = Rules()
        rules.parse(text.splitlines())
        with self._lock:
            self._rules_by_host[host] = (time.monotonic() + lifetime, rules)
            self._rules_by_host.move_to_end(host)
            while len(self._rules_by_host) > ROBOTS_HOSTS_KEPT:
                self._rules_by_host.popitem(last=False)
        return rules

    def _shared_robots(self, host: str) -> tuple[str | None, float]:
        """The robots.txt text a worker kept in Redis, and the seconds it has left there: the
        parsed copy lasts no longer, so every worker reads a site's new rules the same day."""
        if self.redis is None:
            return None, 0.0
        key = f"newsflow:robots:{host}"
        with _shared_state():
            value, left_ms = self.redis.pipeline(transaction=False).get(key).pttl(key).execute()
        if value is None:
            return None, 0.0
        lifetime = left_ms / 1000 if left_ms and left_ms > 0 else float(ROBOTS_TTL)
        return value.decode("utf-8", "replace"), lifetime

    def _share_robots(self, host: str, text: str) -> None:
        if self.redis is not None:
            with _shared_state():
                self.redis.set(f"newsflow:robots:{host}", text.encode("utf-8"), ex=ROBOTS_TTL)


def make_politeness(settings: Settings, *, require_redis: bool = False) -> Politeness:
    """The rate limits and robots.txt rules of ``settings``, shared through its Redis.

    Workers pass ``require_redis``: they keep each host's rate together, so Redis away is an
    outage to wait out (each check raises BrokerUnavailable), never a reason to go alone.
    Anything else (``--local``, a command) uses Redis when it answers, and otherwise keeps
    the rules in this process: being without a broker is no reason to be impolite.
    """
    redis = _redis(settings) if require_redis else _answering_redis(settings)
    return Politeness(redis=redis, user_agent=settings.user_agent, default_rate=settings.host_rate)


def _redis(settings: Settings) -> Redis:
    # Timeouts, so that a Redis that has gone silent is an outage to wait out, not a fetch
    # hanging until its time limit.
    return Redis.from_url(
        settings.broker_url,
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=30,
    )


def _answering_redis(settings: Settings) -> Redis | None:
    try:
        redis = _redis(settings)
        redis.ping()
    except (RedisError, ValueError) as error:  # ValueError: a broker URL that is not Redis's
        logger.info("Redis does not answer (%s): rate limits and robots.txt kept in-process", error)
        return None
    return redis
