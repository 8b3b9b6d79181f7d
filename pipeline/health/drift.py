"""Drift alarms: a source's recent pages against its own past, with nothing to configure.

A source is ``degraded`` when, over its recent pages, a field it used to fill is filled half
as often or less, its median body length has halved or worse, or most of its pages now fail.
Each rule asks for enough pages on both sides and for a drop that chance cannot explain (a
two-proportion z-test at :data:`CONFIDENCE`): a false alarm, every morning, is how alarms
come to be ignored, so a slow one is the better mistake. There is no state: when the recent
pages look like the past again, the source is ``ok`` again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pipeline.health.tally import FIELDS, Tally

State = Literal["ok", "degraded", "learning"]
# Pages each side needs before any rule speaks: the recent window is at least this many,
# and a source's baseline as many again.
ENOUGH_PAGES = 30
# Articles each side needs for the fields' and the body's rules (failures take the rest).
ENOUGH_ARTICLES = 20
# How far past chance a drop must be: four standard errors (one false alarm in some 30,000
# comparisons of two samples that differ by chance alone).
CONFIDENCE = 4.0
# A field counts as one the source fills when at least this share of its articles had it.
USUALLY = 0.5
# Most recent pages failed, where few did before.
FAILING = 0.5


@dataclass(frozen=True)
class Alarm:
    """What fell, from what to what: a fill rate (0 to 1), a median length in words, or the
    share of pages that failed, with the commonest reason."""

    field: str
    baseline: float
    recent: float
    reason: str | None = None

    def describe(self) -> str:
        if self.field == "body_words":
            return f"body {self.baseline:.0f} → {self.recent:.0f} words (median)"
        said = f"{self.field} {self.baseline:.0%} → {self.recent:.0%}"
        return f"{said} ({self.reason})" if self.reason else said


@dataclass(frozen=True)
class Judgement:
    state: State
    alarms: tuple[Alarm, ...] = ()
    waiting_for: int = 0  # pages still needed before the rules speak (when learning)


def judge(recent: Tally, baseline: Tally) -> Judgement:
    """The source's state, from its recent pages and the pages before them."""
    short = max(ENOUGH_PAGES - recent.pages, 0) + max(ENOUGH_PAGES - baseline.pages, 0)
    if short:
        return Judgement("learning", waiting_for=short)
    alarms = [*_fields(recent, baseline), *_body(recent, baseline), *_failures(recent, baseline)]
    return Judgement("degraded" if alarms else "ok", tuple(alarms))


def _fields(recent: Tally, baseline: Tally) -> list[Alarm]:
    if min(recent.articles, baseline.articles) < ENOUGH_ARTICLES:
        return []
    alarms = []
    for name in FIELDS:
        before, now = baseline.filled[name], recent.filled[name]
        rate_before, rate_now = before / baseline.articles, now / recent.articles
        if (
            rate_before >= USUALLY
            and rate_now <= rate_before / 2
            and _z(before, baseline.articles, now, recent.articles) >= CONFIDENCE
        ):
            alarms.append(Alarm(name, rate_before, rate_now))
    return alarms


def _body(recent: Tally, baseline: Tally) -> list[Alarm]:
    """The median length halved: tested as the share of articles at most half the old
    median long, which was small and is now a half or more."""
    if min(recent.articles, baseline.articles) < ENOUGH_ARTICLES:
        return []
    before, now = baseline.median_words(), recent.median_words()
    if not before or now is None or now > before / 2:
        return []
    short_before = baseline.share_at_most(before / 2) or 0.0
    short_now = recent.share_at_most(before / 2) or 0.0
    z = _z(
        round(short_now * recent.articles),
        recent.articles,
        round(short_before * baseline.articles),
        baseline.articles,
    )
    return [Alarm("body_words", before, now)] if z >= CONFIDENCE else []


def _failures(recent: Tally, baseline: Tally) -> list[Alarm]:
    failed_before = baseline.pages - baseline.articles
    failed_now = recent.pages - recent.articles
    share_before, share_now = failed_before / baseline.pages, failed_now / recent.pages
    if (
        share_now >= FAILING
        and share_now >= 2 * share_before
        and _z(failed_now, recent.pages, failed_before, baseline.pages) >= CONFIDENCE
    ):
        reason = recent.failures.most_common(1)[0][0]
        return [Alarm("failures", share_before, share_now, reason)]
    return []


def _z(hits_a: int, size_a: int, hits_b: int, size_b: int) -> float:
    """How many standard errors share a is above share b (pooled two-proportion test)."""
    pooled = (hits_a + hits_b) / (size_a + size_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / size_a + 1 / size_b))
    if spread == 0:
        return 0.0
    return (hits_a / size_a - hits_b / size_b) / spread
