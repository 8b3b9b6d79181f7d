"""One way to fetch politely: an HTTP client and the politeness it keeps, made together.

A worker process holds one :class:`Fetcher` for all its tasks; a command (``ingest --local``,
``extract URL``, ``sources add``) makes one for its run. Either way every page asks
robots.txt and waits for its host's turn, and the asking happens once per request: the page
is asked before it is requested, and the client asks again only for a redirect's new URL.
"""

from __future__ import annotations

import threading
import time
from functools import partial
from types import TracebackType

import httpx

from pipeline.errors import NewsflowError
from pipeline.fetch.download import (
    DecodedPage,
    Download,
    asked_extensions,
    download,
    fetch_decoded,
    fetch_robots,
    is_local,
    make_client,
)
from pipeline.fetch.politeness import Politeness, make_politeness
from pipeline.settings import Settings

# The longest one process sleeps for a host's turn. The workers' queued fetches share the
# host's slots through Redis, so a busy host's next free slot can be hours away; a command
# then says so (Throttled, with the wait) rather than hang without a word.
LONGEST_WAIT = 60.0


class Fetcher:
    """Fetches pages through one pooled client, within robots.txt and host rates; feeds use
    its ``client`` and ``politeness`` (see :mod:`pipeline.sources.polling`).

    ``wait_for_turn`` says what a request that is early for its host does: sleep until its
    turn (in one process, where nothing else would run it later), or raise
    :class:`~pipeline.errors.Throttled` with the wait and its reserved slot (in a worker,
    whose task is rescheduled rather than left sleeping in its slot).
    """

    def __init__(
        self,
        settings: Settings,
        politeness: Politeness,
        *,
        client: httpx.Client | None = None,
        wait_for_turn: bool = True,
        owns_politeness: bool = False,
    ) -> None:
        self.settings = settings
        self.politeness = politeness
        self.wait_for_turn = wait_for_turn
        # A politeness made for this fetcher alone has its Redis connections closed with it.
        self._owns_politeness = owns_politeness
        # A client made elsewhere stays its maker's to close.
        self._owns_client = client is None
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        """The pooled client, made on first use: reading a file needs none, and making one
        costs more than reading most files."""
        with self._lock:
            if self._client is None:
                self._client = make_client(self.settings, self.politeness)
            return self._client

    def fetch(
        self, source: str, *, rate: float | None = None, reserved: float | None = None
    ) -> DecodedPage:
        """Fetch a page (or read a file) once robots.txt allows it and its host's turn comes.

        ``rate`` is the requests per second the source asks for its host (else the default);
        ``reserved`` is the slot a Throttled handed out, when the fetch is tried again.
        """
        if is_local(source.strip()):
            return fetch_decoded(source, self.settings)  # a file: no client, no host to spare

        def ask(url: str) -> None:
            self.check(url, rate=rate, reserved=reserved)

        return fetch_decoded(source, self.settings, client=self.client, ask=ask)

    def check(self, url: str, *, rate: float | None = None, reserved: float | None = None) -> None:
        """Raise Blocked if robots.txt disallows ``url``; then wait for the host's turn, or
        raise Throttled, as ``wait_for_turn`` says. A request for ``url`` sent after this
        should carry :func:`~pipeline.fetch.download.asked_extensions`, so that the client
        does not check its robots.txt again."""
        self.politeness.check(
            url,
            rate=rate,
            robots_text=partial(self._robots_before, url),
            reserved=reserved,
            patience=self._patience(),
        )

    def download(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        asked: bool = False,
        deadline: float | None = None,
    ) -> Download:
        """A feed's or a sitemap's response as it came, once robots.txt allows it and its
        host's turn comes (not asked again when the caller has, ``asked``).

        Before ``deadline`` (a ``time.monotonic()`` moment), an early turn is slept for even in
        a worker: a sitemap index's children come in one poll, and a short wait for the next
        slot is cheaper than rescheduling the whole walk.
        """
        if not asked:
            self.politeness.check(
                url,
                rate=None,
                robots_text=partial(self._robots_before, url),
                patience=self._patience() if deadline is None else deadline - time.monotonic(),
            )
        return download(
            url, self.settings, self.client, headers=headers, extensions=asked_extensions(url)
        )

    def _patience(self) -> float:
        return LONGEST_WAIT if self.wait_for_turn else 0.0

    def robots_text(self, url: str) -> str:
        """The text of the robots.txt at ``url`` ("" when the site has none)."""
        return fetch_robots(url, self.settings, self.client)

    def _robots_before(self, page: str, url: str) -> str:
        """The robots.txt at ``url``, asked for before ``page``; a failure is said of
        ``page``, the URL the user gave, not of a robots.txt they never named."""
        try:
            return self.robots_text(url)
        except NewsflowError as error:
            # "<robots url>: 10.0.0.1 is private" -> "<page>: 10.0.0.1 is private", and
            # "could not fetch <robots url>: ..." -> "<page>: could not fetch its robots.txt".
            said = error.message.removeprefix(f"{url}: ")
            error.message = f"{page}: {said.replace(url, 'its robots.txt')}"
            error.args = (error.message,)  # what Celery keeps of an error, and rebuilds from
            raise

    def close(self) -> None:
        with self._lock:
            if self._owns_client and self._client is not None:
                self._client.close()
                self._client = None
            if self._owns_politeness and self.politeness.redis is not None:
                self.politeness.redis.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def make_fetcher(
    settings: Settings, *, require_redis: bool = False, wait_for_turn: bool = True
) -> Fetcher:
    """A fetcher with its own client and politeness (see
    :func:`~pipeline.fetch.politeness.make_politeness`).

    Workers pass ``require_redis=True, wait_for_turn=False``: host rates shared by every
    worker, and a task rescheduled rather than asleep. The defaults suit one process: Redis
    when it answers, in-process limits when it does not, and sleeping until a host's turn.
    """
    politeness = make_politeness(settings, require_redis=require_redis)
    return Fetcher(settings, politeness, wait_for_turn=wait_for_turn, owns_politeness=True)
