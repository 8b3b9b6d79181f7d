"""Downloading a page (or reading a file): its bytes and the facts about the response.

Politeness and safety come from limits, not hope: connect, read and total timeouts, a bounded
number of redirects, a size cap that also caps what a compressed body expands to, and an
identifying User-Agent. Local files (a path or ``file://``) are read the same way.

The page is decoded once, where its encoding is found (:class:`DecodedPage`): the checks that
it is not empty and whether it is HTML read that text, and so can whoever reads the page next
in this process.
"""

from __future__ import annotations

import mimetypes
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from pipeline.errors import (
    ConnectionFailed,
    EmptyDocument,
    FetchTimeout,
    HTTPStatus,
    InvalidSource,
    ServerError,
    TooLarge,
    TooManyRedirects,
    Undecodable,
    UnsupportedContent,
)
from pipeline.fetch.compression import unwrap
from pipeline.fetch.encoding import decode, detect_encoding, sniff_binary
from pipeline.fetch.netguard import check_url, guarded_transport
from pipeline.fetch.politeness import Politeness
from pipeline.models import FetchedPage, Kind
from pipeline.settings import Settings

_HTML_TYPES = {"text/html", "application/xhtml+xml", "application/xml", "text/xml"}
_TEXT_TYPES = {"text/plain", "text/markdown"}
# Statuses worth asking again: the server is busy, down for a moment, or rate-limiting us.
_RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524}
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "content-encoding",
    "content-language",
    "last-modified",
    "etag",
    "cache-control",
    "date",
    "server",
    "x-robots-tag",
)


def is_local(source: str) -> bool:
    """True for ``file://`` URLs and for anything that is not an http(s) URL but a path."""
    scheme = urlsplit(source).scheme.lower()
    return scheme == "file" or (scheme not in {"http", "https"} and "://" not in source)


def make_client(
    settings: Settings,
    politeness: Politeness | None = None,
    *,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """An HTTP client with newsflow's timeouts, redirect limit and User-Agent.

    Every request it sends, each redirect included, first passes :func:`netguard.check_url`,
    and connects only to addresses vetted as it connects (:func:`netguard.guarded_transport`);
    ``verify`` is the certificate check (a context that trusts a private CA, say).
    with ``politeness``, also the robots.txt of the host it goes to (a redirect to another
    site must not land on a page that site disallows). A URL the caller has asked politeness
    about already (:func:`asked_extensions`) is not asked again; its redirects are.
    """

    def guard(request: httpx.Request) -> None:
        check_url(str(request.url), settings)
        if politeness is None or request.extensions.get(_ROBOTS_FETCH):
            return
        if request.url != request.extensions.get(_ASKED):  # the page asked, its redirects not
            politeness.allowed(str(request.url), lambda url: fetch_robots(url, settings, client))

    client = httpx.Client(
        transport=guarded_transport(settings, verify=verify),
        event_hooks={"request": [guard]},
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.connect_timeout,
        ),
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        headers={
            "User-Agent": settings.user_agent,
            "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
        },
    )
    return client


@dataclass(frozen=True)
class DecodedPage:
    """A fetched page and its text, decoded once, with the encoding the page records."""

    page: FetchedPage
    text: str


def fetch(source: str, settings: Settings, *, client: httpx.Client | None = None) -> FetchedPage:
    """Fetch ``source`` (an http(s) URL, a ``file://`` URL or a path) within the limits."""
    return fetch_decoded(source, settings, client=client).page


def fetch_decoded(
    source: str,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    ask: Callable[[str], None] | None = None,
) -> DecodedPage:
    """Fetch ``source`` as :func:`fetch` does, and keep the text the checks decoded.

    ``ask`` is called with an http(s) URL before it is requested (robots.txt and the host's
    turn, say); the request then tells ``client`` that its URL was asked about already.
    """
    source = source.strip()
    if not source:
        raise InvalidSource("empty URL or path")
    if is_local(source):
        return _read_decoded(source, settings)
    if urlsplit(source).scheme.lower() not in {"http", "https"}:
        raise InvalidSource(f"unsupported URL scheme in {source!r}")
    extensions = None
    if ask is not None:
        ask(source)
        extensions = asked_extensions(source)
    if client is not None:
        return _fetch_http(source, settings, client, extensions)
    with make_client(settings) as own_client:
        return _fetch_http(source, settings, own_client, extensions)


