"""Which stored articles to reprocess, and the raw pages to reprocess them from.

Reprocessing runs clean, extract and store again on a page newsflow already has: an improved
extractor reaches every stored article without asking any site again. The article keeps its id
(the store updates its row in place). The queries are :mod:`pipeline.store.selections`'.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.models import FeedEntry, PageRef, Selection
from pipeline.settings import Settings
from pipeline.store import selections
from pipeline.store.db import session_scope


@dataclass(frozen=True)
class Target:
    article_id: int
    version: str
    page: PageRef


def targets(
    settings: Settings, selection: Selection, *, limit: int | None = None, batch: int = 500
) -> Iterator[Target]:
    """The selected articles with a stored page, in id order, read a batch at a time."""
    with session_scope(settings) as session:
        conditions = selections.conditions(session, selection)
    after, sent = 0, 0
    while limit is None or sent < limit:
        size = batch if limit is None else min(batch, limit - sent)
        with session_scope(settings) as session:
            rows = selections.target_rows(session, conditions, after=after, size=size)
        for article_id, version, page_id, url, entry in rows:
            page = PageRef(
                page_id=page_id,
                url=url,
                entry=FeedEntry.model_validate(entry) if entry else None,
                article_id=article_id,
            )
            yield Target(article_id=article_id, version=version, page=page)
            after, sent = article_id, sent + 1
        if len(rows) < size:
            return


def backlog(settings: Settings, selection: Selection) -> dict[str, int]:
    """How many selected articles each extractor version made (a dry run's answer); those
    with no stored page to start from are counted under ``"(no stored page)"``."""
    with session_scope(settings) as session:
        return selections.backlog_counts(session, selection)
