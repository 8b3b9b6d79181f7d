"""The bad inputs made here for the end-to-end table of ``test_bad_input.py``: sizes over the
cap and decompression bombs, broken transport, bytes that are no text, empty pages, shapes built
to exhaust a parser, megabyte lines and charsets declared wrongly or not at all.

Each :class:`Case` says where the input is served and what must come of it. The same bytes on
every run: the noise comes from a fixed seed.
"""

from __future__ import annotations

import codecs
import gzip
import random
from dataclasses import dataclass, field

from tests.httpserver import Reply

SENTENCE = "The council met on Monday to discuss the plan in detail and agreed to continue. "
RUSSIAN = "Переговоры между враждующими сторонами в Ливии завершились без соглашения. "
JAPANESE = "東京の市議会は月曜日に計画について詳しく話し合い、続けることに合意した。"
CHINESE = "市议会周一开会详细讨论了该计划，并同意继续进行。官员们说，这一决定将在下个月审查。"
# 镕 is in GBK but not in GB2312: browsers read a page declaring gb2312 as GBK.
CHINESE_GBK = "朱镕基总理在会上发表讲话，强调了改革的重要性。"
HTML = {"Content-Type": "text/html"}

# Noise from a fixed seed: the same bytes on every run.
NOISE = random.Random(20261127)


def article(text: str, *, title: str = "Council agrees plan", meta: str = "") -> str:
    """A small news page whose main text trafilatura finds: three paragraphs of ``text``."""
    head = f'<meta charset="{meta}">' if meta else ""
    paragraphs = "".join(f"<p>{text * 3}</p>" for _ in range(3))
    return (
        f"<!doctype html><html><head>{head}<title>{title}</title></head><body>"
        f'<nav><a href="/">Home</a></nav><article><h1>{title}</h1>{paragraphs}</article>'
        "<footer>Copyright 2026</footer></body></html>"
    )


@dataclass
class Case:
    """One input: where it is served, and its expected stored phrase or failure reason."""

    path: str
    replies: list[Reply] = field(default_factory=list)
    phrase: str | None = None  # the stored article's body contains this
    reason: str | None = None  # or the recorded failure has this reason
    stage: str = "fetch"  # where that failure is recorded
    streamed: bool = False  # served by the chunked server instead


