"""Being a good guest: one request per host at a time the host can bear, and robots.txt.

The rate limit is shared by every worker through Redis, so two workers (or twenty) fetching
from one site keep to its rate together. A fetch that has to wait is not left sleeping in a
worker slot: the caller gets :class:`~pipeline.errors.Throttled` with the wait, and the task
is rescheduled. Without Redis (``--local``) the same rules hold within the one process.
"""

from __future__ import annotations

import threading
import time
import urllib.robotparser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeout

from pipeline.errors import Blocked, BrokerUnavailable, Throttled

ROBOTS_TTL = 24 * 3600

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
# However slow a site asks us to be, a fetch waits at most this long for its turn (the
# broker redelivers messages held longer than its visibility timeout).
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


class Politeness:
    """Per-host rate limits and robots.txt rules, shared through ``redis`` when given one."""

    def __init__(self, *, redis: Any | None, user_agent: str, default_rate: float) -> None:
        self.redis = redis
        self.user_agent = user_agent
        self.default_rate = default_rate
        self._reserve = redis.register_script(_RESERVE) if redis is not None else None
        self._local_free_at: dict[str, float] = {}
        self._local_robots: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def check(
        self,
        url: str,
        *,
        rate: float | None,
        robots_text: Callable[[str], str],
        reserved: float | None = None,
    ) -> None:
        """Raise Blocked if robots.txt disallows ``url``; Throttled if it is not its turn yet.

        ``robots_text`` fetches a robots.txt URL and returns its text ("" when there is none).
        Throttled carries the slot reserved for this fetch (``slot``, epoch seconds): pass it
        back as ``reserved`` when the fetch is tried again, and it goes without a new claim.
        """
        rules = self.allowed(url, robots_text)
        if reserved is not None:
            early = reserved - time.time()
            if early <= SHORT_WAIT:
                _sleep_until(reserved)
                return
            # Woken before its turn (waits are capped below the broker's redelivery time).
            throttled = Throttled(
                f"{host_of(url)}: its turn comes in {early:.2f}s", retry_after=early
            )
            throttled.slot = reserved
            raise throttled
        per_second = rate or self.default_rate
        delay = float(rules.crawl_delay(self.user_agent) or 0)
        interval = min(LONGEST_INTERVAL, max(1.0 / per_second if per_second > 0 else 0.0, delay))
        slot = self._claim(rate_key(url), interval)
        wait = slot - time.time()
        if wait <= SHORT_WAIT:
            _sleep_until(slot)  # never before the slot, or the host sees two requests at once
            return
        if wait > 0:
            throttled = Throttled(
                f"{host_of(url)}: its turn comes in {wait:.2f}s", retry_after=wait
            )
            throttled.slot = slot
            raise throttled

    def allowed(
        self, url: str, robots_text: Callable[[str], str]
    ) -> urllib.robotparser.RobotFileParser:
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

    def _rules(
        self, url: str, robots_text: Callable[[str], str]
    ) -> urllib.robotparser.RobotFileParser:
        host = host_of(url)
        text = self._cached_robots(host)
        if text is None:
            text = robots_text(f"{host}/robots.txt")
            self._cache_robots(host, text)
        rules = urllib.robotparser.RobotFileParser()
        rules.parse(text.splitlines())
        return rules

    def _cached_robots(self, host: str) -> str | None:
        if self.redis is not None:
            with _shared_state():
                value = self.redis.get(f"newsflow:robots:{host}")
            return value.decode("utf-8", "replace") if value is not None else None
        with self._lock:
            cached = self._local_robots.get(host)
        return cached[1] if cached and cached[0] > time.monotonic() else None

    def _cache_robots(self, host: str, text: str) -> None:
        if self.redis is not None:
            with _shared_state():
                self.redis.set(f"newsflow:robots:{host}", text.encode("utf-8"), ex=ROBOTS_TTL)
            return
        with self._lock:
            self._local_robots[host] = (time.monotonic() + ROBOTS_TTL, text)
