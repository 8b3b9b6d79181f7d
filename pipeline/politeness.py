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
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .errors import Blocked, Throttled

ROBOTS_TTL = 24 * 3600

# Claims the host's next free moment if it has come; otherwise says how long until it does.
# Atomic in Redis, so concurrent workers cannot both take the same slot.
_ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local free_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if free_at > now_ms then
  return free_at - now_ms
end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], now_ms + interval, 'PX', interval + 1000)
return 0
"""


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.netloc or '').lower()}"


class Politeness:
    """Per-host rate limits and robots.txt rules, shared through ``redis`` when given one."""

    def __init__(self, *, redis: Any | None, user_agent: str, default_rate: float) -> None:
        self.redis = redis
        self.user_agent = user_agent
        self.default_rate = default_rate
        self._acquire = redis.register_script(_ACQUIRE) if redis is not None else None
        self._local_free_at: dict[str, float] = {}
        self._local_robots: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def check(self, url: str, *, rate: float | None, robots_text: Callable[[str], str]) -> None:
        """Raise Blocked if robots.txt disallows ``url``, Throttled if its host needs a rest.

        ``robots_text`` fetches a robots.txt URL and returns its text ("" when there is none).
        """
        rules = self._rules(url, robots_text)
        if not rules.can_fetch(self.user_agent, url):
            raise Blocked(f"{url} is disallowed by {host_of(url)}/robots.txt")
        per_second = rate or self.default_rate
        delay = rules.crawl_delay(self.user_agent)
        interval = max(1.0 / per_second if per_second > 0 else 0.0, float(delay or 0))
        wait = self._claim(host_of(url), interval)
        if wait > 0:
            raise Throttled(f"{host_of(url)} needs {wait:.2f}s more rest", retry_after=wait)

    def _claim(self, host: str, interval: float) -> float:
        """Seconds to wait before ``host`` may be asked again; 0 means go now (slot taken)."""
        if interval <= 0:
            return 0.0
        if self._acquire is not None:
            milliseconds = self._acquire(
                keys=[f"newsflow:host:{host}"], args=[int(interval * 1000)]
            )
            return int(milliseconds) / 1000
        with self._lock:
            now = time.monotonic()
            free_at = self._local_free_at.get(host, 0.0)
            if free_at > now:
                return free_at - now
            self._local_free_at[host] = now + interval
            return 0.0

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
            value = self.redis.get(f"newsflow:robots:{host}")
            return value.decode("utf-8", "replace") if value is not None else None
        with self._lock:
            cached = self._local_robots.get(host)
        return cached[1] if cached and cached[0] > time.monotonic() else None

    def _cache_robots(self, host: str, text: str) -> None:
        if self.redis is not None:
            self.redis.set(f"newsflow:robots:{host}", text.encode("utf-8"), ex=ROBOTS_TTL)
            return
        with self._lock:
            self._local_robots[host] = (time.monotonic() + ROBOTS_TTL, text)
