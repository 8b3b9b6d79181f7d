"""Sources: adding them (with discovery, or as listed), polling them, and keeping their state.

``poll_source`` is what the scheduler runs for a due source. It never raises for the
source's sake: a failing source is recorded (errors in a row, last error, a later next poll)
and the poller moves on to the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from pipeline.errors import NewsflowError, NoFeedFound, Throttled
from pipeline.feeds import parse_feed
from pipeline.fetch.download import Download
from pipeline.fetch.fetcher import Fetcher
from pipeline.models import FeedEntry
from pipeline.settings import Settings
from pipeline.sources.polling import discover, fetch_feed, next_interval
from pipeline.store.db import session_scope
from pipeline.store.failures import record_failure, resolve_failures
from pipeline.store.outbox import note_sent
from pipeline.store.sources import (
    add_source,
    claim_source,
    due_sources,
    get_source,
    mark_seen,
    unseen,
)
from pipeline.urls import canonicalize

# After this many failed polls in a row a source is shown as failing.
FAILING_AFTER = 5


@dataclass(frozen=True)
class NewItem:
    """An item a poll found for the first time, with the source's rate for its host."""

    entry: FeedEntry
    source_id: int
    rate: float | None

    def payload(self) -> dict[str, Any]:
        """What its fetch task is sent with (:func:`pipeline.stages.fetch_payload`)."""
        return {
            "source": self.entry.url,
            "entry": self.entry.model_dump(mode="json"),
            "rate": self.rate,
        }


class AddedSource(NamedTuple):
    id: int
    url: str
    created: bool  # false: it was there already, and is kept as it was


def feeds_behind(url: str, fetcher: Fetcher) -> dict[str, str | None]:
    """The feed or sitemap ``url`` is, or, for a web page, the feeds and sitemaps it leads to;
    each with its kind (rss, atom, sitemap, ...) when finding it read it, else None (a feed a
    page links to is first read by its first poll).

    Raises NoFeedFound when it is none and leads to none.
    """
    keeping = _KeepingFetcher(fetcher)
    found = discover(url, keeping)
    if not found:
        raise NoFeedFound(f"{url} is no feed or sitemap and links to none")
    return {feed: keeping.kind_of(feed) for feed in found}


class _KeepingFetcher(Fetcher):
    """``fetcher`` again, through its client and politeness, keeping what each download
    answered: a feed found by reading it can be added with its kind, not read twice."""

    def __init__(self, fetcher: Fetcher) -> None:
        super().__init__(
            fetcher.settings,
            fetcher.politeness,
            client=fetcher.client,
            wait_for_turn=fetcher.wait_for_turn,
        )
        self.kept: dict[str, Download] = {}

    def download(self, url: str, **options: Any) -> Download:
        got = super().download(url, **options)
        self.kept[got.url] = got
        return got

    def kind_of(self, url: str) -> str | None:
        got = self.kept.get(url)
        if got is None:
            return None
        try:
            return parse_feed(got.content, url=got.url, content_type=got.content_type).kind
        except NewsflowError:
            return None


def register_sources(
    urls: Sequence[str] | Mapping[str, str | None],
    settings: Settings,
    *,
    interval: int,
    name: str | None = None,
    rate: float | None = None,
) -> list[AddedSource]:
    """Add each of ``urls`` as a source, as it is (no discovery), in one transaction; a
    mapping gives each URL's kind, as :func:`feeds_behind` found it."""
    kinds = urls if isinstance(urls, Mapping) else {}
    added = []
    with session_scope(settings) as session:
        for feed_url in urls:
            source, created = add_source(
                session,
                url=feed_url,
                name=name,
                interval=interval,
                rate=rate,
                kind=kinds.get(feed_url),
            )
            assert source.id is not None
            added.append(AddedSource(source.id, source.url, created))
    return added


