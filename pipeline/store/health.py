"""Source health in the database: each page counted where it belongs, and the sums read back.

The store stage (and the failure record of any stage) counts each page once, in the same
transaction: one upsert into the day's :class:`~pipeline.store.tables.HealthDay` row and one
row in :class:`~pipeline.store.tables.HealthRecent`. Reading a source's windows is three
grouped queries, whatever the number of articles: the days of the horizon, the recent window
cut from the recent pages, and the last day.

As everywhere in the store: keyword-only functions over an open session; none commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, delete, func, select
from sqlmodel import Session

from pipeline.health.tally import FIELDS, Observation, Tally, observe_article, observe_failure
from pipeline.models import Article, StoredRef
from pipeline.store.db import dialect_insert
from pipeline.store.tables import HealthAlarm, HealthDay, HealthRecent, RawPage, SeenUrl
from pipeline.urls import canonicalize

# The past a source's recent pages are compared with: the weeks before them.
HORIZON = timedelta(days=28)
# Daily rows are kept a little past the horizon: nothing reads further back.
KEEP_DAYS = HORIZON + timedelta(days=2)
# The recent window: the last day's pages, or this many if the day had fewer.
RECENT_PAGES = 30
RECENT_SPAN = timedelta(days=1)
# A scope's recent rows beyond the window are dropped by one page in so many, as it is stored.
_PRUNE_EVERY = 64

_DAY = HealthDay.__table__  # type: ignore[attr-defined]
_RECENT = HealthRecent.__table__  # type: ignore[attr-defined]
_ALARM = HealthAlarm.__table__  # type: ignore[attr-defined]
_SEEN = SeenUrl.__table__  # type: ignore[attr-defined]
_PAGES = RawPage.__table__  # type: ignore[attr-defined]
_COUNTS = ("duplicates", *FIELDS)


def source_scope(source_id: int) -> str:
    return f"source:{source_id}"


def host_scope(host: str) -> str:
    return f"host:{host}"


def item_scope(session: Session, *, source: str, url: str | None = None) -> str | None:
    """Where a page fetched from ``source`` (the URL a feed listed, or one given) is counted:
    the source whose poll found it, else its site's host; None for a local file."""
    try:
        if source.startswith(("http://", "https://")):
            source_id = session.execute(
                select(_SEEN.c.source_id).where(_SEEN.c.url == canonicalize(source))
            ).scalar()
            if source_id is not None:
                return source_scope(source_id)
        address = url if url and url.startswith(("http://", "https://")) else source
        web = address.startswith(("http://", "https://"))
        host = urlsplit(address).hostname if web else None
    except ValueError:  # a URL too malformed to have a host ("http://[::1/x")
        return None
    return host_scope(host) if host else None


def page_scope(session: Session, *, page_id: int) -> str | None:
    """Where the kept page ``page_id`` is counted (see :func:`item_scope`); None for a page
    read from a web archive, which says nothing of the site as it is today."""
    row = session.execute(
        select(_PAGES.c.source, _PAGES.c.url, _PAGES.c.archive).where(_PAGES.c.id == page_id)
    ).first()
    if row is None or row[2] is not None:
        return None
    return item_scope(session, source=row[0], url=row[1])


def count_article(
    session: Session, *, article: Article, stored: StoredRef, now: datetime | None = None
) -> None:
    """Count a stored article as a page of its source, once: when it is new. Not when a
    reprocessing made it (the source served nothing new), nor when a page was stored again
    (a redelivered task, a page fetched again)."""
    if not stored.created or article.article_id is not None or article.page_id is None:
        return
    scope = page_scope(session, page_id=article.page_id)
    if scope is not None:
        observed = observe_article(article, duplicate=stored.duplicate_of is not None)
        count_page(session, scope=scope, observation=observed, now=now)


def count_failure(
    session: Session,
    *,
    item: str,
    page_id: int | None,
    error: BaseException,
    now: datetime | None = None,
) -> None:
    """Count a page's failure, recorded for good, as a page of its source (by its reason)."""
    observed = observe_failure(error)
    if observed is None:
        return
    if page_id is not None:
        scope = page_scope(session, page_id=page_id)
    else:
        scope = item_scope(session, source=item)
    if scope is not None:
        count_page(session, scope=scope, observation=observed, now=now)


