"""Retrying recorded failures (``newsflow failures retry``): each item goes back into the
queues where it stopped.

A failed fetch is fetched again, with the feed entry it came with. A page that failed later
(clean, extract or store) starts again from its stored raw page, so a retry never asks the
origin twice for bytes newsflow already has.
"""

from __future__ import annotations

from typing import Any

from pipeline.errors import NotFound
from pipeline.models import PageRef
from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.failures import mark_replayed, reopen_failure
from pipeline.store.outbox import note_done, note_sent
from pipeline.store.pages import get_raw_page
from pipeline.store.tables import Failure

from .tasks import page_chain, payload_chain


def retry_chain(failure: Failure, settings: Settings) -> Any:
    """The chain of tasks that sends ``failure``'s item through again."""
    if failure.stage == "fetch":
        return payload_chain(fetch_payload(failure))
    return page_chain(_page_ref(failure, failure.payload or {}, settings))


def fetch_payload(failure: Failure) -> dict[str, Any]:
    """What a failed fetch is sent again with; records older than payloads have the item."""
    payload = failure.payload or {}
    return {
        "source": str(payload.get("source") or failure.item),
        "entry": payload.get("entry"),
        "rate": payload.get("rate"),
    }


def _page_ref(failure: Failure, payload: dict[str, Any], settings: Settings) -> PageRef:
    if payload.get("page_id") is not None:
        return PageRef.model_validate(payload)
    # Recorded before failures kept a payload: the raw page is enough.
    if failure.raw_page_id is None:
        raise NotFound(
            f"failure {failure.id} ({failure.stage} of {failure.item}) names no stored page "
            "to start again from"
        )
    with session_scope(settings) as session:
        page = get_raw_page(session, page_id=failure.raw_page_id)
        return PageRef.model_validate(
            {"page_id": failure.raw_page_id, "url": page.url, "entry": page.entry}
        )


def retry_failure(failure: Failure, settings: Settings) -> Any:
    """Send the item through again and mark the failure resolved (reopened if it fails again).

    Returns the AsyncResult of the chain's last task.
    """
    chain = retry_chain(failure, settings)
    assert failure.id is not None
    # Marked first: a retry that fails at once must find the record resolved, to reopen it.
    with session_scope(settings) as session:
        mark_replayed(session, failure_id=failure.id)
        if failure.stage == "fetch":
            note_sent(session, payloads=[fetch_payload(failure)])
    try:
        return chain.apply_async()
    except Exception:
        with session_scope(settings) as session:
            reopen_failure(session, failure_id=failure.id)
            if failure.stage == "fetch":
                note_done(session, source=fetch_payload(failure)["source"])  # never sent
        raise
