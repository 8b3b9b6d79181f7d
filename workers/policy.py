"""The base tasks: what happens when a stage fails, decided by the error's class alone.

A ``TransientError`` is retried with exponential backoff and jitter (or after the server's
Retry-After), spending one of the item's attempts. A host's rate limit (``Throttled``) or an
outage of Redis or the database (``Outage``) is no fault of the item: the task is sent again
later without spending an attempt. Anything else, and a transient error out of attempts, is
recorded as a failure (a dead letter) and not retried. A task's process killed by its hard
time limit, or dying, is recorded by :func:`_record_lost_task` in the worker's main process.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from billiard.exceptions import WorkerLostError
from celery import Task
from celery.exceptions import Reject, Retry, SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_failure
from celery.utils.log import get_task_logger
from pydantic import BaseModel

from pipeline import STAGES, stages
from pipeline.errors import (
    BrokerUnavailable,
    Challenge,
    DatabaseUnavailable,
    NewsflowError,
    NotFound,
    Outage,
    Throttled,
    TimeLimit,
    TransientError,
    WorkerLost,
)
from pipeline.settings import Settings

from . import metrics
from .app import resources_of, settings_of
from .broker import broker_errors
from .delayed import send_delayed
from .messages import decode, item_of, page_payload
from .resources import Resources

logger = get_task_logger(__name__)
Input = TypeVar("Input", bound=BaseModel)

# The longest wait between two looks at whether the database or Redis is back.
OUTAGE_POLL = 30.0
# Failures we raise on purpose are logged as such, without a traceback; bugs keep theirs.
EXPECTED = (NewsflowError,)


class NewsflowTask(Task):
    """A task that reads the settings and the per-process resources of the app running it."""

    @property
    def settings(self) -> Settings:
        return settings_of(self.app)

    @property
    def resources(self) -> Resources:
        return resources_of(self.app)


class StageTask(NewsflowTask):
    """A task that runs one pipeline stage under the retry, wait and dead-letter policy."""

    @property
    def stage(self) -> str:
        return stage_of(self)

    def signature_from_request(
        self,
        request: Any = None,
        args: Any = None,
        kwargs: Any = None,
        queue: str | None = None,
        **extra_options: Any,
    ) -> Any:
        """The running task as a signature to send again (a retry, a wait, a lost process),
        showing the arguments its message showed: the article's URL (see ``tasks._labelled``).

        Celery copies most of a request's options but not these, and would write the
        arguments out afresh: a page id, or a whole text cut at 1,024 characters.
        """
        request = self.request if request is None else request
        for option in ("argsrepr", "kwargsrepr"):
            shown = getattr(request, option, None)
            if shown and option not in extra_options:
                extra_options[option] = shown
        return super().signature_from_request(request, args, kwargs, queue, **extra_options)

    def run_page_stage(
        self, message: Any, model: type[Input], function: Callable[[Input, Settings], BaseModel]
    ) -> dict[str, Any]:
        """Run a stage that takes a page's record (clean, extract, store) on ``message``."""
        item, page_id = item_of(message)
        return self.run_stage(
            item,
            lambda: function(decode(model, message), self.settings),
            page_id=page_id,
            payload=page_payload(message),
        )

    def run_stage(
        self,
        item: str,
        call: Callable[[], BaseModel],
        *,
        page_id: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Run the stage's ``call`` for ``item``; its result as JSON, or retry or dead letter.

        ``payload`` goes into the failure record, for ``newsflow failures retry``.
        """
        settings, stage, request = self.settings, self.stage, self.request
        kwargs = request.kwargs or {}
        # Celery's retry count is the item's: waits (below) are sent again without raising it.
        attempts = request.retries + 1

        def come_back(countdown: float, error: Exception, retries: int, **state: Any) -> Retry:
            """Send this task again, to wait ``countdown`` seconds in Redis's delayed set
            (not in this worker), with ``retries`` as its count of attempts spent."""
            # A slot reserved earlier is spent by now: only a Throttled wait hands on a new one.
            fresh = {**kwargs, "reserved": None} if "reserved" in kwargs else kwargs
            again = self.signature_from_request(request, None, {**fresh, **state}, retries=retries)
            store_wait(settings, again, countdown, error)
            if stage == "fetch":
                note_fetch_waiting(settings, item, countdown)
            return Retry(exc=error, when=countdown, sig=again)

        def wait(countdown: float, error: Exception, **state: Any) -> Retry:
            """Come back later without spending an attempt: the host's rate limit, or Redis
            or the database away, is no fault of the item (and a lost process is then still
            judged by the item's own attempts)."""
            metrics.count(stage, "waited")
            return come_back(countdown, error, request.retries, **state)

        def dead_letter(error: BaseException) -> None:
            """Record the failure for good; while the database cannot take the record, keep
            the message (wait again) rather than let it go unrecorded."""
            attempt = Attempt(stage, item, attempts, page_id, request.id, payload)
            if record_failure(settings, attempt, error):
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
                # Back off, but look again at least every OUTAGE_POLL seconds: work should
                # resume soon after the database or Redis does.
                countdown = min(backoff(outage["outages"] - 1, settings), OUTAGE_POLL)
                logger.warning(
                    "%s %s: %s; waiting %.1fs for it to return", stage, item, error, countdown
                )
                raise wait(countdown, error, **outage) from error
            dead_letter(error)
            raise
        except Challenge as error:
            # The page kept is the challenge and stays one: fetch it again, later, and go on
            # from there as this same chain (its clean, extract and store keep their ids).
            # Not for a reprocessing or an archived page, which a fetch cannot stand in for.
            try:
                again_from = stages.refetch_payload(settings, page_id, payload) if page_id else None
            except NotFound:
                again_from = None
            except Outage as outage:
                raise wait(OUTAGE_POLL, outage, **_outage_state(kwargs)) from error
            if again_from is None or request.retries >= settings.max_retries:
                dead_letter(error)
                raise
            _, payload_again = again_from
            countdown = backoff(request.retries, settings)
            logger.warning("%s %s: %s; fetched again in %.1fs", stage, item, error, countdown)
            metrics.count(stage, "retried")
            again = refetch_chain(self, request, payload_again)
            store_wait(settings, again, countdown, error)
            raise Retry(exc=error, when=countdown, sig=again) from error
        except TransientError as error:
            if request.retries < settings.max_retries:
                countdown = (
                    error.retry_after
                    if error.retry_after is not None
                    else backoff(request.retries, settings)
                )
                logger.warning(
                    "%s %s: %s; retry %d in %.1fs", stage, item, error, attempts, countdown
                )
                metrics.count(stage, "retried")
                raise come_back(countdown, error, request.retries + 1) from error
            dead_letter(error)
            raise
        except SoftTimeLimitExceeded as error:
            limit = self.soft_time_limit or settings.task_soft_time_limit
            timeout = TimeLimit(f"{stage} of {item} took longer than its {limit:g}s limit")
            dead_letter(timeout)
            raise timeout from error
        except Exception as error:
            dead_letter(error)
            raise


def refetch_chain(task: StageTask, request: Any, payload: dict[str, Any]) -> Any:
    """The rest of the running task's chain, from a new fetch of its page's source: the
    fetch is new; this task and those after it keep their ids, so that whoever follows the
    chain (``ingest --wait``) sees it end, and this task counts the attempt."""
    from celery import chain, signature

    from .tasks import fetch_signature

    again = task.signature_from_request(
        request, args=(), kwargs={}, retries=request.retries + 1, chain=None
    )
    after = [signature(step, app=task.app) for step in reversed(request.chain or [])]
    labels = {"argsrepr": again.options.get("argsrepr"), "kwargsrepr": "{}"}
    return chain(fetch_signature(payload).set(**labels), again, *after)


def store_wait(settings: Settings, signature: Any, countdown: float, error: Exception) -> None:
    """Send ``signature`` to wait ``countdown`` seconds in Redis; or, when Redis cannot take
    it, reject the running task's message back to its queue (Redis hands it out again, at
    once or after the visibility timeout): a wait that could not be stored is never
    acknowledged as if it had been."""
    try:
        with broker_errors(settings.broker_url):
            send_delayed(signature, countdown)
    except BrokerUnavailable as unavailable:
        logger.warning("cannot store a wait (%s); the message goes back to its queue", unavailable)
        raise Reject(error, requeue=True) from unavailable


def note_fetch_waiting(settings: Settings, source: str, countdown: float) -> None:
    """Tell the outbox that this fetch waits in Redis, so reconcile does not take it for lost.
    Best effort: the database may be the very outage being waited out, and a wait noted late
    costs at most one needless send, which the stages absorb."""
    try:
        stages.note_waiting(settings, source, seconds=countdown)
    except NewsflowError as error:
        logger.info("could not note the wait of %s in the outbox: %s", source, error)


def stage_of(task: Task) -> str:
    """The stage a task runs, from its name (``newsflow.fetch`` runs ``fetch``)."""
    return str(task.name).removeprefix("newsflow.")


def backoff(retries: int, settings: Settings) -> float:
    """Exponential backoff with jitter, so that many failed tasks do not return in step."""
    ceiling = min(settings.retry_backoff_max, settings.retry_backoff * 2**retries)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


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


@dataclass(frozen=True)
class Attempt:
    """What a failure record says of the run that failed: the stage, the item, how many
    attempts it has had (this one included), its page, its task and what a retry resends."""

    stage: str
    item: str
    number: int
    page_id: int | None
    task_id: str | None
    payload: dict[str, Any] | None


def record_failure(settings: Settings, attempt: Attempt, error: BaseException) -> bool:
    """Write the failure record; False when the database cannot take it now."""
    stage, item = attempt.stage, attempt.item
    logger.error(
        "%s %s failed for good after %d attempt(s): %s", stage, item, attempt.number, error
    )
    try:
        stages.record_failure(
            settings,
            stage=attempt.stage,
            item=attempt.item,
            attempts=attempt.number,
            page_id=attempt.page_id,
            task_id=attempt.task_id,
            payload=attempt.payload,
            error=error,
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
    stage = stage_of(sender)
    if stage not in STAGES:
        return
    args, kwargs = list(args or ()), dict(kwargs or {})
    payload: dict[str, Any] | None
    if stage == "fetch":
        source = str(args[0] if args else kwargs.get("source"))
        item, page_id = source, None
        payload = stages.fetch_payload(source, kwargs.get("entry"), kwargs.get("rate"))
    else:
        message = args[0] if args else kwargs.get("message")
        item, page_id = item_of(message)
        payload = page_payload(message)
    if isinstance(exception, TimeLimitExceeded):
        error: NewsflowError = TimeLimit(
            f"{stage} of {item} was killed after its {sender.time_limit or '?'}s hard limit"
        )
    else:
        error = WorkerLost(f"the process running {stage} of {item} died: {exception}")
    retries = getattr(sender.request, "retries", None) or 0
    attempts = retries + 1
    attempt = Attempt(stage, item, attempts, page_id, task_id, payload)
    record_failure(settings_of(sender.app), attempt, error)
