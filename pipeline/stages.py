"""The four stages as the pipeline runs them, each from its message to its result.

Each function reads what it needs by id, calls the pure stage function, persists what must be
kept and returns the small record the next stage receives. Workers call them one per task;
``run_local`` calls all four in-process. All are safe to run twice.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.clean.html import clean
from pipeline.clean.interstitials import classify
from pipeline.errors import Challenge, EmptyDocument, Interstitial, MessageLost, NotFound
from pipeline.extract.article import extract
from pipeline.fetch.encoding import decode
from pipeline.fetch.fetcher import Fetcher, make_fetcher
from pipeline.models import Article, CleanedDocument, FeedEntry, Kind, PageRef, StoredRef
from pipeline.settings import Settings
from pipeline.store import articles, failures, health, outbox, pages, sources
from pipeline.store.db import session_scope

logger = logging.getLogger(__name__)


def fetch_stage(
    source: str,
    settings: Settings,
    *,
    fetcher: Fetcher | None = None,
    rate: float | None = None,
    entry: FeedEntry | None = None,
    reserved: float | None = None,
) -> PageRef:
    """Download (or read) ``source`` politely and keep its bytes; hand on the page's id.

    robots.txt is asked first and the host's rate limit is kept, by ``fetcher`` (a worker's
    raises :class:`~pipeline.errors.Throttled` to say when to come back) or, without one, by
    a fetcher made for this call, which waits for the host's turn.
    """
    with _fetcher(settings, fetcher) as polite:
        page = polite.fetch(source, rate=rate, reserved=reserved).page
    with session_scope(settings) as session:
        page_id = pages.save_raw_page(
            session, page=page, entry=entry.model_dump(mode="json") if entry else None
        )
        failures.resolve_failures(session, stage="fetch", item=source)
        outbox.note_done(session, source=source)
    return PageRef(page_id=page_id, url=page.url, entry=entry)


def _fetcher(settings: Settings, fetcher: Fetcher | None) -> AbstractContextManager[Fetcher]:
    """The fetcher to use, closed after the stage only if it was made for it."""
    return nullcontext(fetcher) if fetcher is not None else make_fetcher(settings)


def _page_text(ref: PageRef, settings: Settings) -> tuple[str, Kind, datetime | None]:
    """The page's text and kind, and when an archive captured it (None if fetched here)."""
    with session_scope(settings) as session:
        page = pages.get_raw_page(session, page_id=ref.page_id)
        kind: Kind = "html" if page.kind == "html" else "text"
        captured = page.fetched_at if page.archive else None
        if captured is not None and captured.tzinfo is None:
            captured = captured.replace(tzinfo=UTC)
        return decode(page.content, page.encoding), kind, captured


def clean_stage(ref: PageRef, settings: Settings) -> CleanedDocument:
    """Strip the page down to its article; captions, breadcrumbs and teasers kept apart."""
    text, kind, captured = _page_text(ref, settings)
    document = clean(text, kind, url=ref.url, page_id=ref.page_id)
    refuse_interstitial(text, kind, document)
    if not document.paragraphs:
        raise EmptyDocument(f"no article text found in {ref.url}")
    return document.model_copy(
        update={"entry": ref.entry, "article_id": ref.article_id, "captured_at": captured}
    )


# How a failure record says what stood in the article's place.
_INTERSTITIALS = {
    "consent": "a cookie or consent wall",
    "paywall": "a paywall stub",
    "challenge": "a bot challenge",
    "javascript": "an empty page that needs JavaScript",
    "not_found": 'a "page not found" served with status 200',
}


def refuse_interstitial(text: str, kind: Kind, document: CleanedDocument) -> None:
    """Raise if the page is not the article its URL promised (see
    :mod:`pipeline.clean.interstitials`): a bot challenge may let us through later and is
    retried; the other kinds would come back the same."""
    verdict = classify(text, kind, document)
    if verdict is None:
        return
    message = (
        f"{document.url or 'the page'} is {_INTERSTITIALS[verdict.kind]}, not an article "
        f"({verdict.evidence})"
    )
    if verdict.kind == "challenge":
        raise Challenge(message)
    raise Interstitial(message, kind=verdict.kind)


