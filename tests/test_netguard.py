"""The network guard: only the public web, unless an operator allows more."""

from __future__ import annotations

import pytest

from pipeline.errors import Blocked
from pipeline.fetch.download import fetch
from pipeline.fetch.netguard import check_url
from pipeline.settings import Settings
from tests.conftest import free_port
from tests.httpserver import LocalServer, Reply


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


def test_a_name_that_resolves_elsewhere_at_connect_time_is_caught(
    http_server: LocalServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the vetting lookup says public, the connection lands on 127.0.0.1."""
    import ipaddress

    from pipeline.fetch import netguard

    monkeypatch.setattr(
        netguard, "resolve", lambda host, port: [ipaddress.ip_address("93.184.216.34")]
    )
    url = http_server.route(
        "/admin", Reply(200, b"<p>the router's admin page</p>", {"Content-Type": "text/html"})
    )
    with pytest.raises(Blocked, match="connected to 127"):
        fetch(url.replace("127.0.0.1", "localhost"), guarded(settings))
