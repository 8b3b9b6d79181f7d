"""Bad input through a real worker: each malformed page gives its article or a recorded reason.

One worker takes the whole table in turn, as a production worker would meet these pages among
good ones: binaries served as HTML, decompression bombs, sizes over the cap, truncated and
stacked compression, documents nested to break parsers, megabyte lines, lying charsets. For
each the test knows the outcome: a stored article holding a given phrase (in its own script,
for the charsets), or a failure row with the exact reason. Afterwards the worker must still be
alive, answer a ping and store a good page.

Real files from ``../shared/corpus/tricky`` join the table where the corpus is present; the
generated inputs run everywhere.
"""

from __future__ import annotations

import codecs
import gzip
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.failures import list_failures
from pipeline.store.tables import ArticleRow, Failure, RawPage
from tests.conftest import CORPUS, ROOT, skip_or_fail, wait_until
from tests.httpserver import LocalServer, Reply

# Small enough that the over-the-cap inputs are quick to send, large enough for the
# megabyte-line pages that must still come through.
MAX_BYTES = 5_000_000
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


def corpus_cases(corpus: Path) -> list[Case]:
    tricky = corpus / "tricky"

    def read(name: str) -> bytes:
        return (tricky / name).read_bytes()

    def served(name: str, headers: dict[str, str] | None = None) -> list[Reply]:
        return [Reply(200, read(name), HTML if headers is None else headers)]

    compressed = "scrapy-compressed/"
    charset = "real-charset/"
    return [
        Case(
            "/corpus/pdf", served("binary-as-html/encrypted.pdf.html"), reason="unsupported_content"
        ),
        Case(
            "/corpus/word97", served("binary-as-html/word97.doc.html"), reason="unsupported_content"
        ),
        Case(
            "/corpus/gif",
            served("binary-as-html/nutch_logo_tm.gif.html"),
            reason="unsupported_content",
        ),
        Case("/corpus/zip", served("binary-as-html/test.zip.html"), reason="unsupported_content"),
        Case(
            "/corpus/webpage-html-gz",
            served("odd/webpage.html.gz"),
            phrase="Long story short, Manchin could switch parties",
        ),
        Case(
            "/corpus/bomb-deflate",
            served(compressed + "bomb-deflate.bin", {**HTML, "Content-Encoding": "deflate"}),
            reason="too_large",
        ),
        Case(
            "/corpus/bomb-br",
            served(compressed + "bomb-br.bin", {**HTML, "Content-Encoding": "br"}),
            reason="too_large",
        ),
        Case(
            "/corpus/gzip-deflate-gzip",
            served(
                compressed + "html-gzip-deflate-gzip.bin",
                {**HTML, "Content-Encoding": "gzip, deflate, gzip"},
            ),
            phrase="Dies sind (leicht modifiziert und erweitert) Tabellen",
        ),
        Case(
            "/corpus/zstd",
            served(
                compressed + "html-zstd-streaming-no-content-size.bin",
                {**HTML, "Content-Encoding": "zstd"},
            ),
            phrase="Dies sind (leicht modifiziert und erweitert) Tabellen",
        ),
        Case(
            "/corpus/gzip-crc-error",
            served(compressed + "truncated-crc-error.gz", {**HTML, "Content-Encoding": "gzip"}),
            phrase="Royal Albert Hall",
        ),
        # Scrapy decodes this one with the cp1252 its test declares; the page is GBK Chinese.
        Case(
            "/corpus/gzip-eof-header-says-cp1252",
            served(compressed + "unexpected-eof.gz", {"Content-Type": "text/html; charset=cp1252"}),
            phrase="天运大陆，赤云国皇宫之中",
        ),
        Case(
            "/corpus/guardian-cut-in-head",
            served("truncated-derived/TheGuardian_0.cut-in-head.html"),
            reason="empty_document",
            stage="clean",
        ),
        Case(
            "/corpus/guardian-cut-in-script",
            served("truncated-derived/TheGuardian_0.cut-in-script.html"),
            reason="empty_document",
            stage="clean",
        ),
        Case(
            "/corpus/not-an-article",
            served("odd/utf8.html"),
            reason="empty_document",
            stage="clean",
        ),
        Case(
            "/corpus/says-gb2312-is-utf8",
            served(
                charset + "charset-declared-wrong/test__test-pages__qq__source.html",
                {"Content-Type": "text/html; charset=gb2312"},
            ),
            phrase="谷歌(微博) 在2014年收购的人工智能公司DeepMind",
        ),
        Case(
            "/corpus/says-shift-jis-is-utf8",
            served(charset + "charset-declared-wrong/fixtures__jvndb.jvn.jp.html"),
            phrase="証明書・パスワードの管理に関する脆弱性",
        ),
        Case(
            "/corpus/gb2312-header-says-latin1",
            served(
                charset + "legacy-charset/tests__eval__archive.org.he.xinhuanet.com.25340717.html",
                {"Content-Type": "text/html; charset=iso-8859-1"},
            ),
            phrase="话剧《约定无期限》",
        ),
        Case(
            "/corpus/windows-1250",
            served(
                charset
                + "legacy-charset/tests__eval__Unijne_fundusze_coraz_bli_ej._Sejm_zag_osowa__za__-_Polityka_-_rp.pl.html"
            ),
            phrase="Nie ma miejsca na kłótnie.",
        ),
        Case(
            "/corpus/utf8-with-latin1-bytes",
            served(
                charset
                + "declared-utf8-invalid-bytes/tests__eval__der-erfolg-gibt-recht.de.rinderleber.html"
            ),
            phrase="So schön winterlich ist es wie schon lange nicht mehr.",
        ),
        Case(
            "/corpus/euc-kr-plain-text",
            served("chardet/EUC-KR/_ude_euc2.txt", {"Content-Type": "text/plain"}),
            phrase="북조선 사람들은 흔히 자국을 조선(朝鮮)이나 공화국(共和國)이라고 부른다.",
        ),
    ]


