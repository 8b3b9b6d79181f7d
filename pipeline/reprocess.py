"""Which stored articles to reprocess, and the raw pages to reprocess them from.

Reprocessing runs clean, extract and store again on a page newsflow already has: an improved
extractor reaches every stored article without asking any site again. The article keeps its id
(the store updates its row in place).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, exists, func, or_
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from pipeline.errors import InvalidRequest
from pipeline.models import FeedEntry, PageRef
from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.tables import ArticleRow, ExtractorVersion, Failure, RawPage, SeenUrl, Source
from pipeline.version import extractor_version


@dataclass(frozen=True)
class Selection:
    """What to reprocess. By default: every article an extractor other than this one made."""

    everything: bool = False  # every article, whatever made it
    older_than_version: str | None = None  # made by a version first seen before this one
    since: datetime | None = None  # first stored at or after this
    source: str | None = None  # a source's id or URL, or a site's host name
    # Leave out pages whose last reprocessing failed for good: the scheduled run would
    # otherwise send the same ones first every night (`newsflow failures retry` has them).
    skip_failed: bool = False


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
        conditions = _conditions(session, selection)
    after, sent = 0, 0
    while limit is None or sent < limit:
        size = batch if limit is None else min(batch, limit - sent)
        with session_scope(settings) as session:
            statement = (
                # Five columns: past what sqlmodel's select() is typed for.
                sql_select(
                    col(ArticleRow.id),
                    col(ArticleRow.extractor_version),
                    col(RawPage.id),
                    col(RawPage.url),
                    col(RawPage.entry),
                )
                .join(RawPage, col(RawPage.id) == col(ArticleRow.raw_page_id))
                .where(col(ArticleRow.id) > after, *conditions)
                .order_by(col(ArticleRow.id))
                .limit(size)
            )
            rows = list(session.execute(statement))
        for article_id, version, page_id, url, entry in rows:
            assert article_id is not None and page_id is not None
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
        statement = (
            select(ArticleRow.extractor_version, func.count())
            .where(*_conditions(session, selection))
            .where(col(ArticleRow.raw_page_id).is_not(None))
            .group_by(col(ArticleRow.extractor_version))
            .order_by(func.count().desc())
        )
        counts = {version: count for version, count in session.exec(statement)}
        orphans = session.exec(
            select(func.count())
            .select_from(ArticleRow)
            .where(*_conditions(session, selection))
            .where(col(ArticleRow.raw_page_id).is_(None))
        ).one()
    if orphans:
        counts["(no stored page)"] = orphans
    return counts


def _conditions(session: Session, selection: Selection) -> list[ColumnElement[bool]]:
    if selection.everything and selection.older_than_version:
        raise InvalidRequest("--all and --older-than-version select differently; give one")
    conditions: list[ColumnElement[bool]] = []
    if selection.older_than_version:
        conditions.append(_older_than(session, selection.older_than_version))
    elif not selection.everything:
        conditions.append(col(ArticleRow.extractor_version) != extractor_version())
    if selection.since is not None:
        conditions.append(col(ArticleRow.created_at) >= selection.since)
    if selection.source:
        conditions.append(_from_source(session, selection.source))
    if selection.skip_failed:
        conditions.append(
            ~exists().where(
                col(Failure.raw_page_id) == col(ArticleRow.raw_page_id),
                col(Failure.resolved).is_(False),
                col(Failure.stage).in_(("clean", "extract", "store")),
            )
        )
    return conditions


def _older_than(session: Session, version: str) -> ColumnElement[bool]:
    """Made by a version first seen before ``version`` (or by one too old to be recorded)."""
    known = session.get(ExtractorVersion, version)
    if known is None and version == extractor_version():
        # This extractor, before it has stored anything: every recorded version is older.
        return col(ArticleRow.extractor_version) != version
    if known is None:
        versions = session.exec(
            select(ExtractorVersion.version).order_by(col(ExtractorVersion.first_seen).desc())
        )
        listed = ", ".join(list(versions)[:10]) or "none yet"
        raise InvalidRequest(f"unknown extractor version {version!r}; known: {listed}")
    recorded = select(ExtractorVersion.version)
    older = recorded.where(col(ExtractorVersion.first_seen) < known.first_seen)
    return or_(
        col(ArticleRow.extractor_version).in_(older),
        col(ArticleRow.extractor_version).not_in(recorded),
    )


def _from_source(session: Session, source: str) -> ColumnElement[bool]:
    """A registered source (by id or URL): the articles its items brought. Anything else is a
    site: the articles whose page came from that host or its subdomains."""
    found = (
        session.get(Source, int(source))
        if source.isdigit()
        else session.exec(select(Source).where(Source.url == source)).first()
    )
    if found is not None:
        # The article's page was fetched for an item this source brought.
        page = aliased(RawPage)
        return exists().where(
            col(SeenUrl.source_id) == found.id,
            col(page.id) == col(ArticleRow.raw_page_id),
            col(page.source) == col(SeenUrl.url),
        )
    if source.isdigit():
        raise InvalidRequest(f"no source {source}; `newsflow sources list` shows them")
    host = (urlsplit(source).hostname if "//" in source else source.strip().lower()) or ""
    if not host or "/" in host:
        raise InvalidRequest(
            f"--source {source!r} is neither a source (id or URL, see `newsflow sources list`) "
            "nor a site's host name"
        )
    pattern = host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    url = col(ArticleRow.canonical_url)
    return or_(
        *(
            url.like(f"{scheme}://{prefix}{pattern}{end}", escape="\\")
            for scheme in ("http", "https")
            for prefix in ("", "%.")
            for end in ("/%", ":%")
        ),
        *(url == f"{scheme}://{host}" for scheme in ("http", "https")),
    )
