"""Which addresses newsflow may fetch from: the public web, unless told otherwise.

A feed is someone else's document; a link or a redirect in it must not turn the fetcher
against the network it runs in (a router's admin page, a cloud's metadata service at
169.254.169.254). Every request, redirects included, is checked here before it is sent.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

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
    if settings.allow_private_networks:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host in settings.allowed_host_set or f"{host}:{port}" in settings.allowed_host_set:
        return
    for address in resolve(host, port):
        if not is_public(address):
            raise Blocked(
                f"{url}: {host} resolves to {address}, a private, loopback, link-local or "
                "metadata address (set NEWSFLOW_ALLOW_PRIVATE_NETWORKS or "
                "NEWSFLOW_ALLOWED_HOSTS to fetch from it)"
            )


def check_peer(url: str, peer: str | None, settings: Settings) -> None:
    """Raise :class:`Blocked` if the address a request actually connected to is not public.

    The name was vetted before the request, but the connection resolves it again; a name
    whose answer changed in between (DNS rebinding) is caught here, before the body is read.
    """
    if peer is None or settings.allow_private_networks:
        return
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host in settings.allowed_host_set or f"{host}:{port}" in settings.allowed_host_set:
        return
    address = ipaddress.ip_address(peer.split("%")[0])
    if not is_public(address):
        raise Blocked(f"{url}: connected to {address}, a private address, though {host} was vetted")


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
