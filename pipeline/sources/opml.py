"""Lists of feeds as operators keep them: an OPML outline, or plain URLs one a line.

Feed readers export their subscriptions as OPML; a hand-kept list is one URL a line, with
``#`` comments. Both are read as they are: no discovery, no fetching.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.errors import MalformedFeed

# How far into a file to look for the outline's root element.
_SNIFF = 2000


def feed_urls(text: str) -> list[str]:
    """The URLs of a feed list: an OPML outline's feeds, or the lines of a plain list."""
    return opml_urls(text) if "<opml" in text[:_SNIFF].lower() else url_lines(text.splitlines())


def opml_urls(text: str) -> list[str]:
    """The feed URLs (``xmlUrl``) of an OPML outline, nested groups included.

    Only http(s) URLs, each once, in the outline's order.
    """
    from lxml import etree

    # No entities and no network: an outline is a file someone sent, not a trusted one.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    root = etree.fromstring(text.encode("utf-8"), parser)
    if root is None:
        raise MalformedFeed("the file is not readable OPML")
    urls = [str(node.get("xmlUrl")).strip() for node in root.iter("outline") if node.get("xmlUrl")]
    return list(dict.fromkeys(url for url in urls if url.startswith(("http://", "https://"))))


def url_lines(lines: Iterable[str]) -> list[str]:
    """The URLs of a plain list: one a line; blank lines and ``#`` comments are skipped."""
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
