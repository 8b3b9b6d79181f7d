"""From bytes to text: find the character encoding and decode, or say why not.

The order is the one browsers use, with a check that the declared charset is not a lie:
a byte-order mark, then the HTTP ``charset``, then ``<meta charset>``, then statistical detection.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from .errors import Undecodable, UnsupportedContent

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
# File signatures of formats that are sometimes served as text/html by mistake.
_MAGIC = (
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"%PDF", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"\xfd7zXZ", "xz data"),
    (b"RIFF", "RIFF media"),
    (b"OggS", "Ogg media"),
    (b"\x7fELF", "executable"),
)


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return _known_codec(match.group(1)) if match else None


def charset_from_meta(content: bytes) -> str | None:
    match = _META_CHARSET.search(content[:8192])
    return _known_codec(match.group(1).decode("ascii", "ignore")) if match else None


def _known_codec(name: str) -> str | None:
    try:
        codec = codecs.lookup(name.strip().lower())
    except LookupError:
        return None
    # A page cannot really be UTF-16 if its <meta> was readable as ASCII (HTML spec: use UTF-8).
    return codec.name


def wide_unicode(content: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte-order mark, told by where its NUL bytes fall."""
    head = content[:4096]
    if len(head) < 8 or b"\x00" not in head:
        return None
    size = len(head) // 4 * 4
    columns = [head[offset:size:4].count(0) / (size // 4) for offset in range(4)]
    if columns[0] > 0.9 and columns[1] > 0.9 and columns[2] > 0.9 and columns[3] < 0.1:
        name = "utf-32-be"
    elif columns[0] < 0.1 and columns[1] > 0.9 and columns[2] > 0.9 and columns[3] > 0.9:
        name = "utf-32-le"
    elif columns[0] > 0.8 and columns[2] > 0.8 and columns[1] < 0.2 and columns[3] < 0.2:
        name = "utf-16-be"
    elif columns[1] > 0.8 and columns[3] > 0.8 and columns[0] < 0.2 and columns[2] < 0.2:
        name = "utf-16-le"
    else:
        return None
    return name if _decodes(content[: len(content) // 4 * 4], name) else None


def sniff_binary(content: bytes) -> str | None:
    """Name the binary format of ``content``, or None if it may be text."""
    head = content[:1024]
    for bom, _ in _BOMS:
        if head.startswith(bom):
            return None
    if wide_unicode(content):
        return None
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if not head:
        return None
    # ESC (27) is text in the ISO-2022 encodings of Japanese, Korean and Chinese.
    controls = sum(1 for byte in head if byte < 9 or (13 < byte < 32 and byte != 27))
    return "binary data" if controls / len(head) > 0.1 else None


def detect_encoding(content: bytes, content_type: str | None = None) -> str:
    """The encoding to decode ``content`` with. Raises when the bytes are not text at all."""
    for bom, name in _BOMS:
        if content.startswith(bom):
            return name
    wide = wide_unicode(content)
    if wide:
        return wide
    binary = sniff_binary(content)
    if binary:
        raise UnsupportedContent(f"the content is {binary}, not a text document")
    declared = charset_from_content_type(content_type) or charset_from_meta(content)
    if declared and (declared.startswith("utf-16") or declared.startswith("utf-32")):
        # Declared UTF-16 without a BOM on a page we could read as ASCII is a known lie.
        declared = "utf-8"
    # Bytes that are valid UTF-8 and not plain ASCII are UTF-8 whatever the page declares: in
    # a legacy encoding such sequences almost never happen by chance, while UTF-8 pages that
    # still declare Latin-1 (or GB2312, or Shift_JIS) are common.
    if not content.isascii() and _decodes(content, "utf-8"):
        return "utf-8"
    if declared == "utf-8" and _mostly_utf8(content):
        return "utf-8"  # a few broken bytes in a UTF-8 page; they become U+FFFD
    if declared and declared != "utf-8" and _decodes(content, declared):
        return declared
    if declared is None and content.isascii():
        # 7-bit encodings of Japanese and Korean switch scripts with escape sequences.
        if b"\x1b$B" in content or b"\x1b$@" in content or b"\x1b(J" in content:
            return "iso2022_jp"
        if b"\x1b$)C" in content:
            return "iso2022_kr"
        return "utf-8"
    best = from_bytes(content[:200_000]).best()
    if best is not None:
        return codecs.lookup(best.encoding).name
    if declared:
        return declared
    raise Undecodable("no character encoding decodes this content")


def _mostly_utf8(content: bytes) -> bool:
    """UTF-8 but for a handful of invalid bytes (a page stitched from two sources)."""
    broken = content.decode("utf-8", errors="replace").count("\ufffd")
    return broken <= max(8, len(content) // 2000)


def _decodes(content: bytes, encoding: str) -> bool:
    try:
        content.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def decode(content: bytes, encoding: str) -> str:
    """Decode with ``encoding``; the few bytes that do not fit become U+FFFD."""
    try:
        text = content.decode(encoding, errors="replace")
    except LookupError as error:
        raise Undecodable(f"unknown encoding {encoding!r}") from error
    if text.startswith("\ufeff"):
        text = text[1:]
    # NUL is never valid in HTML or text and breaks lxml and PostgreSQL alike.
    return text.replace("\x00", "")
