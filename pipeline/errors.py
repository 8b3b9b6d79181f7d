"""One exception tree for every failure the pipeline knows.

The worker decides from the class alone: a :class:`TransientError` is retried with backoff, a
:class:`PermanentError` is recorded and not retried. Each class has a short machine-readable
``reason`` for the failure record and for metrics, beside the human message.
"""

from __future__ import annotations


class NewsflowError(Exception):
    """Base of every error newsflow raises on purpose."""

    reason = "error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason

    def __str__(self) -> str:
        return self.message


class TransientError(NewsflowError):
    """May succeed if tried again later: retried with exponential backoff."""

    reason = "transient"

    def __init__(
        self, message: str, *, reason: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        #: Seconds the other side asked us to wait (Retry-After), if it said.
        self.retry_after = retry_after


class PermanentError(NewsflowError):
    """Will fail the same way every time: recorded, never retried."""

    reason = "permanent"


# --- transient -------------------------------------------------------------------------------


class FetchTimeout(TransientError):
    """The server took longer than the connect, read or whole-download timeout allows."""

    reason = "timeout"


class ConnectionFailed(TransientError):
    """No connection: the name did not resolve, the host refused or reset it, TLS failed."""

    reason = "connection_error"


class ServerError(TransientError):
    """5xx, 429 and 408: the server may answer later."""

    reason = "http_server_error"

    # Keyword arguments have defaults so that Celery can rebuild the error from its message.
    def __init__(
        self, message: str, *, status_code: int = 0, retry_after: float | None = None
    ) -> None:
        super().__init__(
            message, reason=f"http_{status_code}" if status_code else None, retry_after=retry_after
        )
        self.status_code = status_code


class Outage(TransientError):
    """Our own infrastructure is away, not the item at fault: retried until it returns.

    Retries for an outage are not counted against the item's ``max_retries``; they go on for
    up to ``NEWSFLOW_OUTAGE_PATIENCE`` seconds.
    """

    reason = "outage"


class DatabaseUnavailable(Outage):
    reason = "database_unavailable"


class BrokerUnavailable(Outage):
    """Redis (the broker, or the shared politeness state kept there) does not answer."""

    reason = "broker_unavailable"


class MessageLost(TransientError):
    """A page's chain stopped with no article and no failure: the broker lost a message.

    Sending the page on again is all it takes (``newsflow reconcile`` does).
    """

    reason = "message_lost"


class Challenge(TransientError):
    """A bot challenge or a captcha served instead of the page: it may let us through later,
    so it is retried with backoff, and recorded as ``interstitial:challenge`` if it does not."""

    reason = "interstitial:challenge"


class Throttled(TransientError):
    """The host's rate limit says not yet: try again after ``retry_after`` seconds.

    ``slot`` is the moment reserved for the retry (epoch seconds), if one was.
    """

    reason = "throttled"
    slot: float | None = None


# --- permanent -------------------------------------------------------------------------------


class HTTPStatus(PermanentError):
    """A 4xx that asking again will not change (404, 410, 403, ...)."""

    reason = "http_status"

    def __init__(self, message: str, *, status_code: int = 0) -> None:
        super().__init__(message, reason=f"http_{status_code}" if status_code else None)
        self.status_code = status_code


class TooManyRedirects(PermanentError):
    """More redirects than ``NEWSFLOW_MAX_REDIRECTS`` allows (a loop ends here too)."""

    reason = "too_many_redirects"


class TooLarge(PermanentError):
    """Over a limit: a body past ``NEWSFLOW_MAX_BYTES`` once decompressed, or a page with
    more elements than a parser should build. Reading stops at the limit."""

    reason = "too_large"


class UnsupportedContent(PermanentError):
    """Not a document we can read: an image, a PDF, an archive, binary bytes sent as HTML."""

    reason = "unsupported_content"


class Undecodable(PermanentError):
    """Bytes that do not become text: no encoding decodes them, or they do not decompress."""

    reason = "undecodable"


class EmptyDocument(PermanentError):
    """Nothing to read: an empty body, or no article text once the boilerplate is gone."""

    reason = "empty_document"


class Interstitial(PermanentError):
    """A page that is not the article its URL promised, served with status 200: a consent
    wall, a paywall stub, a JavaScript shell or a "page not found". The reason says which
    (``interstitial:consent``, ``interstitial:paywall``, ...); it is never stored as an article.
    """

    reason = "interstitial"

    def __init__(self, message: str, *, kind: str = "") -> None:
        super().__init__(message, reason=f"interstitial:{kind}" if kind else None)
        self.kind = kind


class InvalidSource(PermanentError):
    """A URL or path that cannot be fetched at all: bad scheme, missing file."""

    reason = "invalid_source"


class NotFound(PermanentError):
    """A record a task was asked to work on is not in the database."""

    reason = "not_found"


class InvalidMessage(PermanentError):
    """A task message that does not hold the record its stage expects."""

    reason = "invalid_message"


class Blocked(PermanentError):
    """Refused on purpose: a private or metadata address, a scheme we never fetch, robots.txt."""

    reason = "blocked"


class TooDeep(PermanentError):
    """A document nested deeper than any real page, built to exhaust a parser."""

    reason = "too_deep"


class TimeLimit(PermanentError):
    """A stage ran past its time limit on this item; it would again."""

    reason = "time_limit"


class WorkerLost(PermanentError):
    """The process running the stage died (killed, out of memory) on every attempt."""

    reason = "worker_lost"


class MalformedFeed(PermanentError):
    """Bytes that should be a feed or a sitemap but cannot be read as one."""

    reason = "malformed_feed"


class NoFeedFound(PermanentError):
    """A URL given as a source that is no feed or sitemap and links to none."""

    reason = "no_feed_found"


class InvalidRequest(PermanentError):
    """An operator's setting or option that cannot be followed (an unknown version, a bad
    schedule); said at once, with what would be accepted."""

    reason = "invalid_request"


class SchemaError(PermanentError):
    """The database schema is not the one this code expects."""

    reason = "schema_mismatch"


__all__ = [
    "Blocked",
    "BrokerUnavailable",
    "Challenge",
    "ConnectionFailed",
    "DatabaseUnavailable",
    "EmptyDocument",
    "FetchTimeout",
    "HTTPStatus",
    "Interstitial",
    "InvalidMessage",
    "InvalidRequest",
    "InvalidSource",
    "MalformedFeed",
    "MessageLost",
    "NewsflowError",
    "NoFeedFound",
    "NotFound",
    "Outage",
    "PermanentError",
    "SchemaError",
    "ServerError",
    "Throttled",
    "TimeLimit",
    "TooDeep",
    "TooLarge",
    "TooManyRedirects",
    "TransientError",
    "Undecodable",
    "UnsupportedContent",
    "WorkerLost",
]
