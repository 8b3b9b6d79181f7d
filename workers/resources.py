"""What a worker process keeps between tasks: one polite fetcher (its pooled HTTP client and
the host rates and robots.txt rules it keeps with every other worker through Redis).

It is made on first use, so each pool process makes its own after the fork (a socket or a
Redis connection shared with the parent would interleave two processes' traffic), and it is
shared by the process's threads.
"""

from __future__ import annotations

import threading

from pipeline.fetch.fetcher import Fetcher, make_fetcher
from pipeline.settings import Settings


class Resources:
    """The :class:`~pipeline.fetch.fetcher.Fetcher` of one process, made when first asked for."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._fetcher: Fetcher | None = None

    def fetcher(self) -> Fetcher:
        """The process's fetcher. Host rates are shared by every worker, so Redis is required
        (away, it is an outage to wait out); an early request raises Throttled, so that its
        task is rescheduled rather than asleep in its slot."""
        with self._lock:
            if self._fetcher is None:
                self._fetcher = make_fetcher(self.settings, require_redis=True, wait_for_turn=False)
            return self._fetcher

    def forget(self) -> None:
        """Drop what was inherited from a parent process; the next use makes a fresh one.

        Nothing is closed: the parent still owns the sockets a forked copy points at. The lock
        is new too, as one held by another thread at the fork would never be released here.
        """
        self._lock = threading.Lock()
        self._fetcher = None
