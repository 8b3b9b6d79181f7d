"""Figures about the store for ``newsflow status``: counts only, never rows.

Keyword-only functions over an open session, like the rest of :mod:`pipeline.store`, and
read-only. Each is a COUNT or a GROUP BY that an index answers (``article.created_at``,
``article.updated_at``, ``article.extractor_version``, ``failure.resolved``,
``source.paused``, ``source.next_poll_at``), so the status screen costs the same with a
million articles as with ten. The one list, the failing sources, is capped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy
from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from pipeline.store.tables import ArticleRow, Failure, Source

# A failing source's last error, long enough to hold what to do about it (the guard's
# refusal, with the setting to change, runs to some 250 characters); a page of HTML sent as
# an error is cut.
ERROR_CHARS = 500


class Figures(BaseModel):
    model_config = ConfigDict(frozen=True)


class ArticleCounts(Figures):
    total: int
    created_last_hour: int
    created_last_day: int
    updated_last_hour: int
    duplicates: int  # linked to a first-seen original (``articles --unique`` hides them)


class FailureCount(Figures):
    stage: str
    reason: str
    count: int


class FailingSource(Figures):
    id: int
    url: str
    name: str | None
    errors_in_row: int
    last_error: str | None


class SourceCounts(Figures):
    total: int
    paused: int
    due: int
    failing: int
    failing_sources: list[FailingSource]


class VersionCount(Figures):
    extractor_version: str
    count: int


class Reprocessing(Figures):
    """Articles another extractor version made, which reprocessing would bring up to date."""

    current_version: str
    outdated: int
    by_version: list[VersionCount]


def article_counts(session: Session, *, now: datetime) -> ArticleCounts:
    """Articles stored in all, created in the last hour and day, and updated in the last hour."""

    def count(*conditions: ColumnElement[bool]) -> int:
        return session.exec(select(func.count()).select_from(ArticleRow).where(*conditions)).one()

    return ArticleCounts(
        total=count(),
        created_last_hour=count(col(ArticleRow.created_at) >= now - timedelta(hours=1)),
        created_last_day=count(col(ArticleRow.created_at) >= now - timedelta(days=1)),
        updated_last_hour=count(col(ArticleRow.updated_at) >= now - timedelta(hours=1)),
        duplicates=count(col(ArticleRow.duplicate_of).is_not(None)),
    )


def open_failures(session: Session) -> list[FailureCount]:
    """Unresolved failures counted by stage and reason, the largest groups first."""
    count = func.count().label("count")
    statement = (
        select(Failure.stage, Failure.reason, count)
        .where(col(Failure.resolved).is_(False))
        .group_by(col(Failure.stage), col(Failure.reason))
        .order_by(count.desc(), col(Failure.stage), col(Failure.reason))
    )
    return [
        FailureCount(stage=stage, reason=reason, count=number)
        for stage, reason, number in session.exec(statement)
    ]


def source_counts(session: Session, *, now: datetime, limit: int = 10) -> SourceCounts:
    """Sources in all, paused, due to be polled now, and failing (with the ``limit`` worst)."""

    def count(*conditions: ColumnElement[bool]) -> int:
        return session.exec(select(func.count()).select_from(Source).where(*conditions)).one()

    active = col(Source.paused).is_(False)
    # Never polled (no next poll set) counts as due, as beat's dispatch treats it.
    due = col(Source.next_poll_at).is_(None) | (col(Source.next_poll_at) <= now)
    failing = col(Source.errors_in_row) > 0
    # Five columns: more than sqlmodel's select() types, so SQLAlchemy's own.
    worst = (
        sqlalchemy.select(
            col(Source.id),
            col(Source.url),
            col(Source.name),
            col(Source.errors_in_row),
            func.substr(col(Source.last_error), 1, ERROR_CHARS + 1),
        )
        .where(failing)
        .order_by(col(Source.errors_in_row).desc(), col(Source.id))
        .limit(limit)
    )
    return SourceCounts(
        total=count(),
        paused=count(col(Source.paused).is_(True)),
        due=count(active, due),
        failing=count(failing),
        failing_sources=[
            FailingSource(
                id=source_id or 0,
                url=url,
                name=name,
                errors_in_row=errors,
                last_error=_shorten(error),
            )
            for source_id, url, name, errors, error in session.execute(worst)
        ],
    )


def reprocessing(session: Session, *, current_version: str) -> Reprocessing:
    """Articles stored by an extractor version other than ``current_version``, by version."""
    count = func.count().label("count")
    statement = (
        select(ArticleRow.extractor_version, count)
        .where(col(ArticleRow.extractor_version) != current_version)
        .group_by(col(ArticleRow.extractor_version))
        .order_by(count.desc(), col(ArticleRow.extractor_version))
    )
    by_version = [
        VersionCount(extractor_version=version, count=number)
        for version, number in session.exec(statement)
    ]
    return Reprocessing(
        current_version=current_version,
        outdated=sum(version.count for version in by_version),
        by_version=by_version,
    )


def _shorten(text: str | None) -> str | None:
    if text is None or len(text) <= ERROR_CHARS:
        return text
    return text[: ERROR_CHARS - 1].rstrip() + "…"
