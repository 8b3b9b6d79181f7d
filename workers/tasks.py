"""One task per stage: decode the message, call the stage, hand on the result.

Retrying, waiting and recording failures are the base task's (:mod:`workers.policy`), so a
task body is only its stage. Tasks are declared for every app ``create_app`` makes, so
importing this module builds none; the task objects here resolve to the current app's, which
is why code that sends (the chains below) makes sure the process's app exists first.
"""

from __future__ import annotations

from typing import Any

from celery import chain, shared_task
from celery.exceptions import Retry
from celery.utils.log import get_task_logger

from pipeline import stages
from pipeline.errors import Throttled
from pipeline.health import report as health_report
from pipeline.models import Article, CleanedDocument, FeedEntry, PageRef
from pipeline.settings import Settings
from pipeline.sources import registry

from .app import get_app
from .config import task_name, visibility_timeout
from .messages import decode
from .policy import EXPECTED, NewsflowTask, StageTask, store_wait
from .queues import broker_client, queue_depths

logger = get_task_logger(__name__)

# Only the store task's result is kept: `ingest --wait` reads it, and earlier stages'
# results (whole article texts) would only fill Redis. Errors are kept for every stage.
STAGE_TASK = {"bind": True, "base": StageTask, "throws": EXPECTED}
# Waits of one poll for its feed's host at most: each is for a reserved slot, so a second is
# already rare.
POLL_WAITS = 5


@shared_task(name=task_name("fetch"), ignore_result=True, **STAGE_TASK)
def fetch(
    self: StageTask,
    source: str,
    entry: dict[str, Any] | None = None,
    rate: float | None = None,
    reserved: float | None = None,
    **_waiting: Any,
) -> dict[str, Any]:
    # The fetcher is made inside the recorded run: a broker URL its Redis cannot use fails
    # the item with a record, like any other failure of the stage.
    return self.run_stage(
        str(source),
        lambda: stages.fetch_stage(
            source,
            self.settings,
            fetcher=self.resources.fetcher(),
            rate=rate,
            entry=decode(FeedEntry, entry) if entry is not None else None,
            reserved=reserved,
        ),
        payload=stages.fetch_payload(str(source), entry, rate),
    )


@shared_task(name=task_name("clean"), ignore_result=True, **STAGE_TASK)
def clean(self: StageTask, message: dict[str, Any], **_waiting: Any) -> dict[str, Any]:
    return self.run_page_stage(message, PageRef, stages.clean_stage)


@shared_task(name=task_name("extract"), ignore_result=True, **STAGE_TASK)
def extract(self: StageTask, message: dict[str, Any], **_waiting: Any) -> dict[str, Any]:
    return self.run_page_stage(message, CleanedDocument, stages.extract_stage)


@shared_task(name=task_name("store"), **STAGE_TASK)
def store(self: StageTask, message: dict[str, Any], **_waiting: Any) -> dict[str, Any]:
    return self.run_page_stage(message, Article, stages.store_stage)


@shared_task(bind=True, base=NewsflowTask, name=task_name("poll"), throws=EXPECTED)
def poll_source(
    self: NewsflowTask, source_id: int, reserved: float | None = None
) -> dict[str, Any]:
    """Poll one source; send each item never seen before down the article chain."""
    settings, resources = self.settings, self.resources
    sent: list[str] = []

    def enqueue(items: list[registry.NewItem]) -> None:
        for item in items:
            chain = article_chain(item.entry.url, entry=item.entry, rate=item.rate)
            sent.append(chain.apply_async().id)

    try:
        items = registry.poll_source(
            int(source_id), settings, resources.fetcher(), enqueue=enqueue, reserved=reserved
        )
    except Throttled as error:
        # The feed's host needs a rest: poll again at the reserved slot (not a failure). A
        # slot is reserved, so one wait is the rule; past POLL_WAITS the poll is given up and
        # the source's claim runs out, to be polled on its next turn.
        if self.request.retries >= POLL_WAITS:
            raise
        again = self.signature_from_request(
            kwargs={"source_id": source_id, "reserved": error.slot},
            args=(),
            retries=self.request.retries + 1,
        )
        countdown = error.retry_after or 1.0
        store_wait(settings, again, countdown, error)
        raise Retry(exc=error, when=countdown, sig=again) from error
    return {"source_id": source_id, "new": [item.entry.url for item in items], "articles": sent}


