"""One thin task per stage: decode the message, call the stage, hand on the result.

Whether to retry is decided by the exception's class alone (see ``pipeline.errors``): a
``TransientError`` is retried with exponential backoff and jitter (or after the server's
Retry-After), anything else is recorded as a failure and not retried.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from billiard.exceptions import WorkerLostError
from celery import Task
from celery.exceptions import Retry, SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_failure
from celery.utils.log import get_task_logger
from pydantic import BaseModel, ValidationError
from redis import Redis

from pipeline import stages
from pipeline.errors import (
    DatabaseUnavailable,
    InvalidMessage,
    NewsflowError,
    Outage,
    Throttled,
    TimeLimit,
    TransientError,
    WorkerLost,
)
from pipeline.fetch.download import make_client
from pipeline.fetch.politeness import Politeness
from pipeline.models import Article, CleanedDocument, FeedEntry, PageRef
from pipeline.settings import Settings, get_settings
from pipeline.sources import registry

from . import metrics
from .app import app
from .config import longest_countdown, task_name, visibility_timeout

logger = get_task_logger(__name__)
Result = TypeVar("Result", bound=BaseModel)
Message = TypeVar("Message", bound=BaseModel)

_client: httpx.Client | None = None
_politeness: Politeness | None = None
_client_lock = threading.Lock()


def http_client(settings: Settings) -> httpx.Client:
    """One pooled HTTP client per worker process, shared by its threads."""
    global _client
    with _client_lock:
        if _client is None:
            _client = make_client(settings, politeness=_politeness_locked(settings))
        return _client


def politeness(settings: Settings) -> Politeness:
    """The process's rate limits and robots.txt cache, shared with all workers via Redis."""
    with _client_lock:
        return _politeness_locked(settings)


def _politeness_locked(settings: Settings) -> Politeness:
    global _politeness
    if _politeness is None:
        _politeness = Politeness(
            # Timeouts, so that a Redis that has gone silent is an outage to wait out, not a
            # fetch hanging until its time limit.
            redis=Redis.from_url(
                settings.broker_url,
                socket_timeout=10,
                socket_connect_timeout=5,
                health_check_interval=30,
            ),
            user_agent=settings.user_agent,
            default_rate=settings.host_rate,
        )
    return _politeness