@dataclass(frozen=True)
class Download:
    """A response as it came, within the limits: status, final URL, headers, body."""

    url: str
    status_code: int
    content_type: str | None
    headers: dict[str, str]
    content: bytes


# Marks a robots.txt request, which the robots check itself must not be asked about.
_ROBOTS_FETCH = "newsflow_robots"
# Names the URL a request's caller has asked politeness about already. httpx hands a
# request's extensions on to its redirects, whose other URLs are still asked.
_ASKED = "newsflow_asked"


def asked_extensions(url: str) -> dict[str, object]:
    """Request extensions telling a :func:`make_client` client that ``url``'s robots.txt was
    checked by the caller, so that the check runs once per request, not twice."""
    return {_ASKED: url}


def download(
    url: str,
    settings: Settings,
    client: httpx.Client,
    *,
    headers: dict[str, str] | None = None,
    extensions: dict[str, object] | None = None,
) -> Download:
    """GET ``url`` within newsflow's limits; a 304 (to conditional ``headers``) is returned
    as such, every other status but 2xx raises the error that says whether to retry."""
    deadline = time.monotonic() + settings.total_timeout
    try:
        with client.stream("GET", url, headers=headers, extensions=extensions) as response:
            if response.status_code == 304 and headers:
                return Download(str(response.url), 304, None, _kept(response), b"")
            _check_status(response, settings)
            declared = int(response.headers.get("content-length") or 0)
            if declared > settings.max_bytes and "content-encoding" not in response.headers:
                raise TooLarge(
                    f"{url} is {declared} bytes, more than the {settings.max_bytes} allowed"
                )
            chunks: list[bytes] = []
            size = 0
            # iter_bytes yields decompressed data, so the cap holds against gzip bombs too.
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > settings.max_bytes:
                    raise TooLarge(f"{url} is larger than the {settings.max_bytes} bytes allowed")
                if time.monotonic() > deadline:
                    raise FetchTimeout(
                        f"{url} took longer than {settings.total_timeout:g}s to download"
                    )
                chunks.append(chunk)
            return Download(
                url=str(response.url),
                status_code=response.status_code,
                content_type=response.headers.get("content-type"),
                headers=_kept(response),
                content=b"".join(chunks),
            )
    except httpx.TimeoutException as error:
        raise FetchTimeout(f"timed out fetching {url}: {type(error).__name__}") from error
    except httpx.TooManyRedirects as error:
        raise TooManyRedirects(
            f"{url} redirected more than {settings.max_redirects} times"
        ) from error
    except httpx.DecodingError as error:
        raise Undecodable(f"{url} sent a body that does not decompress: {error}") from error
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
        raise InvalidSource(f"cannot fetch {url}: {error}") from error
    except httpx.TransportError as error:
        raise ConnectionFailed(f"could not fetch {url}: {type(error).__name__}: {error}") from error


def _kept(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}


def _fetch_http(
    url: str, settings: Settings, client: httpx.Client, extensions: dict[str, object] | None
) -> DecodedPage:
    got = download(url, settings, client, extensions=extensions)
    content, kind, encoding, text = judged(
        got.content, got.content_type, got.url, settings.max_bytes
    )
    page = FetchedPage(
        source=url,
        url=got.url,
        content=content,
        kind=kind,
        encoding=encoding,
        content_type=got.content_type,
        status_code=got.status_code,
        headers=got.headers,
    )
    return DecodedPage(page, text)


def _check_status(response: httpx.Response, settings: Settings) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    where = str(response.url)
    if status in _RETRYABLE_STATUSES:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is not None:
            retry_after = min(retry_after, settings.retry_after_max)
        raise ServerError(
            f"{where} answered {status} {response.reason_phrase}".rstrip(),
            status_code=status,
            retry_after=retry_after,
        )
    raise HTTPStatus(
        f"{where} answered {status} {response.reason_phrase}".rstrip(), status_code=status
    )