def count_page(
    session: Session, *, scope: str, observation: Observation, now: datetime | None = None
) -> None:
    """Count one page of ``scope``: in its day's sums and among its recent pages."""
    now = now or datetime.now(UTC)
    values: dict[str, Any] = {
        "outcome": observation.outcome,
        "words_bin": observation.words_bin,
        "duplicates": int(observation.duplicate),
        **{name: int(name in observation.filled) for name in FIELDS},
    }
    session.execute(
        _add_to_day(dialect_insert(session)),
        {"day": now.date(), "scope": scope, "pages": 1, **values},
    )
    row_id = session.execute(_add_recent(), {"scope": scope, "seen_at": now, **values}).scalar()
    if row_id is not None and row_id % _PRUNE_EVERY == 0:
        _prune_scope(session, scope=scope, now=now)


@cache
def _add_to_day(insert: Callable[..., Any]) -> Any:
    """The upsert of a page into its day's row, built once per dialect (as articles')."""
    statement = insert(_DAY)
    added = ("pages", *_COUNTS)
    return statement.on_conflict_do_update(
        index_elements=[_DAY.c.day, _DAY.c.scope, _DAY.c.outcome, _DAY.c.words_bin],
        set_={name: _DAY.c[name] + statement.excluded[name] for name in added},
    )


@cache
def _add_recent() -> Any:
    return _RECENT.insert().returning(_RECENT.c.id)


def _prune_scope(session: Session, *, scope: str, now: datetime) -> None:
    """Drop ``scope``'s recent rows that no window can need: past a day, beyond the last
    :data:`RECENT_PAGES`."""
    newest = (
        select(_RECENT.c.id)
        .where(_RECENT.c.scope == scope)
        .order_by(_RECENT.c.id.desc())
        .offset(RECENT_PAGES - 1)
        .limit(1)
        .scalar_subquery()
    )
    session.execute(
        delete(_RECENT).where(
            _RECENT.c.scope == scope,
            _RECENT.c.seen_at < now - RECENT_SPAN,
            _RECENT.c.id < newest,
        )
    )


def prune(session: Session, *, now: datetime | None = None) -> tuple[int, int]:
    """Drop what health no longer reads: recent rows past the horizon (a source gone quiet)
    and daily rows past :data:`KEEP_DAYS`. How many of each."""
    now = now or datetime.now(UTC)
    recent = session.execute(delete(_RECENT).where(_RECENT.c.seen_at < _start_of(now - HORIZON)))
    days = session.execute(delete(_DAY).where(_DAY.c.day < (now - KEEP_DAYS).date()))
    # Alarms of scopes no longer read (a source removed, a host gone quiet): past their time.
    session.execute(delete(_ALARM).where(_ALARM.c.since < now - HORIZON))
    return recent.rowcount, days.rowcount  # type: ignore[attr-defined]


@dataclass
class Windows:
    """A scope's pages in the three views health compares: the recent window, the pages of
    the horizon before it, and the last day."""

    recent: Tally = field(default_factory=Tally)
    baseline: Tally = field(default_factory=Tally)
    last_day: Tally = field(default_factory=Tally)


def windows(
    session: Session, *, now: datetime | None = None, scopes: Iterable[str] | None = None
) -> dict[str, Windows]:
    """Each scope's windows (those of ``scopes``, or every scope with pages in the horizon).

    The recent window is a scope's last day, or its last :data:`RECENT_PAGES` pages when the
    day had fewer; and never more than half of the horizon's pages, so that a source first
    seen today is compared with its own morning. The baseline is the rest of the horizon.
    """
    now = now or datetime.now(UTC)
    start = _start_of(now - HORIZON)
    wanted = list(scopes) if scopes is not None else None
    horizon: dict[str, Tally] = defaultdict(Tally)
    recent: dict[str, Tally] = defaultdict(Tally)
    last_day: dict[str, Tally] = defaultdict(Tally)
    for scope, tally_row in _rows(session, _horizon_rows(start.date(), wanted)):
        horizon[scope].add(*tally_row)
    for scope, tally_row in _rows(session, _recent_rows(start, now - RECENT_SPAN, wanted)):
        recent[scope].add(*tally_row)
    for scope, tally_row in _rows(session, _last_day_rows(now - RECENT_SPAN, wanted)):
        last_day[scope].add(*tally_row)
    return {
        scope: Windows(recent[scope], total.minus(recent[scope]), last_day[scope])
        for scope, total in horizon.items()
    }