def backoff(retries: int, settings: Settings) -> float:
    """Exponential backoff with jitter, so that many failed tasks do not return in step."""
    ceiling = min(settings.retry_backoff_max, settings.retry_backoff * 2**retries)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def run_stage(
    task: Task,
    stage: str,
    item: str,
    page_id: int | None,
    call: Callable[[], Result],
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one stage for a task, deciding retry or dead letter from the exception's class.

    ``payload`` goes into the failure record, for ``newsflow failures retry``.
    """
    settings = get_settings()
    request = task.request
    kwargs = request.kwargs or {}
    # Celery's retry count is the item's: waits (below) are sent again without raising it.
    attempts = request.retries + 1

    def wait(countdown: float, error: Exception, **state: Any) -> Retry:
        """Come back later without spending an attempt: the host's rate limit, or Redis or
        the database away, is no fault of the item (and a lost process is then still judged
        by the item's own attempts)."""
        countdown = min(countdown, longest_countdown(settings))
        again = task.signature_from_request(
            request, None, {**kwargs, **state}, countdown=countdown, retries=request.retries
        )
        again.apply_async()
        metrics.count(stage, "waited")
        return Retry(exc=error, when=countdown, sig=again)

    def dead_letter(error: BaseException) -> None:
        """Record the failure for good; while the database cannot take the record, keep the
        message (wait again) rather than let it go unrecorded."""
        if _record(settings, stage, item, error, attempts, page_id, request.id, payload):
            return
        raise wait(OUTAGE_POLL, Exception(str(error)), **_outage_state(kwargs, restart=True))

    try:
        with metrics.timed(stage):
            result = call()
        metrics.count(stage, "ok")
        return result.model_dump(mode="json")
    except Throttled as error:
        # Back exactly when the reserved slot begins, holding the reservation. A long queue
        # for one host can reserve a slot far ahead; a task woken early waits again for it.
        state = {"reserved": error.slot} if error.slot is not None else {}
        raise wait(error.retry_after or 1.0, error, **state) from error
    except Outage as error:
        outage = _outage_state(kwargs)
        if time.time() - outage["outage_since"] < settings.outage_patience:
            # Back off, but look again at least every OUTAGE_POLL seconds: work should resume
            # soon after the database or Redis does.
            countdown = min(backoff(outage["outages"] - 1, settings), OUTAGE_POLL)
            logger.warning(
                "%s %s: %s; waiting %.1fs for it to return", stage, item, error, countdown
            )
            raise wait(countdown, error, **outage) from error
        dead_letter(error)
        raise
    except TransientError as error:
        if request.retries < settings.max_retries:
            countdown = (
                error.retry_after
                if error.retry_after is not None
                else backoff(request.retries, settings)
            )
            logger.warning("%s %s: %s; retry %d in %.1fs", stage, item, error, attempts, countdown)
            metrics.count(stage, "retried")
            raise task.retry(
                exc=error,
                countdown=min(countdown, longest_countdown(settings)),
                max_retries=settings.max_retries,
            ) from error
        dead_letter(error)
        raise
    except SoftTimeLimitExceeded as error:
        limit = task.soft_time_limit or settings.task_soft_time_limit
        timeout = TimeLimit(f"{stage} of {item} took longer than its {limit:g}s limit")
        dead_letter(timeout)
        raise timeout from error
    except Exception as error:
        dead_letter(error)
        raise


def _outage_state(kwargs: dict[str, Any], *, restart: bool = False) -> dict[str, Any]:
    """Since when this task has been waiting out an outage, and how many times it has looked.

    An outage seen again long after the last look is a new one: its patience starts afresh.
    """
    now = time.time()
    last = float(kwargs.get("outage_seen") or 0)
    fresh = restart or now - last > 4 * OUTAGE_POLL
    since = now if fresh else float(kwargs.get("outage_since") or now)
    outages = 1 if fresh else int(kwargs.get("outages") or 0) + 1
    return {"outage_since": since, "outage_seen": now, "outages": outages}


# The longest wait between two looks at whether the database or Redis is back.
OUTAGE_POLL = 30.0


def _record(
    settings: Settings,
    stage: str,
    item: str,
    error: BaseException,
    attempts: int,
    page_id: int | None,
    task_id: str | None,
    payload: dict[str, Any] | None,
) -> bool:
    """Write the failure record; False when the database cannot take it now."""
    logger.error("%s %s failed for good after %d attempt(s): %s", stage, item, attempts, error)
    try:
        stages.record_failure(
            settings,
            stage=stage,
            item=item,
            error=error,
            attempts=attempts,
            page_id=page_id,
            task_id=task_id,
            payload=payload,
        )
    except DatabaseUnavailable as unavailable:
        logger.warning("cannot record the failure of %s %s now: %s", stage, item, unavailable)
        return False
    except Exception:
        # A record that cannot be written for another reason would fail the same way again;
        # the task's own FAILURE state still tells Flower.
        logger.exception("could not record the failure of %s %s", stage, item)
    metrics.count(stage, "failed")
    return True


_lost_recorded: deque[str | None] = deque(maxlen=1000)


@task_failure.connect
def _record_lost_task(
    sender: Task | None = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Any = None,
    kwargs: Any = None,
    **_: Any,
) -> None:
    """Record what the task itself could not: its process was killed by the hard time limit,
    or died (out of memory, a crash in a C parser) on every attempt.

    This runs in the worker's main process; failures the task saw are recorded by run_stage.
    """
    if sender is None or not isinstance(exception, WorkerLostError | TimeLimitExceeded):
        return
    # Celery reports a hard time limit twice (the pool's and the request's view of it).
    if task_id in _lost_recorded:
        return
    _lost_recorded.append(task_id)
    stage = sender.name.removeprefix("newsflow.")
    if stage not in stages.STAGES:
        return
    args, kwargs = list(args or ()), dict(kwargs or {})
    payload: dict[str, Any] | None
    if stage == "fetch":
        source = str(args[0] if args else kwargs.get("source"))
        item, page_id = source, None
        payload = stages.fetch_payload(source, kwargs.get("entry"), kwargs.get("rate"))
    else:
        message = args[0] if args else kwargs.get("message")
        item, page_id = _item(message)
        payload = _page_payload(message)
    if isinstance(exception, TimeLimitExceeded):
        error: NewsflowError = TimeLimit(
            f"{stage} of {item} was killed after its {sender.time_limit or '?'}s hard limit"
        )
    else:
        error = WorkerLost(f"the process running {stage} of {item} died: {exception}")
    retries = getattr(sender.request, "retries", None) or 0
    attempts = retries + 1
    _record(get_settings(), stage, item, error, attempts, page_id, task_id, payload)


def decode(model: type[Message], message: Any) -> Message:
    """The stage's input record from the JSON message, or a permanent, recorded failure."""
    try:
        return model.model_validate(message)
    except ValidationError as error:
        raise InvalidMessage(f"not a {model.__name__} message: {error}") from error


def _page_payload(message: Any) -> dict[str, Any] | None:
    """The raw page a later stage's message is about, for a replay; None if it names none."""
    if isinstance(message, dict) and isinstance(message.get("page_id"), int):
        return {
            "page_id": message["page_id"],
            "url": str(message.get("url") or ""),
            "entry": message.get("entry"),
        }
    return None


def _item(message: Any) -> tuple[str, int | None]:
    """How a failure record names what a message was about, even when it is malformed."""
    if not isinstance(message, dict):
        return repr(message)[:200], None
    page_id = message.get("page_id")
    if isinstance(page_id, int):
        return stages.page_item(page_id), page_id
    return str(message.get("canonical_url") or message.get("url") or repr(message)[:200]), None


# Failures we raise on purpose are logged as such, without a traceback; bugs keep theirs.
EXPECTED = (NewsflowError,)


# Only the store task's result is kept: `ingest --wait` reads it, and earlier stages'
# results (whole article texts) would only fill Redis. Errors are kept for every stage.
@app.task(bind=True, name=task_name("fetch"), ignore_result=True, throws=EXPECTED)
def fetch(
    self: Task,
    source: str,
    entry: dict[str, Any] | None = None,
    rate: float | None = None,
    reserved: float | None = None,
    **_waiting: Any,
) -> dict[str, Any]:
    settings = get_settings()
    return run_stage(
        self,
        "fetch",
        str(source),
        None,
        lambda: stages.fetch_stage(
            source,
            settings,
            client=http_client(settings),
            politeness=politeness(settings),
            rate=rate,
            entry=decode(FeedEntry, entry) if entry is not None else None,
            reserved=reserved,
        ),
        payload=stages.fetch_payload(str(source), entry, rate),
    )


@app.task(bind=True, name=task_name("poll"), throws=EXPECTED)
def poll(self: Task, source_id: int, reserved: float | None = None) -> dict[str, Any]:
    """Poll one source; send each item never seen before down the article chain."""
    settings = get_settings()
    sent: list[str] = []

    def enqueue(items: list[registry.NewItem]) -> None:
        for item in items:
            chain = article_chain(item.entry.url, entry=item.entry, rate=item.rate)
            sent.append(chain.apply_async().id)

    try:
        items = registry.poll_source(
            int(source_id),
            settings,
            http_client(settings),
            enqueue=enqueue,
            politeness=politeness(settings),
            reserved=reserved,
        )
    except Throttled as error:
        # The feed's host needs a rest: poll again at the reserved slot (not a failure).
        raise self.retry(
            countdown=min(error.retry_after or 1.0, longest_countdown(settings)),
            max_retries=self.request.retries + 1,
            kwargs={"reserved": error.slot},
        ) from error
    return {"source_id": source_id, "new": [item.entry.url for item in items], "articles": sent}


@app.task(name=task_name("dispatch"), ignore_result=True)
def dispatch() -> int:
    """Beat's every-minute job: a poll for each source that is due."""
    due = registry.claim_due(get_settings())
    for source_id in due:
        poll.apply_async((source_id,))
    return len(due)


@app.task(name=task_name("reconcile"))
def reconcile(older_than: float | None = None) -> int:
    """Beat's sweep for pages whose chain a lost message stopped: send each on again, once."""
    return send_unfinished(get_settings(), older_than)


def send_unfinished(settings: Settings, older_than: float | None = None) -> int:
    """Send on the pages a lost message stopped after fetch; how many there were.

    By default only pages older than twice the visibility timeout: before that, Redis may
    still hand a lost worker's message out again by itself.
    """
    if older_than is None:
        older_than = 2.0 * visibility_timeout(settings)
    refs = stages.unfinished_pages(settings, older_than=older_than)
    for ref in refs:
        logger.warning(
            "page %s (%s) stopped after fetch; sending it on again", ref.page_id, ref.url
        )
        page_chain(ref).apply_async()
    return len(refs)


@app.task(bind=True, name=task_name("clean"), ignore_result=True, throws=EXPECTED)
def clean(self: Task, message: dict[str, Any], **_waiting: Any) -> dict[str, Any]:
    item, page_id = _item(message)
    return run_stage(
        self,
        "clean",
        item,
        page_id,
        lambda: stages.clean_stage(decode(PageRef, message), get_settings()),
        payload=_page_payload(message),
    )


@app.task(bind=True, name=task_name("extract"), ignore_result=True, throws=EXPECTED)
def extract(self: Task, message: dict[str, Any], **_waiting: Any) -> dict[str, Any]:
    item, page_id = _item(message)
    return run_stage(
        self,
        "extract",
        item,
        page_id,
        lambda: stages.extract_stage(decode(CleanedDocument, message), get_settings()),
        payload=_page_payload(message),
    )


@app.task(bind=True, name=task_name("store"), throws=EXPECTED)
def store(self: Task, message: dict[str, Any], **_waiting: Any) -> dict[str, Any]:
    item, page_id = _item(message)
    return run_stage(
        self,
        "store",
        item,
        page_id,
        lambda: stages.store_stage(decode(Article, message), get_settings()),
        payload=_page_payload(message),
    )


def page_chain(ref: PageRef) -> Any:
    """Clean, extract and store for a page already fetched: its raw bytes are read again."""
    return clean.s(ref.model_dump(mode="json")) | extract.s() | store.s()


def article_chain(source: str, *, entry: FeedEntry | None = None, rate: float | None = None) -> Any:
    """The four stages for one article, each on its own queue."""
    options: dict[str, Any] = {}
    if entry is not None:
        options["entry"] = entry.model_dump(mode="json")
    if rate is not None:
        options["rate"] = rate
    return fetch.si(source, **options) | clean.s() | extract.s() | store.s()