def fetch_robots(url: str, settings: Settings, client: httpx.Client) -> str:
    """A robots.txt's text; "" when the site has none (any 4xx), as the standard says.

    A 5xx or a network error is transient: the caller should not guess either way.
    """
    # Within the same limits as any download, and smaller: no robots.txt needs half a megabyte.
    capped = settings.model_copy(update={"max_bytes": min(settings.max_bytes, 500_000)})
    try:
        got = download(url, capped, client, extensions={_ROBOTS_FETCH: True})
    except HTTPStatus as error:
        if 400 <= error.status_code < 500:
            return ""
        raise
    except TooLarge:
        return ""  # Google reads only the first 500 KiB too; we read none rather than half
    return got.content.decode("utf-8", errors="replace")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: either a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def read_file(source: str, settings: Settings) -> FetchedPage:
    """Read a local document, with the same size cap and checks as a download."""
    return _read_decoded(source, settings).page


def _read_decoded(source: str, settings: Settings) -> DecodedPage:
    path = (
        Path(unquote(urlsplit(source).path)) if source.lower().startswith("file:") else Path(source)
    )
    path = path.expanduser().resolve()
    if not path.is_file():
        raise InvalidSource(f"no such file: {path}")
    size = path.stat().st_size
    if size > settings.max_bytes:
        raise TooLarge(f"{path} is {size} bytes, more than the {settings.max_bytes} allowed")
    content_type, _ = mimetypes.guess_type(path.name)
    url = path.as_uri()
    content, kind, encoding, text = judged(path.read_bytes(), content_type, url, settings.max_bytes)
    # A file has no status and no headers: the page is what was read, in the fields' order.
    return DecodedPage(FetchedPage(source, url, content, kind, encoding, content_type), text)


def judged(
    content: bytes, content_type: str | None, url: str, max_bytes: int
) -> tuple[bytes, Kind, str, str]:
    """A body as newsflow keeps it (a gzip file unwrapped), judged a document of HTML or text:
    (content, kind, encoding, text). Anything else raises the error that says what it is."""
    content, judged_type = _unwrapped(content, content_type, url, max_bytes)
    kind, encoding, text = _decoded(judged_type, content, url)
    return content, kind, encoding, text


# Media types that name the gzip wrapper, not the document inside it.
_GZIP_TYPES = {"application/gzip", "application/x-gzip", "application/octet-stream"}


def _unwrapped(
    content: bytes, content_type: str | None, url: str, max_bytes: int
) -> tuple[bytes, str | None]:
    """A body that is a gzip file (sent without Content-Encoding) decompressed, within the cap.

    Returns the content and the media type to judge it by: a gzip type says nothing about the
    document inside, so it is dropped and the document is looked at instead.
    """
    content, layers = unwrap(content, max_bytes, url=url)
    if layers and (content_type or "").split(";")[0].strip().lower() in _GZIP_TYPES:
        content_type = None
    return content, content_type


def _decoded(content_type: str | None, content: bytes, url: str) -> tuple[Kind, str, str]:
    """Whether the document is HTML or plain text, its encoding and its text; refuse anything
    else."""
    if not content.strip():
        raise EmptyDocument(f"{url} is empty")
    binary = sniff_binary(content)
    if binary:
        raise UnsupportedContent(f"{url} is {binary}, not a text document")
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime and mime not in _HTML_TYPES and not mime.startswith("text/"):
        raise UnsupportedContent(f"{url} is {mime}, not HTML or text")
    encoding = detect_encoding(content, content_type)
    text = decode(content, encoding)
    if not text.strip(" \t\r\n\ufeff"):
        raise EmptyDocument(f"{url} is empty")
    if mime in _HTML_TYPES:
        return "html", encoding, text
    # text/plain is often HTML served carelessly; look before trusting it.
    return ("html" if looks_like_html(text[:8192]) else "text"), encoding, text


def looks_like_html(head: str) -> bool:
    head = head.lstrip().lower()
    if head.startswith(("<!doctype html", "<html", "<?xml")):
        return True
    return any(tag in head for tag in ("<html", "<head", "<body", "<meta ", "<div", "<p>"))
