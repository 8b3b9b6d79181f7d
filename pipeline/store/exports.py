"""The stored articles an export writes out, read batch by batch.

Batches follow the article id (``WHERE id > last ORDER BY id LIMIT n``), each in its own short
transaction: an index walk on either backend, memory bounded by one batch whatever the store
holds, and no transaction kept open for the length of a large export.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlmodel import col, func, select

from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.selections import dated_before, dated_since, from_source
from pipeline.store.tables import ArticleRow, RawPage

BATCH = 500
# With their raw pages (up to the page cap each), batches are smaller.
PAGE_BATCH = 50


@dataclass(frozen=True)
class Selection:
    """Which stored articles to export. Dates: the article's publication, or its storing for
    an article with no date (as ``newsflow search`` reads them)."""

    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None  # a source's id or URL, or a site's host name
    language: str | None = None
    unique: bool = False  # originals only
    limit: int | None = None


@dataclass(frozen=True)
class Exported:
    """One stored article and the raw page it was made from (None if that is not kept)."""

    article: ArticleRow
    page: RawPage | None


def count_selected(settings: Settings, selection: Selection) -> int:
    """How many articles ``selection`` names (``limit`` taken into account)."""
    with session_scope(settings) as session:
        conditions = _conditions(selection)
        if selection.source:
            conditions.append(from_source(session, selection.source))
        total = session.exec(select(func.count()).select_from(ArticleRow).where(*conditions)).one()
    return total if selection.limit is None else min(total, selection.limit)


def exported(
    settings: Settings, selection: Selection, *, with_pages: bool = False, batch: int = BATCH
) -> Iterator[list[Exported]]:
    """The selected articles in batches, by id; with their raw pages if ``with_pages``."""
    after, left = 0, selection.limit
    batch = min(batch, PAGE_BATCH) if with_pages else batch
    while left is None or left > 0:
        size = batch if left is None else min(batch, left)
        with session_scope(settings) as session:
            conditions = _conditions(selection)
            if selection.source:
                conditions.append(from_source(session, selection.source))
            rows = list(
                session.exec(
                    select(ArticleRow)
                    .where(col(ArticleRow.id) > after, *conditions)
                    .order_by(col(ArticleRow.id))
                    .limit(size)
                )
            )
            pages: dict[int, RawPage] = {}
            wanted = [row.raw_page_id for row in rows if row.raw_page_id is not None]
            if with_pages and wanted:
                found = session.exec(select(RawPage).where(col(RawPage.id).in_(wanted)))
                pages = {page.id: page for page in found if page.id is not None}
            items = [
                Exported(row, pages.get(row.raw_page_id) if row.raw_page_id else None)
                for row in rows
            ]
            # Read whole now: the rows outlive their session.
            session.expunge_all()
        if not items:
            return
        yield items
        after = items[-1].article.id or after
        if left is not None:
            left -= len(items)


def _conditions(selection: Selection) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if selection.since is not None:
        conditions.append(dated_since(selection.since))
    if selection.until is not None:
        conditions.append(dated_before(selection.until))
    if selection.language:
        conditions.append(col(ArticleRow.language) == selection.language.lower())
    if selection.unique:
        conditions.append(col(ArticleRow.duplicate_of).is_(None))
    return conditions
