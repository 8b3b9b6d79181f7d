"""Sources' health as Prometheus gauges, read from the database when scraped.

One series per source, labelled by its id alone (bounded, unlike a URL or a host), so an
alert can fire on ``newsflow_source_degraded == 1`` and name the source to look at with
``newsflow sources health ID``. Every worker serves the same figures: alert on ``max by
(source)``. A scrape reads at most once a minute; between, the last reading is served again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from celery.utils.log import get_logger

from pipeline.health.report import ScopeHealth, source_health
from pipeline.settings import Settings

logger = get_logger(__name__)

# Health moves by the day; a scrape every 15 seconds need not read the database each time.
READ_EVERY = 60.0


class HealthCollector:
    """``newsflow_source_degraded`` and ``newsflow_source_pages_last_day``, per source."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._read_at = float("-inf")
        self._reports: list[ScopeHealth] | None = None
        self._lock = threading.Lock()

    def describe(self) -> list[Any]:
        # Names only, so that registering this collector does not read the database.
        return list(self._families())

    def collect(self) -> Iterator[Any]:
        degraded, pages, up = self._families()
        reports = self._reports_now()
        if reports is None:
            up.add_metric([], 0)
            yield up
            return
        for report in reports:
            if report.source_id is None or report.paused:
                continue  # hosts are unbounded (`newsflow sources health` lists them); a
                # paused source gives no pages on purpose
            label = [str(report.source_id)]
            degraded.add_metric(label, 1 if report.state == "degraded" else 0)
            pages.add_metric(label, report.last_day.pages)
        up.add_metric([], 1)
        yield from (degraded, pages, up)

    def _reports_now(self) -> list[ScopeHealth] | None:
        with self._lock:
            if time.monotonic() - self._read_at >= READ_EVERY:
                try:
                    self._reports = source_health(self.settings, hosts=False)
                except Exception as error:  # a scrape still gives the rest of the metrics
                    logger.warning("metrics: cannot read the sources' health: %s", error)
                    self._reports = None
                self._read_at = time.monotonic()
            return self._reports

    @staticmethod
    def _families() -> tuple[Any, Any, Any]:
        from prometheus_client.core import GaugeMetricFamily

        return (
            GaugeMetricFamily(
                "newsflow_source_degraded",
                "1 when the source's recent pages have drifted from its past (a field filled "
                "half as often, half the body length, or most pages failing); see `newsflow "
                "sources health ID`.",
                labels=["source"],
            ),
            GaugeMetricFamily(
                "newsflow_source_pages_last_day",
                "Pages of the source counted in the last 24 hours: articles and failures.",
                labels=["source"],
            ),
            GaugeMetricFamily(
                "newsflow_health_up", "1 when the sources' health could be read from the database."
            ),
        )
