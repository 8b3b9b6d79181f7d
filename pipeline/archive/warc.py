"""The pages a web archive holds: WARC files, as Common Crawl (CC-NEWS), the Internet Archive
and crawlers write them, plain or gzip-compressed one record per member.

:func:`read_archive` reads a stream record by record, in memory bounded by the largest page
kept, and yields each record's fate: an :class:`ArchivedPage` (a ``response`` of an HTML or
text page with a 2xx status, or a ``resource`` of one), a :class:`Skipped` record with the
reason (a request, metadata, a revisit, another status, an image, a PDF, a page too large) or
a :class:`Broken` one (a record
cut short, a gzip member that does not decompress, bytes that are no WARC record). A broken
record costs only itself: reading goes on at the next gzip member or record header.

warcio parses each record (its headers, the HTTP exchange, chunked and compressed payloads);
:mod:`pipeline.archive.framing` finds where each record starts and ends, so that a damaged one
can be stepped over, which a reader of the whole stream cannot do.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from pydantic import ValidationError
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pipeline.archive.fields import ARCHIVE_PREFIX, ENTRY_HEADER, FETCHED, ORIGIN_HEADER
from pipeline.archive.framing import records
from pipeline.errors import NewsflowError, TooLarge
from pipeline.fetch.download import KEPT_HEADERS, judged
from pipeline.models import FeedEntry, FetchedPage

# A record is kept whole only up to the largest page kept plus its HTTP head and WARC header;
# a larger one is read through and skipped.
_RECORD_OVERHEAD = 256 * 1024


@dataclass(frozen=True)
class ArchivedPage:
    offset: int  # of its record (or gzip member) in the file
    page: FetchedPage
    entry: dict[str, Any] | None = None  # what a feed said of it (a newsflow export keeps it)


@dataclass(frozen=True)
class Skipped:
    offset: int
    reason: str  # what the record is, briefly: "request", "status 404", "image/png", ...


@dataclass(frozen=True)
class Broken:
    offset: int
    reason: str


Entry = ArchivedPage | Skipped | Broken


def read_archive(stream: BinaryIO, *, name: str, max_bytes: int) -> Iterator[Entry]:
    """Every record of the WARC ``stream`` (compressed or not), as what it gave."""
    for offset, data, problem in records(stream, limit=max_bytes + _RECORD_OVERHEAD):
        if problem is not None:
            yield Broken(offset, problem)
        elif data is None:
            yield Skipped(offset, f"larger than {max_bytes} bytes")
        else:
            yield from _entries(offset, data, name=name, max_bytes=max_bytes)


def _entries(offset: int, data: bytes, *, name: str, max_bytes: int) -> Iterator[Entry]:
    """What the records of one gzip member (usually one) or one plain record are."""
    try:
        for record in ArchiveIterator(io.BytesIO(data), check_digests=False):
            yield _entry(offset, record, name=name, max_bytes=max_bytes)
    except (ArchiveLoadFailed, ValueError, EOFError, zlib.error) as error:
        yield Broken(offset, f"not a readable WARC record: {error}")


def _entry(offset: int, record: object, *, name: str, max_bytes: int) -> Entry:
    kind = getattr(record, "rec_type", None) or "unknown"
    if kind not in ("response", "resource"):
        return Skipped(offset, kind)
    headers = record.rec_headers  # type: ignore[attr-defined]
    url = headers.get_header("WARC-Target-URI") or ""
    scheme = urlsplit(url).scheme.lower()
    # A page saved without HTTP (a file a newsflow export read from disk) is a resource.
    if scheme not in ("http", "https") and not (kind == "resource" and scheme == "file"):
        return Skipped(offset, f"not a web page ({scheme or 'no'} URI)")
    http = record.http_headers  # type: ignore[attr-defined]
    if kind == "response" and http is None:
        return Skipped(offset, "no HTTP response")
    status, fields, content_type = 200, {}, headers.get_header("Content-Type")
    if http is not None:
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            return Broken(offset, f"an HTTP status that is no number: {http.statusline!r}")
        if not 200 <= status < 300:
            return Skipped(offset, f"status {status}")
        # The response facts a fetch keeps, no more (no cookies).
        fields = {key.lower(): value for key, value in http.headers if key.lower() in KEPT_HEADERS}
        content_type = http.get_header("Content-Type")
    captured = _date(headers.get_header("WARC-Date"))
    if captured is None:
        return Broken(offset, f"no capture date it can read: {headers.get_header('WARC-Date')!r}")
    try:
        content = record.content_stream().read(max_bytes + 1)  # type: ignore[attr-defined]
    except (OSError, ValueError, EOFError, zlib.error) as error:
        return Broken(offset, f"its payload does not decode: {error}")
    try:
        page = archived_page(
            url,
            content,
            content_type=content_type,
            status_code=status if http is not None else None,
            headers=fields,
            captured_at=captured,
            archive=_origin(headers.get_header(ORIGIN_HEADER), name),
            max_bytes=max_bytes,
        )
    except NewsflowError as error:
        return Skipped(offset, _why_not(error, content_type, max_bytes))
    return ArchivedPage(offset, page, _entry_of(headers.get_header(ENTRY_HEADER)))


def archived_page(
    url: str,
    content: bytes,
    *,
    content_type: str | None,
    status_code: int | None,
    headers: dict[str, str],
    captured_at: datetime,
    archive: str | None,
    max_bytes: int,
) -> FetchedPage:
    """A page read out of an archive, judged as a download is: a document of HTML or text,
    within the size cap; anything else raises the error a fetch of it would."""
    if len(content) > max_bytes:
        raise TooLarge(f"{url} is {len(content)} bytes, more than the {max_bytes} allowed")
    content, kind, encoding, _ = judged(content, content_type, url, max_bytes)
    return FetchedPage(
        source=url,
        url=url,
        content=content,
        kind=kind,
        encoding=encoding,
        content_type=content_type,
        status_code=status_code,
        headers=headers,
        fetched_at=captured_at,
        archive=archive,
    )


def _origin(stated: str | None, name: str) -> str | None:
    """The archive a page comes from: this one, or for a newsflow export what the page was
    before (fetched, None; or read from another archive), so that it makes the same article."""
    if stated == FETCHED:
        return None
    if stated and stated.startswith(ARCHIVE_PREFIX):
        return stated.removeprefix(ARCHIVE_PREFIX) or name
    return name


def _entry_of(stated: str | None) -> dict[str, Any] | None:
    if not stated:
        return None
    # Kept only as the feed entry it must be: anything else is ignored, not trusted.
    try:
        return FeedEntry.model_validate_json(stated).model_dump(mode="json")
    except ValidationError:
        return None


def _why_not(error: NewsflowError, content_type: str | None, max_bytes: int) -> str:
    """A short reason to count a record under: the media type for what is not a page."""
    if isinstance(error, TooLarge):
        return f"larger than {max_bytes} bytes"
    if error.reason == "unsupported_content":
        media = (content_type or "").split(";")[0].strip().lower()
        return media or "not HTML or text"
    return error.reason


def _date(value: str | None) -> datetime | None:
    """The record's capture date, in UTC: ISO 8601 as WARC writes it, or the 14 digits of the
    older ARC style."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.strptime(value.strip(), "%Y%m%d%H%M%S")
        except ValueError:
            return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