def _start_of(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(), tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    """A moment read back: naive from SQLite (kept as UTC), in the session's zone from
    PostgreSQL; days are UTC days everywhere here."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


Row = tuple[str, tuple[str, int, int, int, dict[str, int]]]


def window_start(session: Session, *, scope: str, pages: int) -> datetime | None:
    """When the oldest of ``scope``'s last ``pages`` pages was seen."""
    statement = (
        select(_RECENT.c.seen_at)
        .where(_RECENT.c.scope == scope)
        .order_by(_RECENT.c.id.desc())
        .offset(max(pages - 1, 0))
        .limit(1)
    )
    seen = session.execute(statement).scalar()
    return _utc(seen) if seen is not None else None


@dataclass(frozen=True)
class StandingAlarm:
    since: datetime
    baseline: Tally  # the pages before ``since`` the alarm was raised against


def alarms(session: Session) -> dict[str, StandingAlarm]:
    """The alarms standing, by scope."""
    rows = session.execute(select(_ALARM.c.scope, _ALARM.c.since, _ALARM.c.baseline)).all()
    return {
        scope: StandingAlarm(_utc(since), Tally.from_json(baseline))
        for scope, since, baseline in rows
    }


def raise_alarm(session: Session, *, scope: str, since: datetime, baseline: Tally) -> None:
    session.execute(
        dialect_insert(session)(_ALARM)
        .values(scope=scope, since=since, baseline=baseline.as_json())
        .on_conflict_do_nothing(index_elements=[_ALARM.c.scope])
    )


def clear_alarm(session: Session, *, scope: str) -> None:
    session.execute(delete(_ALARM).where(_ALARM.c.scope == scope))


def _rows(session: Session, statement: Any) -> Iterable[Row]:
    """(scope, (outcome, words_bin, pages, duplicates, filled)) for each grouped row."""
    for scope, outcome, words_bin, pages, duplicates, *filled in session.execute(statement):
        yield (
            scope,
            (
                outcome,
                words_bin,
                int(pages),
                int(duplicates or 0),
                {name: int(count or 0) for name, count in zip(FIELDS, filled, strict=True)},
            ),
        )


def _sums(table: Any, pages: Any) -> list[Any]:
    return [pages, *(func.sum(table.c[name]) for name in _COUNTS)]


def _horizon_rows(first_day: date, scopes: list[str] | None) -> Any:
    statement = (
        select(_DAY.c.scope, _DAY.c.outcome, _DAY.c.words_bin, *_sums(_DAY, func.sum(_DAY.c.pages)))
        .where(_DAY.c.day >= first_day)
        .group_by(_DAY.c.scope, _DAY.c.outcome, _DAY.c.words_bin)
    )
    return statement.where(_DAY.c.scope.in_(scopes)) if scopes is not None else statement


def _recent_rows(start: datetime, day_ago: datetime, scopes: list[str] | None) -> Any:
    """The recent window of every scope, summed, in one query: each scope's recent rows are
    ranked newest first, and those within its window kept."""
    by_scope = {"partition_by": _RECENT.c.scope}
    ranked = select(
        *(_RECENT.c[name] for name in ("scope", "outcome", "words_bin", *_COUNTS)),
        func.row_number().over(order_by=_RECENT.c.id.desc(), **by_scope).label("rank"),
        func.sum(case((_RECENT.c.seen_at >= day_ago, 1), else_=0)).over(**by_scope).label("day"),
    ).where(_RECENT.c.seen_at >= start)
    if scopes is not None:
        ranked = ranked.where(_RECENT.c.scope.in_(scopes))
    ranked_rows = ranked.subquery()
    seen_query = (
        select(_DAY.c.scope, func.sum(_DAY.c.pages).label("pages"))
        .where(_DAY.c.day >= start.date())
        .group_by(_DAY.c.scope)
    )
    if scopes is not None:
        seen_query = seen_query.where(_DAY.c.scope.in_(scopes))
    seen = seen_query.subquery()
    window = case((ranked_rows.c.day > RECENT_PAGES, ranked_rows.c.day), else_=RECENT_PAGES)
    return (
        select(
            ranked_rows.c.scope,
            ranked_rows.c.outcome,
            ranked_rows.c.words_bin,
            *_sums(ranked_rows, func.count()),
        )
        .join(seen, seen.c.scope == ranked_rows.c.scope)
        .where(ranked_rows.c.rank <= window, 2 * ranked_rows.c.rank <= seen.c.pages)
        .group_by(ranked_rows.c.scope, ranked_rows.c.outcome, ranked_rows.c.words_bin)
    )


def _last_day_rows(day_ago: datetime, scopes: list[str] | None) -> Any:
    statement = (
        select(
            _RECENT.c.scope, _RECENT.c.outcome, _RECENT.c.words_bin, *_sums(_RECENT, func.count())
        )
        .where(_RECENT.c.seen_at >= day_ago)
        .group_by(_RECENT.c.scope, _RECENT.c.outcome, _RECENT.c.words_bin)
    )
    return statement.where(_RECENT.c.scope.in_(scopes)) if scopes is not None else statement
