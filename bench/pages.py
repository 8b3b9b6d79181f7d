"""The benchmark's pages: the article-body corpus served over HTTP from this process.

Each copy of a page gets its own path, so every item of a run is a real download of its own,
and the server speaks keep-alive HTTP/1.1 as a real site would.
"""

from __future__ import annotations

import gzip
import http.server
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAGES_SUBDIR = Path("article-body-dev") / "html"


@dataclass(frozen=True)
class Page:
    """One copy of a corpus page: the path it is served under, and what the server sends."""

    path: str
    body: bytes
    content_type: str


def load_pages(corpus: Path, count: int) -> list[Page]:
    """``count`` pages, cycling through the corpus, each copy under its own URL path."""
    folder = corpus / PAGES_SUBDIR
    if not folder.is_dir():
        sys.exit(
            f"bench: corpus folder {folder} not found; "
            "pass --corpus DIR (the folder that holds article-body-dev/)"
        )
    files = sorted(folder.glob("*.html.gz"))
    if not files:
        sys.exit(f"bench: no *.html.gz pages in {folder}")
    originals: list[tuple[str, bytes, str]] = []
    for file in files:
        body = gzip.decompress(file.read_bytes())
        key = file.name.removesuffix(".html.gz")
        originals.append((key, body, _content_type(body)))
    pages = []
    for index in range(count):
        key, body, content_type = originals[index % len(originals)]
        pages.append(Page(f"/p/{index}/{key}.html", body, content_type))
    return pages


def _content_type(body: bytes) -> str:
    # Say UTF-8 only when the bytes are UTF-8; otherwise let the pipeline sniff the charset.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "text/html"
    return "text/html; charset=utf-8"


@contextmanager
def serve(pages: list[Page]) -> Iterator[str]:
    """Serve ``pages`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    by_path = {page.path: page for page in pages}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real site would offer

        def do_GET(self) -> None:
            page = by_path.get(self.path)
            if page is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bench-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
