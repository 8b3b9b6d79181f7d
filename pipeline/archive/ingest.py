"""Backfill from a web archive: its pages kept as raw pages, batch by batch, and handed on.

Each page of the archive (:func:`pipeline.archive.warc.read_archive`) is kept as a raw page
with its capture date as ``fetched_at`` and its HTTP headers, exactly as a fetched page is; it
is never fetched again. Pages are kept in batches, one transaction each, and only the new ones
are handed on (to be sent through clean, extract and store, or run here): a page whose same
bytes from the same URL are kept already was handed on by an earlier ingest, so reading the
same archive again sends nothing. A batch kept but not handed on (the process stopped between
the two) is found by ``newsflow reconcile``, as any page whose chain stopped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from pipeline.archive.warc import ArchivedPage, Broken, Entry, Skipped, read_archive
from pipeline.models import FeedEntry, PageRef
from pipeline.settings import Settings
from pipeline.store import pages
from pipeline.store.db import session_scope

BATCH = 200
# A batch is kept once it holds this many bytes of pages, if that comes first: memory stays
# bounded whatever the archive's pages weigh.
BATCH_BYTES = 32 * 1024 * 1024
# The broken records listed by offset, at most: a file damaged throughout is counted in full.
BROKEN_LISTED = 20


@dataclass
class Tally:
    """What one archive gave."""

    name: str
    records: int = 0
    pages: int = 0  # HTML or text pages, status 2xx
    sent: int = 0  # kept now and handed on
    known: int = 0  # kept already (an earlier ingest, or earlier in the file): not handed on
    skipped: Counter[str] = field(default_factory=Counter)  # by what the record was
    broken: int = 0
    broken_at: list[tuple[int, str]] = field(default_factory=list)  # (offset, why): the first
    bytes_read: int = 0


def ingest_archive(
    stream: BinaryIO,
    settings: Settings,
    *,
    name: str,
    hand_on: Callable[[list[PageRef]], None],
    progress: Callable[[Tally], None] | None = None,
    batch: int = BATCH,
) -> Tally:
    """Keep the archive's pages and hand the new ones on, ``batch`` at a time; the tally.

    ``hand_on`` gets each batch's new pages once they are committed (it sends their chains, or
    runs them here). ``progress`` is called after every record.
    """
    tally = Tally(name)
    waiting: list[ArchivedPage] = []
    weight = 0
    for entry in read_archive(stream, name=name, max_bytes=settings.max_bytes):
        _count(tally, entry)
        if isinstance(entry, ArchivedPage):
            waiting.append(entry)
            weight += len(entry.page.content)
            if len(waiting) >= batch or weight >= BATCH_BYTES:
                _keep(settings, waiting, tally, hand_on)
                waiting, weight = [], 0
        if progress is not None:
            progress(tally)
    if waiting:
        _keep(settings, waiting, tally, hand_on)
        if progress is not None:
            progress(tally)
    return tally


def _count(tally: Tally, entry: Entry) -> None:
    tally.records += 1
    tally.bytes_read = entry.offset
    if isinstance(entry, ArchivedPage):
        tally.pages += 1
    elif isinstance(entry, Skipped):
        tally.skipped[entry.reason] += 1
    elif isinstance(entry, Broken):
        tally.broken += 1
        if len(tally.broken_at) < BROKEN_LISTED:
            tally.broken_at.append((entry.offset, entry.reason))


def _keep(
    settings: Settings,
    batch: list[ArchivedPage],
    tally: Tally,
    hand_on: Callable[[list[PageRef]], None],
) -> None:
    refs = []
    with session_scope(settings) as session:
        for archived in batch:
            page = archived.page
            page_id = pages.insert_raw_page(session, page=page, entry=archived.entry)
            if page_id is None:
                tally.known += 1
                continue
            entry = FeedEntry.model_validate(archived.entry) if archived.entry else None
            refs.append(PageRef(page_id=page_id, url=page.url, entry=entry))
    if refs:
        hand_on(refs)
        tally.sent += len(refs)
