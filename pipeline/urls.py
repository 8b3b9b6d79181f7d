"""URL canonicalisation: one spelling per article, so the same story is stored once."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "at_", "_hs")
_TRACKING_NAMES = {
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "yclid",
    "igshid",
    "ocid",
    "cmpid",
    "ref_src",
    "_ga",
    "mkt_tok",
    "smid",
    "smtyp",
    "sr_share",
    "ns_mchannel",
    "ns_source",
    "ns_campaign",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def absolute_url(base: str | None, reference: str | None) -> str | None:
    """``reference`` resolved against ``base``; None when either is malformed.

    Publishers' markup is full of broken URLs (``http://[oops``, port 99999); one of them must
    cost a link, never the article.
    """
    if not reference or not reference.strip():
        return None
    if not (base or "").startswith(("http://", "https://")) and "://" not in reference:
        return None  # relative, and nothing on the web to be relative to
    try:
        joined = urljoin(base or "", reference.strip())
        urlsplit(joined).port  # noqa: B018  (raises on a malformed netloc)
    except ValueError:
        return None
    return joined


def canonicalize(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = urlencode(
        [
            (name, value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
            if not _is_tracking(name)
        ]
    )
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


# Second-level labels under which registries sell names: example.co.uk, example.com.au.
_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go"}


def site_of(url: str) -> str:
    """The registered domain of ``url``: news.example.co.uk -> example.co.uk."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""
    return _registered(host)


@lru_cache(maxsize=4096)
def _registered(host: str) -> str:
    labels = host.split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-keep:])


def choose_canonical(page_url: str | None, declared: str | None) -> str | None:
    """The page's declared canonical URL when it is plausible, else the URL it was fetched from.

    Some sites point every page's canonical link at their home page; trusting that would merge
    all their articles into one, so a declared URL with no path is ignored for a deeper page.
    A canonical URL on another site (a syndication partner, a CMS's own host) is ignored too:
    the article is stored by its own site's address, so two publishers never share a row.
    """
    if declared and page_url and not urlsplit(page_url).scheme.startswith("http"):
        declared = None  # a local file cannot vouch for a web address
    absolute = absolute_url(page_url, declared) if declared else None
    if absolute:
        parts = urlsplit(absolute)
        page_path = urlsplit(page_url).path if page_url else ""
        shallow = parts.path.strip("/") == "" and page_path.strip("/") != ""
        same_site = page_url is None or site_of(absolute) == site_of(page_url)
        if parts.scheme in _DEFAULT_PORTS and parts.hostname and not shallow and same_site:
            return canonicalize(absolute)
    return canonicalize(page_url) if page_url else None