@shared_task(bind=True, base=NewsflowTask, name=task_name("dispatch"), ignore_result=True)
def dispatch(self: NewsflowTask) -> int:
    """Beat's every-minute job: a poll for each source that is due."""
    due = registry.claim_due(self.settings)
    for source_id in due:
        poll_source.apply_async((source_id,))
    return len(due)


@shared_task(bind=True, base=NewsflowTask, name=task_name("reconcile"))
def reconcile(self: NewsflowTask, older_than: float | None = None) -> int:
    """Beat's sweep for pages whose chain a lost message stopped: send each on again, once."""
    return send_unfinished(self.settings, older_than)


@shared_task(bind=True, base=NewsflowTask, name=task_name("prune_health"), ignore_result=True)
def prune_health(self: NewsflowTask) -> tuple[int, int]:
    """Beat's daily sweep of the health counts no window reads any more."""
    return health_report.forget_old(self.settings)


def send_unfinished(settings: Settings, older_than: float | None = None) -> int:
    """Send again what a lost message stopped: items sent to be fetched and never fetched nor
    failed (the outbox), and pages fetched whose chain stopped after fetch; how many.

    By default only those due more than twice the visibility timeout ago: before that, Redis
    may still hand a lost worker's message out again by itself.
    """
    if older_than is None:
        older_than = 2.0 * visibility_timeout(settings)
    # An item's row says when it was sent, not how long it then sat in the queue: while the
    # fetch queue holds anything, an overdue row may only be waiting its turn there.
    backlog = fetch_backlog(settings)
    if backlog:
        logger.info("%d fetch(es) queued: the outbox is swept once the queue is empty", backlog)
    lost = [] if backlog else stages.lost_fetches(settings, older_than=older_than)
    for payload in lost:
        logger.warning("the fetch of %s was lost; sending it again", payload["source"])
        payload_chain(payload).apply_async()
    refs = stages.unfinished_pages(settings, older_than=older_than)
    for ref in refs:
        logger.warning(
            "page %s (%s) stopped after fetch; sending it on again", ref.page_id, ref.url
        )
        page_chain(ref).apply_async()
    return len(lost) + len(refs)


def fetch_backlog(settings: Settings) -> int:
    """Messages waiting in the fetch queue (Redis's errors when it does not answer)."""
    client = broker_client(settings)
    try:
        return queue_depths(client, settings, unacked_limit=0).waiting["fetch"]
    finally:
        client.close()


def page_chain(ref: PageRef) -> Any:
    """Clean, extract and store for a page already fetched: its raw bytes are read again."""
    get_app()  # the tasks resolve to the current app: make sure it is newsflow's
    return _labelled(ref.url, clean.s(ref.model_dump(mode="json")), extract.s(), store.s())


def fetch_signature(payload: dict[str, Any]) -> Any:
    """The fetch task for an item as its fetch was sent (:func:`stages.fetch_payload`)."""
    get_app()
    options = {name: payload[name] for name in ("entry", "rate") if payload.get(name) is not None}
    return fetch.si(str(payload["source"]), **options)


def payload_chain(payload: dict[str, Any]) -> Any:
    """The four stages for an item as its fetch task was sent (:func:`stages.fetch_payload`)."""
    entry = payload.get("entry")
    return article_chain(
        str(payload["source"]),
        entry=FeedEntry.model_validate(entry) if entry else None,
        rate=payload.get("rate"),
    )


def article_chain(source: str, *, entry: FeedEntry | None = None, rate: float | None = None) -> Any:
    """The four stages for one article, each on its own queue."""
    get_app()  # the tasks resolve to the current app: make sure it is newsflow's
    options: dict[str, Any] = {}
    if entry is not None:
        options["entry"] = entry.model_dump(mode="json")
    if rate is not None:
        options["rate"] = rate
    return _labelled(source, fetch.si(source, **options), clean.s(), extract.s(), store.s())


def _labelled(url: str, *signatures: Any) -> Any:
    """The signatures as one chain, each message showing the article's URL as its arguments
    (in Flower, in the logs). Left to Celery, the arguments of a later stage would be a page
    id, or a whole text cut at 1,024 characters, written out for every message. Each stage
    hands the label on with the rest of the chain, and a task sent again (a retry, a wait in
    Redis, a lost process) keeps it (:meth:`StageTask.signature_from_request`)."""
    shown = {"argsrepr": repr((url,)), "kwargsrepr": "{}"}
    return chain(*(signature.set(**shown) for signature in signatures))
