"""Which addresses newsflow may fetch from: the public web, unless told otherwise.

A feed is someone else's document; a link or a redirect in it must not turn the fetcher
against the network it runs in (a router's admin page, a cloud's metadata service at
169.254.169.254). Every request, redirects included, is checked here before it is sent, and
every connection again as it is made (:class:`GuardedBackend`).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from pipeline.errors import Blocked, ConnectionFailed
from pipeline.settings import Settings

# Cloud metadata services answer on link-local (blocked as such) and on these too.
_METADATA = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}


def check_url(url: str, settings: Settings) -> None:
    """Raise :class:`Blocked` unless ``url`` is http(s) on a public address (or allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise Blocked(f"{url}: only http and https are fetched")
    host = (parts.hostname or "").lower()
    if not host:
        raise Blocked(f"{url}: no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if allowed(host, port, settings):
        return
    for address in resolve(host, port):
        if not is_public(address):
            raise Blocked(
                f"{url}: {host} resolves to {address}, a private, loopback, link-local or "
                f"metadata address; {private_hint(host, port)}"
            )


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting only to an address it has just vetted.

    :func:`check_url` vets a name before the request; but a connection that resolved the name
    again could land elsewhere, should the name's answer change in between (DNS rebinding),
    and the request would be sent before anyone could look. Here the name is resolved once,
    every address it gives is vetted, and the socket connects to those addresses only. The
    URL keeps the name, so the Host header, the TLS server name and the certificate check
    are still the name's.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve(host, port)
        if not allowed(host, port, self.settings):
            for address in addresses:
                if not is_public(address):
                    raise Blocked(
                        f"{host} resolves to {address} as it is connected to, a private, "
                        "loopback, link-local or metadata address; nothing was sent"
                    )
        failed: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failed = error  # the next address may answer, as socket.create_connection does
        raise failed or httpcore.ConnectError(f"{host} has no address")


def guarded_transport(settings: Settings, *, verify: ssl.SSLContext | bool = True) -> Any:
    """httpx's transport with :class:`GuardedBackend` under it. Proxies from the environment
    are not used: a proxy would connect where it liked, out of the guard's sight."""
    # One context for both: loading the certificate store is the costliest part of a client.
    # SSL_CERT_FILE and SSL_CERT_DIR still name the certificates to trust.
    context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
    transport = httpx.HTTPTransport(verify=context)
    transport._pool = httpcore.ConnectionPool(  # httpx builds its pool with no backend option
        ssl_context=context,
        # httpx's own default limits, which httpcore's pool does not share.
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=GuardedBackend(settings),
    )
    return transport


def private_hint(host: str, port: int) -> str:
    """What to set to fetch from ``host`` on a private address, and where: the workers read
    their settings when they start, so the command's own environment is not enough."""
    named = f"[{host}]" if ":" in host else host  # an IPv6 address, as a URL writes it
    return (
        f"to fetch from it, set NEWSFLOW_ALLOWED_HOSTS={named}:{port} (or "
        "NEWSFLOW_ALLOW_PRIVATE_NETWORKS=true) for this command and for the workers, and "
        "restart the workers"
    )


def allowed(host: str, port: int, settings: Settings) -> bool:
    """True where the operator lets private addresses through: everywhere, or for this host."""
    host = host.lower().strip("[]")
    allowed_hosts = settings.allowed_host_set
    return (
        settings.allow_private_networks
        or host in allowed_hosts
        or f"[{host}]" in allowed_hosts
        or f"{host}:{port}" in allowed_hosts
        or f"[{host}]:{port}" in allowed_hosts
    )


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise ConnectionFailed(f"cannot resolve {host}: {error}") from error
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address reach that address: judge it instead.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in _NAT64 or address in _IPV4_COMPATIBLE):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast and address not in _METADATA
