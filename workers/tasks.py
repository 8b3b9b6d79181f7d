"""One thin task per stage: decode the message, call the stage, hand on the result.

Whether to retry is decided by the exception's class alone (see ``pipeline.errors``): a
``TransientError`` is retried with exponential backoff and jitter (or after the server's
Retry-After), anything else is recorded as a failure and not retried.
"""

from __future__ import annotations

import random
import threading
import time
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

from pipeline import sources, stages
from pipeline.errors import (
    InvalidMessage,
    NewsflowError,
    Outage,
    Throttled,
    TimeLimit,
    TransientError,
    WorkerLost,
)
from pipeline.fetch import make_client
from pipeline.models import Article, CleanedDocument, FeedEntry, PageRef
from pipeline.politeness import Politeness
from pipeline.settings import Settings, get_settings

from .app import app
from .config import longest_countdown, task_name

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
            redis=Redis.from_url(settings.broker_url),
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
    kwargs = task.request.kwargs or {}
    # Waiting for a host's rate limit, or for Redis or the database to come back, is no fault
    # of the item: those retries are counted apart from its attempts.
    waits = int(kwargs.get("waits", 0))
    retries = task.request.retries - waits
    attempts = retries + 1

    def wait(countdown: float, **state: Any) -> Retry:
        # Celery counts every retry against max_retries; a wait always gets one more.
        return task.retry(
            countdown=min(countdown, longest_countdown(settings)),
            max_retries=task.request.retries + 1,
            kwargs={**kwargs, "waits": waits + 1, **state},
        )

    try:
        return call().model_dump(mode="json")
    except Throttled as error:
        # Back exactly when the reserved slot begins, holding the reservation. A long queue
        # for one host can reserve a slot far ahead; a task woken early waits again for it.
        state = {"reserved": error.slot} if error.slot is not None else {}
        raise wait(error.retry_after or 1.0, **state) from error
    except Outage as error:
        since = float(kwargs.get("outage_since") or time.time())
        if time.time() - since < settings.outage_patience:
            outages = int(kwargs.get("outages", 0))
            # Back off, but look again at least every OUTAGE_POLL seconds: work should resume
            # soon after the database or Redis does.
            countdown = min(backoff(outages, settings), OUTAGE_POLL)
            logger.warning(
                "%s %s: %s; waiting %.1fs for it to return", stage, item, error, countdown
            )
            raise wait(countdown, outages=outages + 1, outage_since=since) from error
        _record(settings, stage, item, error, attempts, page_id, task.request.id, payload)
        raise
    except TransientError as error:
        if retries < settings.max_retries:
            countdown = (
                error.retry_after if error.retry_after is not None else backoff(retries, settings)
            )
            logger.warning("%s %s: %s; retry %d in %.1fs", stage, item, error, attempts, countdown)
            raise task.retry(
                exc=error,
                countdown=min(countdown, longest_countdown(settings)),
                max_retries=settings.max_retries + waits,
            ) from error
        _record(settings, stage, item, error, attempts, page_id, task.request.id, payload)
        raise
    except SoftTimeLimitExceeded as error:
        limit = task.soft_time_limit or settings.task_soft_time_limit
        timeout = TimeLimit(f"{stage} of {item} took longer than its {limit:g}s limit")
        _record(settings, stage, item, timeout, attempts, page_id, task.request.id, payload)
        raise timeout from error
    except Exception as error:
        _record(settings, stage, item, error, attempts, page_id, task.request.id, payload)
        raise


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
) -> None:
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
    except Exception:
        # The database may be what failed; the task's own FAILURE state still tells Flower.
        logger.exception("could not record the failure of %s %s", stage, item)


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
    stage = sender.name.removeprefix("newsflow.")
    if stage not in stages.STAGES:
        return
    args, kwargs = list(args or ()), dict(kwargs or {})
    payload: dict[str, Any] | None
    if stage == "fetch":
        source = str(args[0] if args else kwargs.get("source"))
        item, page_id = source, None
        payload = stages.fetch_payload(source) | {
            "entry": kwargs.get("entry"),
            "rate": kwargs.get("rate"),
        }
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
    attempts = max(1, retries + 1 - int(kwargs.get("waits", 0)))
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
        payload=stages.fetch_payload(str(source)) | {"entry": entry, "rate": rate},
    )


@app.task(bind=True, name=task_name("poll"), throws=EXPECTED)
def poll(self: Task, source_id: int, reserved: float | None = None) -> dict[str, Any]:
    """Poll one source; send each item never seen before down the article chain."""
    settings = get_settings()
    sent: list[str] = []

    def enqueue(items: list[sources.NewItem]) -> None:
        for item in items:
            chain = article_chain(item.entry.url, entry=item.entry, rate=item.rate)
            sent.append(chain.apply_async().id)

    try:
        items = sources.poll_source(
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
    due = sources.claim_due(get_settings())
    for source_id in due:
        poll.apply_async((source_id,))
    return len(due)


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


def article_chain(source: str, *, entry: FeedEntry | None = None, rate: float | None = None) -> Any:
    """The four stages for one article, each on its own queue."""
    options: dict[str, Any] = {}
    if entry is not None:
        options["entry"] = entry.model_dump(mode="json")
    if rate is not None:
        options["rate"] = rate
    return fetch.si(source, **options) | clean.s() | extract.s() | store.s()