def extract_stage(document: CleanedDocument, settings: Settings) -> Article:
    """Build the structured article from the cleaned document (no page re-read needed)."""
    return extract(document)


def store_stage(article: Article, settings: Settings) -> StoredRef:
    """Upsert the article by its canonical URL, linked to the original it duplicates."""
    with session_scope(settings) as session:
        stored = articles.upsert_article(session, article=article)
        articles.note_extractor_version(session, version=article.extractor_version)
        health.count_article(session, article=article, stored=stored)
        if article.page_id is not None:
            failures.resolve_failures(
                session, stage=("clean", "extract", "store"), item=page_item(article.page_id)
            )
    return stored


def page_item(page_id: int) -> str:
    """How a failure record names the page a stage worked on."""
    return f"page:{page_id}"


def run_local(
    source: str,
    settings: Settings,
    *,
    fetcher: Fetcher | None = None,
) -> StoredRef:
    """All four stages in this process, with no broker: the embedded path for one-off jobs.

    As polite as a worker: robots.txt and the host's rate, through ``fetcher`` (one for a
    whole batch, from :func:`pipeline.fetch.fetcher.make_fetcher`, keeps the rates across its
    pages) or one made for this call.
    A failure is recorded against the stage it happened in, as a worker would, then re-raised.
    There are no retries here: a transient failure is recorded as retryable and left at that.
    """
    with _fetcher(settings, fetcher) as polite:
        return _run_stages(source, settings, polite)


def _run_stages(source: str, settings: Settings, fetcher: Fetcher) -> StoredRef:
    try:
        ref = fetch_stage(source, settings, fetcher=fetcher)
    except Exception as error:
        record_failure(
            settings, stage="fetch", item=source, error=error, payload=fetch_payload(source)
        )
        raise
    return run_page_local(ref, settings)


def run_page_local(ref: PageRef, settings: Settings) -> StoredRef:
    """Clean, extract and store a page already kept (fetched, or read from an archive), in
    this process. A failure is recorded against its stage, as a worker would, then re-raised."""
    stage = "clean"
    try:
        document = clean_stage(ref, settings)
        stage = "extract"
        article = extract_stage(document, settings)
        stage = "store"
        return store_stage(article, settings)
    except Exception as error:
        record_failure(
            settings,
            stage=stage,
            item=page_item(ref.page_id),
            error=error,
            page_id=ref.page_id,
            payload=page_payload(ref),
        )
        raise


def unfinished_pages(settings: Settings, *, older_than: float) -> list[PageRef]:
    """Pages whose chain was lost on the way (:func:`pipeline.store.pages.unfinished_pages`), each
    recorded as ``message_lost`` so that it is sent again once only: the record names it."""
    before = datetime.now(UTC) - timedelta(seconds=older_than)
    with session_scope(settings) as session:
        stopped = pages.unfinished_pages(session, before=before)
        refs = [
            PageRef.model_validate({"page_id": page.id, "url": page.url, "entry": page.entry})
            for page in stopped
            if page.id is not None
        ]
        for ref in refs:
            failures.record_failure(
                session,
                stage="clean",
                item=page_item(ref.page_id),
                error=MessageLost(f"the chain of {ref.url} stopped after fetch; sent again"),
                attempts=1,
                raw_page_id=ref.page_id,
                payload=page_payload(ref),
                resolved=True,  # a trace of what happened; it reopens if the page fails
            )
    return refs


def note_sent(settings: Settings, payloads: list[dict[str, Any]]) -> None:
    """Record items (their :func:`fetch_payload`) as sent to be fetched, before sending them:
    a message lost on its way is then found by :func:`lost_fetches`."""
    with session_scope(settings) as session:
        outbox.note_sent(session, payloads=payloads)


