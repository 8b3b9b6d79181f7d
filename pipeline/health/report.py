"""Each source's health as newsflow reports it: figures, state and alarms, read in one pass.

What ``newsflow sources health``, ``newsflow status`` and the workers' Prometheus gauge
show. Every source is reported, even one with no pages yet (it is ``learning``); sites that
pages came from with no source (``newsflow ingest``) are reported by host.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from pipeline.health.drift import Judgement, State, judge
from pipeline.health.tally import FIELDS, Tally
from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.health import (
    HORIZON,
    StandingAlarm,
    Windows,
    alarms,
    clear_alarm,
    prune,
    raise_alarm,
    source_scope,
    window_start,
    windows,
)
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
    paused: bool = False
    state: State
    # While degraded: from when (the first page of the window that raised the alarm); its
    # baseline is then the weeks before that, however long the alarm stands.
    degraded_since: datetime | None = None
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
    settings: Settings,
    *,
    now: datetime | None = None,
    source_id: int | None = None,
    hosts: bool = True,
) -> list[ScopeHealth]:
    """Every source's health (or one source's), then the hosts of pages from no source;
    sources by id, hosts by their last day's pages. Alarms raised or cleared by the reading
    are kept (see :class:`~pipeline.store.tables.HealthAlarm`)."""
    now = now or datetime.now(UTC)
    with session_scope(settings) as session:
        query = select(Source.id, Source.name, Source.url, Source.paused).order_by(col(Source.id))
        if source_id is not None:
            query = query.where(Source.id == source_id)
        sources = [row for row in session.exec(query) if row[0]]
        scopes = [source_scope(number) for number, _, _, _ in sources]
        found = windows(session, now=now, scopes=None if hosts and source_id is None else scopes)
        standing = alarms(session)
        judged = Judging(session, now, standing)
        reports = [
            judged.report(
                source_scope(number), number, name, url, found.get(source_scope(number)), paused
            )
            for number, name, url, paused in sources
        ]
        if hosts and source_id is None:
            named = sorted(
                (scope for scope in found if scope.startswith("host:")),
                key=lambda scope: (-found[scope].last_day.pages, scope),
            )
            reports += [judged.report(scope, None, None, None, found[scope]) for scope in named]
        judged.keep()
    return reports


class Judging:
    """Judges scopes one by one, against the pages before their alarm while one stands; the
    alarms raised and cleared are written together at the end (:meth:`keep`), in one short
    write, in the order of their scopes."""

    def __init__(self, session: Session, now: datetime, standing: dict[str, StandingAlarm]):
        self.session, self.now, self.standing = session, now, standing
        self.raised: dict[str, StandingAlarm] = {}
        self.cleared: set[str] = set()

    def report(
        self,
        scope: str,
        source_id: int | None,
        name: str | None,
        url: str | None,
        seen: Windows | None,
        paused: bool = False,
    ) -> ScopeHealth:
        seen = seen or Windows()
        alarm = self.standing.get(scope)
        if alarm is not None and alarm.since < self.now - HORIZON:
            self.cleared.add(scope)  # long enough: the new figures are the source's normal
            alarm = None
        baseline = alarm.baseline if alarm is not None else seen.baseline
        judgement = judge(seen.recent, baseline)
        if alarm is not None and judgement.state != "degraded":
            self.cleared.add(scope)
            alarm = None
        elif alarm is None and judgement.state == "degraded":
            start = window_start(self.session, scope=scope, pages=seen.recent.pages)
            alarm = self.raised[scope] = StandingAlarm(start or self.now, seen.baseline)
        since = alarm.since if alarm is not None else None
        report = _report(
            scope, source_id, name, url, seen.recent, baseline, seen.last_day, judgement, since
        )
        return report.model_copy(update={"paused": paused}) if paused else report

    def keep(self) -> None:
        for scope in sorted(self.cleared | set(self.raised)):
            if scope in self.cleared:
                clear_alarm(self.session, scope=scope)
            if scope in self.raised:
                found = self.raised[scope]
                raise_alarm(self.session, scope=scope, since=found.since, baseline=found.baseline)


def forget_old(settings: Settings) -> tuple[int, int]:
    """Drop the health counts no window reads any more; how many recent and daily rows."""
    with session_scope(settings) as session:
        return prune(session)


def degraded(reports: list[ScopeHealth]) -> list[ScopeHealth]:
    return [report for report in reports if report.state == "degraded"]


def _report(
    scope: str,
    source_id: int | None,
    name: str | None,
    url: str | None,
    recent: Tally,
    baseline: Tally,
    last_day: Tally,
    judgement: Judgement,
    since: datetime | None,
) -> ScopeHealth:
    return ScopeHealth(
        scope=scope,
        source_id=source_id,
        name=name,
        url=url,
        state=judgement.state,
        degraded_since=since if judgement.state == "degraded" else None,
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
        last_day=_figures(last_day),
        recent=_figures(recent),
        baseline=_figures(baseline),
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