class _Endless(BaseHTTPRequestHandler):
    """A chunked body with no Content-Length that never ends: only the size cap stops it."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path != "/chunked-endless":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"<p>" + SENTENCE.encode() * 800 + b"</p>"
        framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        try:
            for _ in range(10_000):  # a bound for the test's sake: 640 MB, never reached
                self.wfile.write(framed)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def endless_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


def _corpus_or_none() -> Path | None:
    """The shared corpus, or None outside CI where it is missing (CI must have it)."""
    if CORPUS.is_dir():
        return CORPUS
    if os.environ.get("CI", "").lower() == "true":
        skip_or_fail(f"the shared corpus is not at {CORPUS}")
    return None


def _ingest(urls: list[str], environment: dict[str, str], timeout: float) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "workers.cli", "ingest", *urls, "--wait", "--timeout", str(timeout)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout + 60,
    )
    return result.stdout + result.stderr


def _outcomes(settings: Settings) -> tuple[dict[str, ArticleRow], dict[str, Failure]]:
    """Stored articles and open failures, each by the source it was ingested from."""
    with session_scope(settings) as session:
        sources = {page.id: page.source for page in session.exec(select(RawPage))}
        articles = {
            sources[row.raw_page_id]: row
            for row in session.exec(select(ArticleRow))
            if row.raw_page_id is not None
        }
        failures = {
            (row.item if row.stage == "fetch" else sources[row.raw_page_id or -1]): row
            for row in list_failures(session)
        }
        for row in [*articles.values(), *failures.values()]:
            session.expunge(row)
    return articles, failures


def test_every_bad_input_gives_its_article_or_reason_and_the_worker_lives_on(
    http_server: LocalServer,
    endless_server: str,
    start_worker: Any,
    settings: Settings,
    celery_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corpus = _corpus_or_none()
    cases = generated_cases() + (corpus_cases(corpus) if corpus else [])
    assert len({case.path for case in cases}) == len(cases) >= 28
    http_server.route("/redirect-loop-2", Reply(302, b"", {"Location": "/redirect-loop"}))
    urls = {}
    for case in cases:
        urls[case.path] = (
            f"{endless_server}{case.path}"
            if case.streamed
            else http_server.route(case.path, *case.replies)
        )
    limits = {
        "NEWSFLOW_MAX_BYTES": str(MAX_BYTES),
        "NEWSFLOW_MAX_RETRIES": "0",  # transient failures are recorded at once
        "NEWSFLOW_READ_TIMEOUT": "1",
        "NEWSFLOW_TOTAL_TIMEOUT": "5",
    }
    for name, value in limits.items():
        monkeypatch.setenv(name, value)
    worker = start_worker()

    output = _ingest(list(urls.values()), dict(os.environ), timeout=120)

    articles, failures = _outcomes(settings)
    wrong = []
    for case in cases:
        url = urls[case.path]
        stored, failure = articles.get(url), failures.get(url)
        if case.phrase is not None:
            if stored is None or case.phrase not in stored.body:
                got = (
                    f"failure {failure.reason}: {failure.message}"
                    if failure
                    else stored and stored.body[:200]
                )
                wrong.append(f"{case.path}: expected an article with {case.phrase!r}, got {got!r}")
            elif "\x00" in stored.body or "\ufffd\ufffd\ufffd" in stored.body:
                wrong.append(f"{case.path}: the body holds NUL bytes or runs of U+FFFD")
        elif failure is None or (failure.stage, failure.reason) != (case.stage, case.reason):
            got = (
                f"{failure.stage}/{failure.reason}: {failure.message}"
                if failure
                else f"article {stored is not None}"
            )
            wrong.append(f"{case.path}: expected {case.stage}/{case.reason}, got {got}")
    assert not wrong, "\n".join(wrong) + "\n\n" + output[-3000:]
    assert not any("internal_error" in row.reason for row in failures.values())

    # Still alive, still answering, still storing.
    assert worker.alive(), worker.log()[-3000:]
    # Nor did any pool process die on the way (billiard replaces them silently otherwise).
    assert "WorkerLostError" not in worker.log() and "exited with" not in worker.log()
    assert celery_app.control.ping(timeout=2.0)
    good = http_server.route(
        "/good-after-all", Reply(200, article("A good page after the bad ones. ").encode(), HTML)
    )
    after = _ingest([good], dict(os.environ), timeout=60)
    assert wait_until(lambda: good in _outcomes(settings)[0], timeout=5), after
    assert "A good page after the bad ones." in _outcomes(settings)[0][good].body
    assert worker.alive()
