"""Where each record of a WARC starts and ends, in a stream that may be damaged.

A WARC is a run of records, each a header with its ``Content-Length`` and a block, then a blank
line; a ``.warc.gz`` is the same, gzip-compressed, one record per member as WARC writers make
them (or the whole file in one member). :func:`records` yields each record's bytes, or the
damage found where one should be: a gzip member that does not decompress, a record cut short,
bytes that are no record. Reading goes on at the next gzip header or record header, so a
damaged record costs only itself. Memory holds a record at most (up to ``limit``); a record
larger is read through, and a gzip member is inflated a piece at a time.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

CHUNK = 1 << 20
_PIECE = 64 * 1024  # fed to the decompressor at a time: a record or a few
GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/"
_VERSION = b"WARC/1."  # what a record header starts with: 1.0 and 1.1
_RECORD_END = b"\r\n\r\n"
_HEADER_LIMIT = 64 * 1024  # a WARC header longer than this is no header


def records(stream: BinaryIO, *, limit: int) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(offset, the record's bytes or None if larger than ``limit``, a problem or None) for
    each record of the stream, plain or gzip; for gzip, the offset is its member's."""
    reader = _Buffer(stream)
    if reader.peek(2) == GZIP_MAGIC[:2]:
        return _members(reader, limit)
    return _plain(reader, limit)


class _Buffer:
    """The stream's bytes from a known offset on, read ahead in chunks: what the framing
    looks at, and can look at again after a damaged record."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.data = bytearray()
        self.start = 0  # the file offset of data[0]
        self.ended = False
        self.size = _file_size(stream)  # None when not known (a pipe, a decompressed stream)

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


def _file_size(stream: BinaryIO) -> int | None:
    """The stream's length if it can tell (a file, bytes in memory), read from its start."""
    try:
        if not stream.seekable() or stream.tell() != 0:
            return None
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
    except (AttributeError, OSError, ValueError):
        return None
    return size


class _Damaged(Exception):
    """A gzip member that cannot be read to its end."""


class _Member:
    """The decompressed bytes of the gzip member at the buffer's start, read as asked: no
    more than asked is inflated at a time, so a bomb costs no memory."""

    def __init__(self, reader: _Buffer) -> None:
        self.reader = reader
        self.decompressor = zlib.decompressobj(31)
        self.fed = 0  # compressed bytes of the buffer given to the decompressor
        self.ended = False

    def read(self, size: int) -> bytes:
        output = bytearray()
        while len(output) < size and not self.ended:
            tail = self.decompressor.unconsumed_tail
            if tail:
                output += self._inflate(tail, size - len(output))
            else:
                if self.fed >= len(self.reader.data) and not self.reader.fill():
                    raise _Damaged("cut short (the file ends inside a gzip member)")
                # A view, not a copy, let go of before the buffer changes.
                with (
                    memoryview(self.reader.data) as view,
                    view[self.fed : self.fed + _PIECE] as piece,
                ):
                    self.fed += len(piece)
                    output += self._inflate(piece, size - len(output))
            self._settle()
        return bytes(output)

    def _inflate(self, data: Any, room: int) -> bytes:
        try:
            return self.decompressor.decompress(data, room)
        except zlib.error as error:
            raise _Damaged(f"a gzip member does not decompress: {error}") from error

    def _settle(self) -> None:
        """Let go of the compressed bytes read: all of them at the member's end; for a large
        member, all but the last stretch (where the search for the next member starts, should
        the rest prove damaged)."""
        if self.decompressor.eof:
            self.ended = True
            self.reader.drop(self.fed - len(self.decompressor.unused_data))
            self.fed = 0
        elif self.fed > 4 * CHUNK:
            self.reader.drop(self.fed - CHUNK)
            self.fed = CHUNK


def _members(reader: _Buffer, limit: int) -> Iterator[tuple[int, bytes | None, str | None]]:
    """Each record of each gzip member: (the member's offset, the record's bytes or None if
    larger than ``limit``, a problem). A damaged member costs itself only: reading goes on at
    the next gzip header."""
    while reader.peek(1):
        offset = reader.start
        member = _Member(reader)
        try:
            # Framed inside, as a plain WARC is: a member usually holds one record, but may
            # hold several (a whole file gzipped at once), or one cut short.
            inner = _Buffer(cast(BinaryIO, member))
            for _, data, problem in _plain(inner, limit):
                yield offset, data, problem
            if not member.ended:
                member.read(1)  # its end: the framing stopped short of it
            if not member.ended:
                raise _Damaged("a gzip member with more after its last record")
            continue
        except _Damaged as damage:
            yield offset, None, str(damage)
        # The next member starts at the next gzip header after this member's own.
        found = reader.find(GZIP_MAGIC, 1 if reader.start == offset else 0)
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
        if length < 0 or (reader.size is not None and reader.start + total > reader.size):
            yield offset, None, f"a Content-Length ({length}) the file does not hold"
            if not _next_record(reader):
                return
            continue
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
        # With the blank lines that end it, as warcio expects a record to be.
        data = bytes(reader.data[: total + len(ending)])
        reader.drop(total + len(ending))
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