def note_waiting(settings: Settings, source: str, *, seconds: float) -> None:
    """``source``'s fetch waits ``seconds`` in Redis (a rate slot, a retry): not lost yet."""
    with session_scope(settings) as session:
        outbox.note_waiting(
            session, source=source, until=datetime.now(UTC) + timedelta(seconds=seconds)
        )


def lost_fetches(settings: Settings, *, older_than: float) -> list[dict[str, Any]]:
    """Items sent to be fetched that were due ``older_than`` seconds ago and are neither
    fetched nor failed: their message was lost. Each is recorded as sent again (and as
    ``message_lost``, a trace that reopens should the fetch fail); their payloads returned."""
    before = datetime.now(UTC) - timedelta(seconds=older_than)
    with session_scope(settings) as session:
        payloads = [row.payload for row in outbox.overdue(session, before=before)]
        outbox.note_sent(session, payloads=payloads)
        for payload in payloads:
            failures.record_failure(
                session,
                stage="fetch",
                item=payload["source"],
                error=MessageLost(f"the fetch of {payload['source']} was lost; sent again"),
                attempts=1,
                payload=payload,
                resolved=True,
            )
    return payloads


def fetch_payload(
    source: str, entry: dict[str, Any] | None = None, rate: float | None = None
) -> dict[str, Any]:
    """What a replay of a failed fetch sends again: the source, and the feed's word on it
    (the entry as its task message carries it)."""
    return {"source": source, "entry": entry, "rate": rate}


def page_payload(ref: PageRef) -> dict[str, Any]:
    """What a replay of a later stage starts from: the stored raw page (never refetched)."""
    return ref.model_dump(mode="json")


def record_failure(
    settings: Settings,
    *,
    stage: str,
    item: str,
    error: BaseException,
    attempts: int = 1,
    page_id: int | None = None,
    task_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Write the failure record for ``stage`` on ``item`` (its reason, message and attempts),
    and count it in its source's health the first time the item fails there.

    A bot challenge is recorded against the fetch of the page's source, whatever stage saw
    it: the page in hand will never change, so ``newsflow failures retry`` must fetch again.
    """
    if isinstance(error, Challenge) and stage != "fetch" and page_id is not None:
        with suppress(NotFound):  # the page gone: the record stays the stage's own
            again = refetch_payload(settings, page_id, payload)
            if again is not None:
                stage, item, payload = "fetch", *again
    with session_scope(settings) as session:
        first = failures.first_failure(session, stage=stage, item=item)
        failures.record_failure(
            session,
            stage=stage,
            item=item,
            error=error,
            attempts=attempts,
            raw_page_id=page_id,
            task_id=task_id,
            payload=payload,
        )
        if stage == "fetch":
            outbox.note_done(session, source=item)  # the record is its trace from now on
    # A reprocessing's failure is no news of the source; the count never costs the record.
    if first and not (payload or {}).get("article_id"):
        _count_failure(settings, item, page_id, error)


def _count_failure(
    settings: Settings, item: str, page_id: int | None, error: BaseException
) -> None:
    """Count a failure in its source's health, in a transaction of its own, after the record
    is written: bookkeeping that fails loses a count, never the failure record."""
    try:
        with session_scope(settings) as session:
            health.count_failure(session, item=item, page_id=page_id, error=error)
    except Exception:
        logger.warning(
            "could not count the failure of %s in its source's health", item, exc_info=True
        )


def refetch_payload(
    settings: Settings, page_id: int, payload: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The source a kept page was fetched from, and what its fetch task is sent with again
    (the rate of the source that found it included); None where a fetch today would not
    stand in for the page: a reprocessing of it (``payload`` names the article), or a page
    read from a web archive."""
    if (payload or {}).get("article_id"):
        return None
    with session_scope(settings) as session:
        page = pages.get_raw_page(session, page_id=page_id)
        if page.archive is not None:
            return None
        rate = sources.item_rate(session, url=page.source)
        return page.source, fetch_payload(page.source, page.entry, rate)