def generated_cases() -> list[Case]:
    bomb = gzip.compress(b"\0" * 100_000_000)  # 100 MB of zeros in about 100 KB
    page = article(SENTENCE).encode()
    gzipped_page = gzip.compress(article("Truncated in transit, still a story. " * 9).encode())
    utf16_text = article(RUSSIAN)
    return [
        # Sizes and compression.
        Case(
            "/bomb-gzip",
            [Reply(200, bomb, {**HTML, "Content-Encoding": "gzip"})],
            reason="too_large",
        ),
        Case("/bomb-gzip-no-encoding", [Reply(200, bomb, HTML)], reason="too_large"),
        Case(
            "/length-over-cap",
            [Reply(200, page, {**HTML, "Content-Length": "50000000", "Connection": "close"})],
            reason="too_large",
        ),
        Case("/chunked-endless", streamed=True, reason="too_large"),
        Case(
            "/gzip-sent-as-html",
            [
                Reply(
                    200,
                    gzip.compress(article("A gzip file served as the page itself. " * 3).encode()),
                    HTML,
                )
            ],
            phrase="A gzip file served as the page itself.",
        ),
        Case(
            "/gzip-truncated",
            [Reply(200, gzipped_page[:-40], HTML)],  # no trailer, and the end of the stream
            phrase="Truncated in transit, still a story.",
        ),
        Case(
            "/gzip-declared-not-gzip",
            [Reply(200, page, {**HTML, "Content-Encoding": "gzip"})],
            reason="undecodable",
        ),
        # Transport.
        Case(
            "/redirect-loop",
            [Reply(302, b"", {"Location": "/redirect-loop-2"})],
            reason="too_many_redirects",
        ),
        Case(
            "/closed-mid-body",
            [
                Reply(
                    200,
                    page[:300],
                    {**HTML, "Content-Length": str(len(page)), "Connection": "close"},
                )
            ],
            reason="connection_error",
        ),
        Case("/too-slow", [Reply(200, page, HTML, delay=2.5)], reason="timeout"),
        # Not text at all.
        Case(
            "/random-bytes",
            [Reply(200, NOISE.randbytes(50_000), HTML)],
            reason="unsupported_content",
        ),
        Case(
            "/ole2-as-html",
            [Reply(200, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + NOISE.randbytes(4000), HTML)],
            reason="unsupported_content",
        ),
        # Empty, and only markup.
        Case("/empty", [Reply(200, b"", HTML)], reason="empty_document"),
        Case(
            "/bom-and-whitespace",
            [Reply(200, codecs.BOM_UTF8 + b" \r\n\t ", HTML)],
            reason="empty_document",
        ),
        Case(
            "/only-markup",
            [
                Reply(
                    200,
                    b"<html><head><script>var x = 1;</script></head><body>"
                    + b"<div><span></span></div>" * 2000
                    + b"</body></html>",
                    HTML,
                )
            ],
            reason="empty_document",
            stage="clean",
        ),
        # Shapes built to exhaust a parser, and megabyte lines.
        Case(
            "/nested-5000",
            [Reply(200, ("<div>" * 5000 + article(SENTENCE) + "</div>" * 5000).encode(), HTML)],
            reason="too_deep",
            stage="clean",
        ),
        Case(
            "/nested-100000",
            [Reply(200, ("<html><body>" + "<div>" * 100_000 + SENTENCE).encode(), HTML)],
            reason="too_deep",
            stage="clean",
        ),
        Case(
            "/elements-150000",
            [Reply(200, ("<html><body>" + "<i>x</i>" * 150_000 + "</body></html>").encode(), HTML)],
            reason="too_large",
            stage="clean",
        ),
        Case(
            "/one-line-html",
            [Reply(200, article(SENTENCE.replace("council", "assembly") * 2500).encode(), HTML)],
            phrase="The assembly met on Monday",
        ),
        Case(
            "/one-line-text",
            [
                Reply(
                    200,
                    ("The board met on Friday and voted to go ahead. " * 40_000).encode(),
                    {"Content-Type": "text/plain"},
                )
            ],
            phrase="The board met on Friday",
        ),
        Case(
            "/nul-bytes",
            [
                Reply(
                    200,
                    article("The mayor\x00 spoke to reporters\x00 after the vote. ").encode(),
                    HTML,
                )
            ],
            phrase="The mayor spoke to reporters after the vote.",
        ),
        Case(
            "/utf8-with-broken-bytes",
            [
                Reply(
                    200,
                    # ÿ marks where a byte goes that no UTF-8 text holds: 0xFF.
                    article("Grüße aus Köln, sagte die Bürgermeisterin. ÿ ")
                    .encode()
                    .replace("ÿ".encode(), b"\xff"),
                    {"Content-Type": "text/html; charset=utf-8"},
                )
            ],
            phrase="Grüße aus Köln, sagte die Bürgermeisterin.",
        ),
        # Charsets, declared wrongly or not at all.
        Case(
            "/windows-1251-header-says-utf8",
            [
                Reply(
                    200,
                    article(RUSSIAN, meta="windows-1251").encode("cp1251"),
                    {"Content-Type": "text/html; charset=utf-8"},
                )
            ],
            phrase=RUSSIAN.strip(),
        ),
        Case(
            "/windows-1251-undeclared",
            [Reply(200, article(RUSSIAN).encode("cp1251"), HTML)],
            phrase=RUSSIAN.strip(),
        ),
        Case(
            "/shift-jis-header-says-latin1",
            [
                Reply(
                    200,
                    article(JAPANESE).encode("shift_jis"),
                    {"Content-Type": "text/html; charset=iso-8859-1"},
                )
            ],
            phrase=JAPANESE,
        ),
        Case(
            "/shift-jis-plain-text",
            [
                Reply(
                    200,
                    "\n".join([JAPANESE * 3, JAPANESE.replace("東京", "大阪") * 2]).encode(
                        "shift_jis"
                    ),
                    {"Content-Type": "text/plain"},
                )
            ],
            phrase=JAPANESE,
        ),
        Case(
            "/gb2312-header-says-latin1",
            [
                Reply(
                    200,
                    article(CHINESE).encode("gb2312"),
                    {"Content-Type": "text/html; charset=ISO-8859-1"},
                )
            ],
            phrase=CHINESE,
        ),
        Case(
            "/gb2312-with-gbk-characters",
            [Reply(200, article(CHINESE_GBK, meta="gb2312").encode("gbk"), HTML)],
            phrase=CHINESE_GBK,
        ),
        Case(
            "/utf-16le-bom-header-says-utf8",
            [Reply(200, utf16_text.encode("utf-16"), {"Content-Type": "text/html; charset=utf-8"})],
            phrase=RUSSIAN.strip(),
        ),
        Case(
            "/utf-16be-bom",
            [Reply(200, codecs.BOM_UTF16_BE + utf16_text.encode("utf-16-be"), HTML)],
            phrase=RUSSIAN.strip(),
        ),
        Case(
            "/utf-16le-no-bom",
            [
                Reply(
                    200,
                    utf16_text.encode("utf-16-le"),
                    {"Content-Type": "text/html; charset=utf-16"},
                )
            ],
            phrase=RUSSIAN.strip(),
        ),
    ]
