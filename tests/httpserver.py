"""A real HTTP server on 127.0.0.1 for tests, answering from a script of responses per path."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (bounded: tests keep it small)


Responder = Callable[[dict[str, str]], Reply]


@dataclass
class Hit:
    path: str
    at: float
    headers: dict[str, str]


class LocalServer:
    """Serve scripted replies; each path answers its replies in turn, repeating the last one."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply | Responder]] = {}
        self.hits: list[Hit] = []
        self._served: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with server._lock:
                    server.hits.append(Hit(self.path, time.monotonic(), dict(self.headers.items())))
                    replies = server.routes.get(path)
                    index = server._served[path]
                    server._served[path] += 1
                scripted = (
                    Reply(404, b"not found")
                    if not replies
                    else replies[min(index, len(replies) - 1)]
                )
                # A callable reply answers from the request's headers (conditional GETs).
                reply = scripted(dict(self.headers.items())) if callable(scripted) else scripted
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                headers = {"Content-Length": str(len(reply.body)), **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, *replies: Reply | Responder) -> str:
        """Script the replies for ``path``; returns its full URL."""
        with self._lock:
            self.routes[path] = list(replies)
            self._served[path] = 0
        return self.url(path)

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for hit in self.hits if hit.path.split("?")[0] == path)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
