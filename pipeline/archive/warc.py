"""The pages a web archive holds: WARC files, as Common Crawl (CC-NEWS), the Internet Archive
and crawlers write them, plain or gzip-compressed one record per member.

:func:`read_archive` reads a stream record by record, in memory bounded by the largest page
kept, and yields each record's fate: an :class:`ArchivedPage` (a ``response`` of an HTML or
text page, status 200), a :class:`Skipped` record with the reason (a request, metadata, a
revisit, another status, an image, a PDF, a page too large) or a :class:`Broken` one (a record
cut short, a gzip member that does not decompress, bytes that are no WARC record). A broken
record costs only itself: reading goes on at the next gzip member or record header.

warcio parses each record (its headers, the HTTP exchange, chunked and compressed payloads);
this module finds where each record starts and ends, so that a damaged one can be stepped over,
which a reader of the whole stream cannot do.
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

from pipeline.archive.writer import ARCHIVE_PREFIX, ENTRY_HEADER, FETCHED, ORIGIN_HEADER
from pipeline.errors import NewsflowError, TooLarge
from pipeline.fetch.download import judged
from pipeline.models import FeedEntry, FetchedPage

CHUNK = 1 << 20
_PIECE = 64 * 1024  # fed to the decompressor at a time: a record or a few
GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/"
_VERSION = b"WARC/1."  # what a record header starts with: 1.0 and 1.1
_RECORD_END = b"\r\n\r\n"
# A record is kept whole only up to the largest page kept plus its HTTP head and WARC header;
# a larger one is read through and skipped.
_RECORD_OVERHEAD = 256 * 1024
_HEADER_LIMIT = 64 * 1024


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
    reader = _Buffer(stream)
    limit = max_bytes + _RECORD_OVERHEAD
    framed = _members(reader, limit) if reader.peek(2) == GZIP_MAGIC[:2] else _plain(reader, limit)
    for offset, data, problem in framed:
        if problem is not None:
            yield Broken(offset, problem)
        elif data is None:
            yield Skipped(offset, f"larger than {max_bytes} bytes")
        else:
            yield from _entries(offset, data, name=name, max_bytes=max_bytes)


class _Buffer:
    """The stream's bytes from a known offset on, read ahead in chunks: what the framing
    looks at, and can look at again after a damaged record."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.data = bytearray()
        self.start = 0  # the file offset of data[0]
        self.ended = False

    def fill(self) -> bool:
        """Read another chunk; False at the end of the stream."""
        if self.ended:
            return False
        chunk = self.stream.read(CHUNK)
        if not chunk:
            self.ended = True
            return False
        self.data += chunk
        return True

    def peek(self, count: int) -> bytes:
        while len(self.data) < count and self.fill():
            pass
        return bytes(self.data[:count])

    def drop(self, count: int) -> None:
        del self.data[:count]
        self.start += count

    def find(self, marker: bytes, begin: int) -> int:
        """The position of ``marker`` at or after ``begin``, reading on as needed; -1 if none."""
        while True:
            found = self.data.find(marker, begin)
            if found >= 0:
                return found
            # Keep what could be the marker's first bytes; drop the rest, which holds none.
            keep = max(begin, len(self.data) - len(marker) + 1)
            self.drop(keep)
            begin = 0
            if not self.fill():
                return -1


