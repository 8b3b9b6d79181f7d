"""From bytes to text: find the character encoding and decode, or say why not.

The order is the one browsers use, with a check that the declared charset is not a lie:
a byte-order mark, then the HTTP ``charset``, then ``<meta charset>``, then statistical detection.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from pipeline.errors import Undecodable, UnsupportedContent

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
# File signatures of formats that are sometimes served as text/html by mistake. Only
# signatures that no text document begins with: "BM" (bitmaps) or "MZ" (Windows programs)
# can open a plain-text story, and such files are caught by their control bytes instead.
_MAGIC = (
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"\x00\x00\x01\x00", "icon"),
    (b"%PDF", "PDF document"),
    (b"%!PS", "PostScript document"),
    (b"{\\rtf", "RTF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2 compound document (Word, Excel, PowerPoint)"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"PK\x07\x08", "ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"\x28\xb5\x2f\xfd", "zstd data"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"wOFF", "web font"),
    (b"wOF2", "web font"),
    (b"\x00asm", "WebAssembly module"),
    (b"RIFF", "RIFF media"),
    (b"OggS", "Ogg media"),
    (b"fLaC", "FLAC audio"),
    (b"ID3\x02", "MP3 audio"),
    (b"ID3\x03", "MP3 audio"),
    (b"ID3\x04", "MP3 audio"),
    (b"\x1a\x45\xdf\xa3", "Matroska or WebM media"),
    (b"\x7fELF", "executable"),
    (b"\xca\xfe\xba\xbe", "executable"),
)
# The escape sequence that opens an ISO-2022-KR text.
_ISO2022_KR = b"\x1b$)C"
# Signatures found past the start of the file: (offset, bytes, name).
_MAGIC_AT = (
    (4, b"ftyp", "MP4 or QuickTime media"),
    (4, b"1AY&SY", "bzip2 data"),
    (257, b"ustar", "tar archive"),
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
    label = name.strip().lower()
    try:
        codec = codecs.lookup(_LABELS.get(label, label))
    except LookupError:
        return None
    return codec.name


# Labels browsers know and Python does not (from the WHATWG Encoding Standard).
_LABELS = {
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "x-gbk": "gbk",
    "windows-874": "cp874",
    "iso-8859-8-i": "iso8859-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
}
# What browsers decode a declared charset as: its Windows superset (the Encoding Standard).
# Pages declaring Latin-1 are written on Windows, with curly quotes in 0x80-0x9F that Latin-1
# would turn into invisible control characters; GB2312 pages use GBK's extra characters.
_SUPERSETS = {
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gbk",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}


def wide_unicode(content: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte-order mark, told by where its NUL bytes fall.

    Markup, spaces and digits are ASCII, so in UTF-16 one byte of every pair is NUL for a
    good share of the characters, and the other byte almost never is.
    """
    head = content[:4096]
    if len(head) < 8 or b"\x00" not in head:
        return None
    size = len(head) // 4 * 4
    columns = [head[offset:size:4].count(0) / (size // 4) for offset in range(4)]
    even = (columns[0] + columns[2]) / 2
    odd = (columns[1] + columns[3]) / 2
    if columns[0] > 0.9 and columns[1] > 0.9 and columns[2] > 0.9 and columns[3] < 0.1:
        name = "utf-32-be"
    elif columns[0] < 0.1 and columns[1] > 0.9 and columns[2] > 0.9 and columns[3] > 0.9:
        name = "utf-32-le"
    elif even > 0.1 and odd < 0.02:
        name = "utf-16-be"
    elif odd > 0.1 and even < 0.02:
        name = "utf-16-le"
    else:
        return None
    return name if _plausible_wide(content, name) else None


def _plausible_wide(content: bytes, name: str) -> bool:
    """Decodes as ``name`` into text, not into the control characters binary data gives."""
    unit = 4 if name.startswith("utf-32") else 2
    try:
        text = content[: len(content) // unit * unit].decode(name)
    except UnicodeDecodeError:
        return False
    sample = text[:4096]
    controls = sum(1 for char in sample if char < " " and char not in "\t\n\r\f")
    return controls <= len(sample) * 0.01


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
    for offset, magic, name in _MAGIC_AT:
        if head[offset : offset + len(magic)] == magic:
            return name
    if not head:
        return None
    # ESC (27) is text in the ISO-2022 encodings of Japanese, Korean and Chinese, and so are
    # Shift Out and Shift In (14, 15) in ISO-2022-KR. NUL alone is padding or junk around
    # text (decode drops it); with other control bytes it is binary.
    shifts = {14, 15} if _ISO2022_KR in content[:4096] else set()
    controls = sum(
        1 for byte in head if 0 < byte < 9 or (13 < byte < 32 and byte != 27 and byte not in shifts)
    )
    nuls = head.count(0)
    if controls / len(head) > 0.05 or (controls and (controls + nuls) / len(head) > 0.1):
        return "binary data"
    return None


def detect_encoding(content: bytes, content_type: str | None = None) -> str:
    """The encoding to decode ``content`` with. Raises when the bytes are not text at all.

    A declared charset is believed only if the bytes read as text in it: servers often send
    a default (``charset=iso-8859-1``) whatever the page is written in, and a page that
    declares one charset in its header may name the right one in its ``<meta>``.
    """
    for bom, name in _BOMS:
        if content.startswith(bom):
            return name
    wide = wide_unicode(content)
    if wide:
        return wide
    binary = sniff_binary(content)
    if binary:
        raise UnsupportedContent(f"the content is {binary}, not a text document")
    declarations = [
        # Declared UTF-16 without a BOM on a page we could read as ASCII is a known lie.
        "utf-8" if name.startswith(("utf-16", "utf-32")) else name
        for name in (charset_from_content_type(content_type), charset_from_meta(content))
        if name
    ]
    declared = declarations[0] if declarations else None
    # Bytes that are valid UTF-8 and not plain ASCII are UTF-8 whatever the page declares: in
    # a legacy encoding such sequences almost never happen by chance, while UTF-8 pages that
    # still declare Latin-1 (or GB2312, or Shift_JIS) are common.
    if not content.isascii() and _decodes(content, "utf-8"):
        return "utf-8"
    if declared in (None, "utf-8") and _mostly_utf8(content, declared=declared == "utf-8"):
        return "utf-8"  # some broken bytes in a UTF-8 page; they become U+FFFD
    if content.isascii():
        if declared is None:
            # 7-bit encodings of Japanese and Korean switch scripts with escape sequences.
            if b"\x1b$B" in content or b"\x1b$@" in content or b"\x1b(J" in content:
                return "iso2022_jp"
            if _ISO2022_KR in content:
                return "iso2022_kr"
            return "utf-8"
        return _SUPERSETS.get(declared, declared)
    for name in dict.fromkeys(declarations):
        for candidate in (_SUPERSETS.get(name), name):
            if candidate and candidate != "utf-8" and _reads_as_text(content, candidate):
                return candidate
    best = from_bytes(content[:_SAMPLE]).best()
    if best is not None:
        return codecs.lookup(best.encoding).name
    if declared:
        return _SUPERSETS.get(declared, declared)
    raise Undecodable("no character encoding decodes this content")


# Bytes that detection and the checks of a declaration look at: enough for any language.
_SAMPLE = 200_000


def _reads_as_text(content: bytes, encoding: str) -> bool:
    """The bytes decode in ``encoding`` and read as text, not mojibake.

    Any byte decodes in Latin-1, so decoding alone proves nothing for single-byte charsets:
    charset_normalizer measures the result (runs of accented capitals, mixed scripts...).
    """
    if not _decodes(content, encoding):
        return False
    return bool(from_bytes(content[:_SAMPLE], cp_isolation=[encoding]))


def _mostly_utf8(content: bytes, *, declared: bool) -> bool:
    """UTF-8 but for some invalid bytes (a page stitched from two sources).

    A page that declares UTF-8 may have a handful of broken bytes. Beyond that, the valid
    multi-byte sequences must outnumber the invalid bytes twice over: in legacy encodings
    they form by chance at most about half as often (EUC-JP, the worst case in our corpus).
    """
    text = content.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    if declared and broken <= max(8, len(content) // 2000):
        return True
    multibyte = len(text) - len(text.encode("ascii", errors="ignore")) - broken
    return broken > 0 and multibyte >= 2 * broken


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
