"""Bad input through a real worker: each malformed page gives its article or a recorded reason.

One worker takes the whole table in turn, as a production worker would meet these pages among
good ones: binaries served as HTML, decompression bombs, sizes over the cap, truncated and
stacked compression, documents nested to break parsers, megabyte lines, lying charsets. For
each the test knows the outcome: a stored article holding a given phrase (in its own script,
for the charsets), or a failure row with the exact reason. Afterwards the worker must still be
alive, answer a ping and store a good page.

Real files from ``../shared/corpus/tricky`` (``tricky_files.py``) join the table where the
corpus is present; the generated inputs (``bad_inputs.py``) run everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
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
from tests.e2e.bad_inputs import HTML, SENTENCE, article, generated_cases
from tests.e2e.tricky_files import corpus_cases
from tests.httpserver import LocalServer, Reply

# Small enough that the over-the-cap inputs are quick to send, large enough for the
# megabyte-line pages that must still come through.
MAX_BYTES = 5_000_000


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
