"""Reprocessing: stored raw pages sent through clean, extract and store again.

The same queues and tasks as fresh articles (``page_chain``), so the same workers, retries and
failure records; only the origin is never asked again. Beat runs :func:`reprocess_outdated`
on ``NEWSFLOW_REPROCESS_SCHEDULE`` for whatever an older extractor produced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import shared_task
from celery.utils.log import get_task_logger

from pipeline import reprocess
from pipeline.models import Selection
from pipeline.settings import Settings

from .app import get_app
from .config import task_name
from .policy import NewsflowTask
from .queues import broker_client, queue_depths
from .tasks import page_chain

logger = get_task_logger(__name__)


def send_reprocessing(
    settings: Settings,
    selection: Selection,
    *,
    limit: int | None = None,
    sent: Callable[[reprocess.Target, Any], None] | None = None,
) -> int:
    """Send each selected article's page down the chain; how many were sent.

    ``sent`` hears of each (target, the chain's last result) as it goes.
    """
    count = 0
    for target in reprocess.targets(settings, selection, limit=limit):
        result = page_chain(target.page).apply_async()
        if sent is not None:
            sent(target, result)
        count += 1
    return count


@shared_task(bind=True, base=NewsflowTask, name=task_name("reprocess"), ignore_result=True)
def reprocess_outdated(self: NewsflowTask, limit: int | None = None) -> int:
    """Beat's job: reprocess (up to ``NEWSFLOW_REPROCESS_BATCH``) articles that an extractor
    other than this worker's produced."""
    settings = self.settings
    batch = limit or settings.reprocess_batch
    # Last run's pages still waiting (workers down, or slower than the schedule): sending
    # them again would only pile copies on top. Fresh articles wait in the same queue.
    waiting = queue_depths(broker_client(settings), settings, unacked_limit=0).waiting["clean"]
    if waiting >= batch:
        logger.warning("reprocessing skipped: %d messages already wait to be cleaned", waiting)
        return 0
    count = send_reprocessing(settings, Selection(skip_failed=True), limit=batch)
    logger.info("sent %d article(s) an older extractor produced for reprocessing", count)
    return count


@dataclass(frozen=True)
class Reprocessed:
    """Where one reprocessed article's chain stands."""

    status: str  # stored, failed or pending
    changed: tuple[str, ...] = ()
    failed_task: str | None = None  # the task that recorded why
    extractor_version: str | None = None  # the worker's, that made the stored article


def reprocessed(results: list[Any]) -> list[Reprocessed]:
    """The state of each chain (by its last result), read in one round trip per batch."""
    chains = [_chain(result) for result in results]
    ids = [task_id for chain in chains for task_id in chain]
    metas = dict(zip(ids, _metas(ids), strict=True))
    return [_reprocessed(chain, metas) for chain in chains]


def _chain(result: Any) -> list[str]:
    """The chain's task ids, first stage first."""
    ids = []
    while result is not None:
        ids.append(result.id)
        result = result.parent
    return ids[::-1]


def _metas(task_ids: list[str]) -> list[dict[str, Any]]:
    backend = get_app().backend
    metas: list[dict[str, Any]] = []
    if not hasattr(backend, "mget"):  # a result backend other than Redis: one by one
        return [backend.get_task_meta(task_id) for task_id in task_ids]
    for start in range(0, len(task_ids), 1000):
        keys = [backend.get_key_for_task(task_id) for task_id in task_ids[start : start + 1000]]
        metas.extend(
            backend.decode_result(value) if value else {"status": "PENDING"}
            for value in backend.mget(keys)
        )
    return metas


def _reprocessed(chain: list[str], metas: dict[str, dict[str, Any]]) -> Reprocessed:
    last = metas[chain[-1]]
    if last.get("status") == "SUCCESS":
        result = last.get("result") or {}
        return Reprocessed(
            "stored",
            changed=tuple(result.get("changed") or ()),
            extractor_version=result.get("extractor_version"),
        )
    for task_id in chain:  # an earlier stage's failure is the one recorded with a reason
        if metas[task_id].get("status") == "FAILURE":
            return Reprocessed("failed", failed_task=task_id)
    return Reprocessed("pending")