def poll_source(
    source_id: int,
    settings: Settings,
    fetcher: Fetcher,
    *,
    enqueue: Callable[[list[NewItem]], None],
    reserved: float | None = None,
) -> list[NewItem]:
    """Poll one source now, hand its never-seen items to ``enqueue``, record the outcome.

    The feed and a sitemap index's children keep to robots.txt and their host's rate, the
    source's own ``rate`` first among them; ``reserved`` is the slot a Throttled handed out.

    The items are marked seen in the transaction that notes them in the outbox, and sent once
    it is committed: an item is never seen without being owed, so if sending fails, or its
    message is lost, ``reconcile`` sends it again (a rare double send is harmless: storing is
    an upsert). A poll cut short by anything, a time limit included, is recorded on the source.
    """
    with session_scope(settings) as session:
        source = get_source(session, source_id=source_id)
        url, kind, rate = source.url, source.kind, source.rate_limit
        # A sitemap index is read whole every time: a 304 for the index says nothing about
        # the sitemaps it lists, which is where the new items are.
        etag = None if kind == "sitemap-index" else source.etag
        last_modified = None if kind == "sitemap-index" else source.last_modified
        base, current, errors = source.base_interval, source.interval, source.errors_in_row
    now = datetime.now(UTC)
    try:
        fetcher.check(url, rate=rate, reserved=reserved)
        outcome = fetch_feed(
            url, settings, fetcher, etag=etag, last_modified=last_modified, asked=True
        )
    except Throttled:
        raise  # not a failure: the caller polls again when the host is free
    except BaseException as error:
        _record_poll_failure(settings, source_id, url, error, now, base, current, errors)
        raise
    new: list[NewItem] = []
    with session_scope(settings) as session:
        if outcome.entries:
            by_url = {canonicalize(entry.url): entry for entry in outcome.entries}
            fresh = unseen(session, urls=list(by_url))
            first = mark_seen(session, urls=fresh, source_id=source_id)
            new = [NewItem(by_url[canonical], source_id, rate) for canonical in first]
            # Owed from the moment they are seen: if sending fails below, or its message is
            # lost, `reconcile` sends them again from the outbox.
            note_sent(session, payloads=[item.payload() for item in new])
        interval = next_interval(
            base=base, current=current, new_items=len(new), failed=False, errors_in_row=0
        )
        source = get_source(session, source_id=source_id)
        source.kind = outcome.kind or source.kind
        source.etag = outcome.etag
        source.last_modified = outcome.last_modified
        source.last_polled_at = now
        source.last_status = "not_modified" if outcome.not_modified else "ok"
        source.last_error = None
        source.errors_in_row = 0
        source.new_items = len(new)
        source.interval = interval
        source.next_poll_at = now + timedelta(seconds=interval)
        resolve_failures(session, stage="poll", item=url)
    # Sent once the rows are committed: a fetch that finishes at once must find its row, to
    # mark it done.
    if new:
        enqueue(new)
    return new


def _record_poll_failure(
    settings: Settings,
    source_id: int,
    url: str,
    error: BaseException,
    now: datetime,
    base: int,
    current: int,
    errors: int,
) -> None:
    interval = next_interval(
        base=base, current=current, new_items=0, failed=True, errors_in_row=errors + 1
    )
    reason = error.reason if isinstance(error, NewsflowError) else type(error).__name__
    with session_scope(settings) as session:
        source = get_source(session, source_id=source_id)
        source.last_polled_at = now
        source.errors_in_row += 1
        source.last_status = "failing" if source.errors_in_row >= FAILING_AFTER else "error"
        source.last_error = f"{reason}: {error}"
        source.new_items = 0
        source.interval = interval
        source.next_poll_at = now + timedelta(seconds=interval)
        record_failure(session, stage="poll", item=url, error=error, attempts=source.errors_in_row)


# A dispatched poll pushes its source's next poll this far out, so that the next dispatch
# does not send it again while it waits in the queue; the poll itself sets the real time.
CLAIM_LEASE = timedelta(minutes=5)


def claim_due(settings: Settings) -> list[int]:
    """The sources due now, each claimed so that only one poll of it is dispatched.

    The claim is a conditional update: of two dispatchers looking at once, one wins each.
    """
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        due_ids = due_sources(session, now=now)
        return [
            source_id
            for source_id in due_ids
            if claim_source(session, source_id=source_id, now=now, until=now + CLAIM_LEASE)
        ]
