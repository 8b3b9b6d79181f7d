"""The queries of a reprocessing: which stored articles a :class:`~pipeline.models.Selection`
names, and the raw pages to run them from.

As everywhere in the store: keyword-only functions over an open session; none of them commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, exists, func, or_
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from pipeline.errors import InvalidRequest
from pipeline.models import Selection
from pipeline.store.tables import ArticleRow, ExtractorVersion, Failure, RawPage, SeenUrl, Source
from pipeline.version import extractor_version


def target_rows(
    session: Session, conditions: list[ColumnElement[bool]], *, after: int, size: int
) -> list[tuple[int, str, int, str, dict[str, Any] | None]]:
    """Up to ``size`` selected articles after id ``after`` that have a stored page:
    (article id, extractor version, page id, page URL, the feed's entry)."""
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
    return [tuple(row) for row in session.execute(statement)]


def backlog_counts(session: Session, selection: Selection) -> dict[str, int]:
    """Selected articles counted by extractor version; those with no stored page to start
    from under ``"(no stored page)"``."""
    statement = (
        select(ArticleRow.extractor_version, func.count())
        .where(*conditions(session, selection))
        .where(col(ArticleRow.raw_page_id).is_not(None))
        .group_by(col(ArticleRow.extractor_version))
        .order_by(func.count().desc())
    )
    counts = {version: count for version, count in session.exec(statement)}
    orphans = session.exec(
        select(func.count())
        .select_from(ArticleRow)
        .where(*conditions(session, selection))
        .where(col(ArticleRow.raw_page_id).is_(None))
    ).one()
    if orphans:
        counts["(no stored page)"] = orphans
    return counts


def conditions(session: Session, selection: Selection) -> list[ColumnElement[bool]]:
    """The WHERE clauses on ``ArticleRow`` that ``selection`` stands for."""
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
        conditions.append(from_source(session, selection.source))
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


def from_source(session: Session, source: str) -> ColumnElement[bool]:
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


def dated_since(moment: datetime) -> ColumnElement[bool]:
    """Published at or after ``moment``; for an article with no date, stored at or after it."""
    published, stored = col(ArticleRow.published_at), col(ArticleRow.created_at)
    return or_(published >= moment, published.is_(None) & (stored >= moment))


def dated_before(moment: datetime) -> ColumnElement[bool]:
    """Published before ``moment``; for an article with no date, stored before it."""
    published, stored = col(ArticleRow.published_at), col(ArticleRow.created_at)
    return or_(published < moment, published.is_(None) & (stored < moment))
