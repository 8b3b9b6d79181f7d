"""What can never be fetched, refused where it is given rather than in a worker later.

A command that hands items to the pipeline asks :func:`refuse_unfetchable` of each first:
a scheme newsflow does not fetch, a URL without a host, a file that is not there, or an
address the guard would refuse whatever happens. Each refusal names the item as the user
gave it and says what would work.

Only what is sure is refused here. A host *name* is not resolved: a list of ten thousand
URLs must not wait on DNS at the door, and a name can change its address before the fetch;
the worker's guard checks every connection anyway (:mod:`pipeline.fetch.netguard`).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipeline.errors import Blocked, InvalidSource
from pipeline.settings import Settings

from .netguard import allowed, is_public, private_hint

FETCHED_SCHEMES = ("http", "https")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
# Names that end like a document or an archive: "news.html" is a file, not a host.
_FILE_SUFFIXES = {
    ".html",
    ".htm",
    ".xhtml",
    ".shtml",
    ".txt",
    ".text",
    ".xml",
    ".json",
    ".warc",
    ".gz",
}
_LOCAL_NAMES = ("localhost", "localhost.localdomain")


def refuse_unfetchable(source: str, settings: Settings) -> None:
    """Raise :class:`InvalidSource` or :class:`Blocked` when ``source`` (a URL or a path)
    can never be fetched with ``settings``; return quietly otherwise."""
    text = source.strip()
    if not text:
        raise InvalidSource("an empty item: give a URL (https://...) or a file's path")
    if "://" not in text:
        other = _SCHEME.match(text)
        if other and len(other.group(1)) > 1 and not Path(text).exists():
            # javascript:, mailto:, data: (one letter would be a Windows drive, C:\...).
            raise InvalidSource(
                f"{source}: newsflow fetches http:// and https:// URLs and local files, "
                f"not {other.group(1).lower()}: links"
            )
        _refuse_missing_file(text)
        return
    scheme = text.split("://", 1)[0].lower()
    if scheme == "file":
        _refuse_missing_file(unquote(urlsplit(text).path))
        return
    if scheme not in FETCHED_SCHEMES:
        raise InvalidSource(
            f"{source}: newsflow fetches http:// and https:// URLs and local files, not {scheme}://"
        )
    try:
        parts = urlsplit(text)
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as error:
        raise InvalidSource(f"{source}: not a valid URL ({error})") from None
    host = (parts.hostname or "").lower()
    if not host or any(character.isspace() for character in parts.netloc):
        raise InvalidSource(
            f"{source}: not a valid URL (no host, or a space in it); write https://host/path"
        )
    _refuse_private_literal(source, host, port, settings)


def _refuse_missing_file(path: str) -> None:
    if Path(path).expanduser().exists():
        return
    first = path.split("/", 1)[0]
    looks_like_host = "." in first and not first.startswith(".")
    # "news.html" is a missing file, not a site; "example.com/a.html" is a URL sans scheme.
    if "/" not in path and Path(first).suffix.lower() in _FILE_SUFFIXES:
        looks_like_host = False
    if looks_like_host and not Path(first).exists():
        # "example.com/story.html": a URL missing its scheme, most likely.
        raise InvalidSource(f"{path}: no such file; for a web page, write https://{path}")
    raise InvalidSource(f"{path}: no such file or folder")


def _refuse_private_literal(source: str, host: str, port: int, settings: Settings) -> None:
    """Blocked for an address (or ``localhost``) the guard refuses, unless it is allowed."""
    if allowed(host, port, settings):
        return
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        raise Blocked(f"{source}: {host} is this machine; {private_hint(host, port)}")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return  # a name: resolved, and judged, when it is fetched
    if not is_public(address):
        raise Blocked(
            f"{source}: {address} is a private, loopback, link-local or metadata address; "
            f"{private_hint(host, port)}"
        )
