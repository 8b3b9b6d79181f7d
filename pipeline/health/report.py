"""Each source's health as newsflow reports it: figures, state and alarms, read in one pass.

What ``newsflow sources health``, ``newsflow status`` and the workers' Prometheus gauge
show. Every source is reported, even one with no pages yet (it is ``learning``); sites that
pages came from with no source (``newsflow ingest``) are reported by host.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel import col, select

from pipeline.health.drift import State, judge
from pipeline.health.tally import FIELDS, Tally
from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.health import Windows, prune, source_scope, windows
from pipeline.store.tables import Source


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)


class Figures(Report):
    """Pages of one window: articles and failures, fill rates (0 to 1, None without
    articles), the median body length, and failures by reason."""

    pages: int
    articles: int
    duplicates: int
    interstitials: int
    failures: dict[str, int]
    fill: dict[str, float | None]
    median_words: int | None


class AlarmReport(Report):
    field: str  # a field of FIELDS, "body_words" or "failures"
    baseline: float
    recent: float
    reason: str | None = None  # for failures: the commonest reason in the recent window
    message: str


class ScopeHealth(Report):
    scope: str  # "source:<id>" or "host:<name>"
    source_id: int | None
    name: str | None
    url: str | None  # the source's feed; None for a host
    state: State
    alarms: list[AlarmReport]
    waiting_for: int  # pages still to see before alarms can speak (learning)
    last_day: Figures
    recent: Figures
    baseline: Figures

    @property
    def label(self) -> str:
        """How a person names it: the source's name or feed, or the host."""
        return self.name or self.url or self.scope.removeprefix("host:")


def source_health(
    settings: Settings, *, now: datetime | None = None, source_id: int | None = None
) -> list[ScopeHealth]:
    """Every source's health (or one source's), then the hosts of pages from no source;
    sources by id, hosts by their last day's pages."""
    now = now or datetime.now(UTC)
    with session_scope(settings) as session:
        query = select(Source.id, Source.name, Source.url).order_by(col(Source.id))
        if source_id is not None:
            query = query.where(Source.id == source_id)
        sources = list(session.exec(query))
        scopes = [source_scope(found) for found, _, _ in sources if found is not None]
        found = windows(session, now=now, scopes=scopes if source_id is not None else None)
    reports = [
        _report(source_scope(number), number, name, url, found.get(source_scope(number)))
        for number, name, url in sources
        if number is not None
    ]
    if source_id is None:
        hosts = sorted(
            (scope for scope in found if scope.startswith("host:")),
            key=lambda scope: (-found[scope].last_day.pages, scope),
        )
        reports += [_report(scope, None, None, None, found[scope]) for scope in hosts]
    return reports


def forget_old(settings: Settings) -> tuple[int, int]:
    """Drop the health counts no window reads any more; how many recent and daily rows."""
    with session_scope(settings) as session:
        return prune(session)


def degraded(reports: list[ScopeHealth]) -> list[ScopeHealth]:
    return [report for report in reports if report.state == "degraded"]


def _report(
    scope: str, source_id: int | None, name: str | None, url: str | None, seen: Windows | None
) -> ScopeHealth:
    seen = seen or Windows()
    judgement = judge(seen.recent, seen.baseline)
    return ScopeHealth(
        scope=scope,
        source_id=source_id,
        name=name,
        url=url,
        state=judgement.state,
        alarms=[
            AlarmReport(
                field=alarm.field,
                baseline=round(alarm.baseline, 3),
                recent=round(alarm.recent, 3),
                reason=alarm.reason,
                message=alarm.describe(),
            )
            for alarm in judgement.alarms
        ],
        waiting_for=judgement.waiting_for,
        last_day=_figures(seen.last_day),
        recent=_figures(seen.recent),
        baseline=_figures(seen.baseline),
    )


def _figures(tally: Tally) -> Figures:
    median = tally.median_words()
    rates = {name: tally.fill_rate(name) for name in FIELDS}
    return Figures(
        pages=tally.pages,
        articles=tally.articles,
        duplicates=tally.duplicates,
        interstitials=tally.interstitials,
        failures=dict(tally.failures.most_common()),
        fill={name: round(rate, 3) if rate is not None else None for name, rate in rates.items()},
        median_words=round(median) if median is not None else None,
    )


__all__ = ["ScopeHealth", "degraded", "source_health"]