def _members(reader: _Buffer, limit: int) -> Iterator[tuple[int, bytes | None, str | None]]:
    """Each gzip member: (its offset, its bytes or None if larger than ``limit``, a problem)."""
    while reader.peek(1):
        offset = reader.start
        decompressor = zlib.decompressobj(31)
        kept = bytearray()
        too_large = False
        fed = 0
        problem = None
        while True:
            if fed >= len(reader.data) and not reader.fill():
                problem = "cut short (the file ends inside a gzip member)"
                break
            # A view, not a copy; let go of before the buffer changes.
            with memoryview(reader.data) as view:
                piece = view[fed : fed + _PIECE]
                size = len(piece)
                try:
                    output = decompressor.decompress(piece)
                except zlib.error as error:
                    problem = f"a gzip member does not decompress: {error}"
                    break
                finally:
                    piece.release()
            if not too_large:
                kept += output
                if len(kept) > limit:
                    too_large, kept = True, bytearray()
            if decompressor.eof:
                fed += size - len(decompressor.unused_data)
                break
            fed += size
            if too_large and fed > CHUNK:
                # Nothing of it is kept: let its compressed bytes go too, but the last stretch.
                reader.drop(fed - CHUNK)
                fed = CHUNK
        if problem is None:
            reader.drop(fed)
            yield offset, None if too_large else bytes(kept), None
            continue
        yield offset, None, problem
        # The next member starts at the next gzip header after this member's own.
        found = reader.find(GZIP_MAGIC, 1)
        if found < 0:
            return
        reader.drop(found)


def _plain(reader: _Buffer, limit: int) -> Iterator[tuple[int, bytes | None, str | None]]:
    """Each record of an uncompressed WARC: found by its header and its Content-Length."""
    while True:
        while reader.peek(1) in (b"\r", b"\n"):
            reader.drop(1)  # the blank lines between records
        if not reader.peek(1):
            return
        offset = reader.start
        end = _header_end(reader) if reader.peek(len(WARC_MAGIC)) == WARC_MAGIC else None
        length = None if end is None else _content_length(bytes(reader.data[:end]))
        if end is None or length is None:
            yield offset, None, "not a WARC record (no header with a Content-Length)"
            if not _next_record(reader):
                return
            continue
        total = end + 4 + length
        if total > limit:
            # Read through it without keeping it.
            remaining = total
            while remaining > 0:
                if not reader.data and not reader.fill():
                    yield offset, None, "cut short (the file ends inside a record)"
                    return
                step = min(remaining, len(reader.data))
                reader.drop(step)
                remaining -= step
            yield offset, None, None
            continue
        while len(reader.data) < total + len(_RECORD_END) and reader.fill():
            pass
        if len(reader.data) < total:
            # Cut short: the file ends inside it, or the records after it are in it.
            yield offset, None, "cut short (fewer bytes than its Content-Length)"
            if not _next_record(reader):
                return
            continue
        ending = bytes(reader.data[total : total + len(_RECORD_END)])
        if ending and ending != _RECORD_END:
            # Its block is shorter than its header says: what follows belongs to the next.
            yield offset, None, "cut short (fewer bytes than its Content-Length)"
            if not _next_record(reader):
                return
            continue
        data = bytes(reader.data[:total])
        reader.drop(total)
        yield offset, data, None


def _next_record(reader: _Buffer) -> bool:
    """Move to the next record's header after the one at the buffer's start; False if none.
    A record cut short runs straight into the next header, with no line break before it."""
    found = reader.find(_VERSION, 1)
    if found < 0:
        return False
    reader.drop(found)
    return True


def _header_end(reader: _Buffer) -> int | None:
    """Where the WARC header at the buffer's start ends (its blank line), if it does."""
    while True:
        end = reader.data.find(b"\r\n\r\n", 0, _HEADER_LIMIT)
        if end >= 0:
            return end
        if len(reader.data) >= _HEADER_LIMIT or not reader.fill():
            return None


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


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
        if status != 200:
            return Skipped(offset, f"status {status}")
        fields = {key.lower(): value for key, value in http.headers}
        content_type = http.get_header("Content-Type")
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
            captured_at=_date(headers.get_header("WARC-Date")),
            archive=_origin(headers.get_header(ORIGIN_HEADER), name),
            max_bytes=max_bytes,
        )
    except NewsflowError as error:
        return Skipped(offset, _why_not(error, content_type))
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


def _why_not(error: NewsflowError, content_type: str | None) -> str:
    """A short reason to count a record under: the media type for what is not a page."""
    if error.reason == "unsupported_content":
        media = (content_type or "").split(";")[0].strip().lower()
        return media or "not HTML or text"
    return error.reason


def _date(value: str | None) -> datetime:
    """The record's capture date; a record without one (against the standard) is dated now."""
    if value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)
