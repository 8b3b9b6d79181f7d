"""The network guard: only the public web, unless an operator allows more."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import trustme
from typer.testing import CliRunner

from pipeline.errors import Blocked
from pipeline.fetch.download import fetch, make_client
from pipeline.fetch.netguard import check_url
from pipeline.settings import Settings, get_settings
from pipeline.store.db import session_scope
from pipeline.store.failures import list_failures
from tests.conftest import free_port
from tests.httpserver import LocalServer, Reply
from workers.cli import app


def guarded(settings: Settings, allowed: str = "") -> Settings:
    return settings.model_copy(update={"allow_private_networks": False, "allowed_hosts": allowed})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/feed",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://172.16.3.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://0.0.0.0/",
        "ftp://example.org/file",
        "file:///etc/passwd",
        "gopher://example.org/",
    ],
)
def test_private_metadata_and_non_web_addresses_are_refused(settings: Settings, url: str) -> None:
    with pytest.raises(Blocked):
        check_url(url, guarded(settings))


def test_public_addresses_and_allowed_hosts_pass(settings: Settings) -> None:
    check_url("http://8.8.8.8/news", guarded(settings))
    check_url("https://[2606:4700:4700::1111]/", guarded(settings))
    check_url("http://127.0.0.1:8080/feed", guarded(settings, "127.0.0.1:8080"))
    with pytest.raises(Blocked):
        check_url("http://127.0.0.1:8081/feed", guarded(settings, "127.0.0.1:8080"))


def test_a_redirect_to_a_private_or_metadata_address_is_refused(
    http_server: LocalServer, settings: Settings
) -> None:
    host = http_server.base_url.removeprefix("http://")
    own = guarded(settings, host)  # an intranet feed host the operator allowed
    inward = http_server.route(
        "/inward", Reply(302, b"", {"Location": f"http://127.0.0.1:{free_port()}/admin"})
    )
    metadata = http_server.route(
        "/meta", Reply(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})
    )
    fine = http_server.route(
        "/fine", Reply(200, b"<p>hello there</p>", {"Content-Type": "text/html"})
    )
    assert fetch(fine, own).status_code == 200
    with pytest.raises(Blocked, match=r"169\.254\.169\.254"):
        fetch(metadata, own)
    with pytest.raises(Blocked, match=r"127\.0\.0\.1"):
        fetch(inward, own)
    assert http_server.count("/meta") == 1 and http_server.count("/inward") == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::]/",
        "http://[::127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://127.1/",
    ],
)
def test_ipv6_and_numeric_spellings_of_private_addresses_are_refused(
    settings: Settings, url: str
) -> None:
    with pytest.raises(Blocked):
        check_url(url, guarded(settings))


class Rebinding:
    """A resolver whose answer for ``name`` changes: ``first`` once, then ``then``. Names it
    does not own, and address literals, go to the system's resolver."""

    def __init__(self, name: str, first: str, then: str) -> None:
        self.name, self.first, self.then = name, first, then
        self.lookups = 0
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != self.name:
            return self.real(host, port, *args, **kwargs)
        self.lookups += 1
        address = self.first if self.lookups == 1 else self.then
        return self.real(address, port, *args, **kwargs)


def test_a_name_whose_answer_changes_after_vetting_gets_no_request_through(
    http_server: LocalServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the vetting lookup says public; the connection's own lookup says
    127.0.0.1. Nothing is sent there, and the item is recorded as blocked."""
    resolver = Rebinding("rebind.test", "93.184.216.34", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setenv("NEWSFLOW_ALLOW_PRIVATE_NETWORKS", "false")
    get_settings.cache_clear()
    page = http_server.route(
        "/admin", Reply(200, b"<p>the router's admin page</p>", {"Content-Type": "text/html"})
    )
    url = page.replace("127.0.0.1", "rebind.test")

    result = CliRunner().invoke(app, ["ingest", "--local", url], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert http_server.count("/admin") == 0, "a request reached the private address"
    assert http_server.count("/robots.txt") == 0
    with session_scope(settings) as session:
        failures = list_failures(session)
    assert [(f.stage, f.item, f.reason) for f in failures] == [("fetch", url, "blocked")]
    assert "resolves to 127.0.0.1 as it is connected to" in failures[0].message
    assert resolver.lookups == 2  # once to vet the URL, once as the connection is made


@pytest.fixture(scope="module")
def authority() -> Any:
    return trustme.CA()


@contextmanager
def _tls_server(authority: Any, name: str) -> Iterator[tuple[int, list[str]]]:
    """An HTTPS server on 127.0.0.1 with a certificate for ``name``, signed by ``authority``;
    yields its port and the Host headers it received."""
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers.get("Host", ""))
            body = b"<html><body><p>Served over TLS to the right name.</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(name).configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hosts
    finally:
        server.shutdown()
        server.server_close()


def test_https_to_a_vetted_address_still_checks_the_certificate_of_the_name(
    authority: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The socket goes to the address vetted at connect time; TLS still speaks to the name:
    the server name sent, and the certificate checked, are the URL's."""
    monkeypatch.setattr(socket, "getaddrinfo", Rebinding("news.test", "127.0.0.1", "127.0.0.1"))
    context = ssl.create_default_context()
    authority.configure_trust(context)
    own = guarded(settings, "news.test,impostor.test")
    with _tls_server(authority, "news.test") as (port, hosts):
        with make_client(own, verify=context) as client:
            response = client.get(f"https://news.test:{port}/story")
        assert response.status_code == 200 and "right name" in response.text
        assert hosts == [f"news.test:{port}"]
    monkeypatch.setattr(socket, "getaddrinfo", Rebinding("impostor.test", "127.0.0.1", "127.0.0.1"))
    with _tls_server(authority, "news.test") as (port, hosts):
        with make_client(own, verify=context) as client, pytest.raises(httpx.ConnectError):
            client.get(f"https://impostor.test:{port}/story")
        assert hosts == []
