"""Gzip inside a body, expanded within limits: one reading for a page and for a feed.

A server may send a gzip file as the body itself, with no Content-Encoding to say so (a
``sitemap.xml.gz``, a saved ``page.html.gz`` served as is). The fetch stage and the feed reader
therefore expand gzip themselves, beside the Content-Encoding that httpx undoes, and both do it
here, by these rules:

- **Bounded output.** Never more than ``max_bytes`` is held; one byte past it is
  :class:`TooLarge`. A few kilobytes of gzip can expand to gigabytes, and ``gzip.decompress``
  would build all of it before anyone could look at its size.
- **Bounded layers.** :func:`unwrap` takes off at most :data:`MAX_LAYERS` layers: a saved
  ``.gz`` served as is, or a ``.gz`` that the server compressed once more. A third layer is no
  mistake but a trap, so it is left on, for the caller to refuse what is still gzip.
- **A stream cut short or damaged gives what it held** up to the cut, as browsers, httpx (for
  Content-Encoding) and Scrapy do. A body truncated in transit is still most of a page, or most
  of a sitemap, and the same bytes must read the same whether or not the server labelled them
  with Content-Encoding. Whatever reads the document then copes with its cut end as it does
  with any other cut document. Only data from which nothing at all comes out is
  :class:`Undecodable`, and so is data that is not gzip.
- **Members are joined**, as ``cat a.gz b.gz`` makes one gzip file. What follows the last
  member without being gzip is trailing junk, and is ignored, as gzip(1) does.
"""

from __future__ import annotations

import zlib

from pipeline.errors import TooLarge, Undecodable

__all__ = ["GZIP_MAGIC", "MAX_LAYERS", "gunzip", "is_gzip", "unwrap"]

GZIP_MAGIC = b"\x1f\x8b"
MAX_LAYERS = 2
# Compressed bytes fed to zlib at a time. A chunk that fails is fed again byte by byte, so
# that damage (a wrong checksum at the end, say) costs nothing of what precedes it.
_CHUNK = 64 * 1024


def is_gzip(data: bytes) -> bool:
    """Whether ``data`` starts as a gzip file does (its two magic bytes)."""
    return data.startswith(GZIP_MAGIC)


def unwrap(data: bytes, max_bytes: int, *, url: str = "the content") -> tuple[bytes, int]:
    """``data`` with up to :data:`MAX_LAYERS` layers of gzip taken off, and how many there were.

    Each layer is expanded within ``max_bytes``. Data that is not gzip comes back as it is,
    with 0 layers; data still gzip after the last layer allowed comes back gzip.
    """
    layers = 0
    while is_gzip(data) and layers < MAX_LAYERS:
        data = gunzip(data, max_bytes, url=url)
        layers += 1
    return data, layers


def gunzip(data: bytes, max_bytes: int, *, url: str = "the content") -> bytes:
    """Decompress gzip ``data`` (all its members) without ever holding more than ``max_bytes``.

    A stream cut short or damaged gives what it held up to there; ``TooLarge`` when the output
    would pass ``max_bytes``; ``Undecodable`` when ``data`` is not gzip or nothing of it
    decompresses. ``url`` names the data in those errors' messages.
    """
    if not is_gzip(data):
        raise Undecodable(f"{url} is not gzip data")
    output = bytearray()
    rest: bytes | None = data
    while rest is not None and is_gzip(rest):
        rest = _inflate_member(rest, output, max_bytes, url)
        if rest is None and not output:
            raise Undecodable(f"{url} is gzip data that does not decompress")
    return bytes(output)


def _inflate_member(data: bytes, output: bytearray, max_bytes: int, url: str) -> bytes | None:
    """Expand the gzip member at the start of ``data`` onto ``output``, and return what follows
    it; None when the member is cut short or damaged, its output up to there kept."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    view = memoryview(data)
    position = 0
    while not decompressor.eof:
        if position >= len(view):
            return None  # cut short
        chunk = view[position : position + _CHUNK]
        position += len(chunk)
        saved = decompressor.copy()
        try:
            # The limit is one byte past the cap: reaching it is the sign of too much, and
            # input held back by it (``unconsumed_tail``) is then never needed.
            output += decompressor.decompress(chunk, max_bytes + 1 - len(output))
        except zlib.error:
            _salvage(saved, chunk, output, max_bytes)
            _check_size(output, max_bytes, url)
            return None
        _check_size(output, max_bytes, url)
    return decompressor.unused_data + view[position:].tobytes()


def _salvage(
    decompressor: zlib._Decompress, chunk: memoryview, output: bytearray, max_bytes: int
) -> None:
    """Feed a chunk that failed again, byte by byte from the state before it, to keep what
    precedes the damage."""
    for start in range(len(chunk)):
        if len(output) > max_bytes:
            return  # and a limit of 0 would mean no limit at all
        try:
            output += decompressor.decompress(chunk[start : start + 1], max_bytes + 1 - len(output))
        except zlib.error:
            return


def _check_size(output: bytearray, max_bytes: int, url: str) -> None:
    if len(output) > max_bytes:
        raise TooLarge(f"{url} expands to more than {max_bytes} bytes, the most allowed")
