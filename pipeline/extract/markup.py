"""The page's machine-readable statements about itself: JSON-LD nodes and ``<meta>`` pairs.

Several fields are read from them (titles and authors in :mod:`pipeline.extract.metadata`, dates in
:mod:`pipeline.extract.dates`); this module only finds and decodes them, and decides nothing.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from lxml import html as lxml_html

_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "reviewnewsarticle",
    "backgroundnewsarticle",
    "blogposting",
    "liveblogposting",
    "webpage",
    "scholarlyarticle",
    "techarticle",
    "report",
    "socialmediaposting",
    "posting",
}


def article_node(nodes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The node that describes the article: the first of an article's type, where a plain
    ``WebPage`` gives way to a more specific one found later."""
    article: dict[str, Any] | None = None
    for node in nodes:
        kinds = types(node)
        if "breadcrumblist" in kinds or not kinds & _ARTICLE_TYPES:
            continue
        if article is None or "webpage" in types(article):
            article = node
    return article


def meta_pairs(tree: lxml_html.HtmlElement) -> list[tuple[str, str]]:
    """Every ``<meta>`` with content, as (lower-case name, content), in page order."""
    pairs = []
    for element in tree.iter("meta"):
        name = (
            (
                element.get("property")
                or element.get("name")
                or element.get("itemprop")
                or element.get("http-equiv")
                or ""
            )
            .strip()
            .lower()
        )
        content = text(element.get("content")) or ""
        if name and content:
            pairs.append((name, content))
    return pairs


def json_ld_nodes(tree: lxml_html.HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, ``@graph`` members and main entities included."""
    nodes: list[dict[str, Any]] = []
    for script in tree.xpath('//script[contains(translate(@type,"LDJSON","ldjson"),"ld+json")]'):
        nodes.extend(_nodes(script.text_content()))
    return nodes


def _nodes(source: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(source.strip().rstrip(";"))
    except ValueError:
        return []
    nodes: list[dict[str, Any]] = []
    stack = as_list(data)
    while stack:
        item = stack.pop(0)
        if isinstance(item, dict):
            nodes.append(item)
            stack.extend(as_list(item.get("@graph")))
            main = item.get("mainEntity")
            if isinstance(main, dict):
                stack.append(main)
    return nodes


def types(node: dict[str, Any]) -> set[str]:
    """A node's ``@type`` values, lower-cased."""
    return {kind.lower() for kind in as_list(node.get("@type")) if isinstance(kind, str)}


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def first(value: Any) -> Any:
    items = as_list(value)
    return items[0] if items else None


def text(value: Any) -> str | None:
    """A statement's text, unescaped and with its whitespace squashed; None when empty."""
    if isinstance(value, str) and value.strip():
        # Entities escaped twice in the source ("&amp;apos;") arrive once-escaped here.
        return re.sub(r"\s+", " ", html.unescape(value)).strip()
    return None


def ids(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The page's JSON-LD nodes by their ``@id``, for following references between them."""
    return {node["@id"]: node for node in nodes if isinstance(node.get("@id"), str)}


def resolved(value: Any, index: dict[str, dict[str, Any]]) -> list[Any]:
    """``value`` as a list, where a bare reference (``{"@id": ...}``, as Yoast's ``@graph``
    writes an article's author) is replaced by the node it names, when the page has it."""
    found = []
    for item in as_list(value):
        if isinstance(item, dict) and set(item) <= {"@id", "@type"} and item.get("@id") in index:
            item = index[item["@id"]]
        found.append(item)
    return found


def meta_values(tree: lxml_html.HtmlElement, *names: str) -> list[str]:
    """The values of the ``<meta>`` elements named ``names``: by the order of ``names``, then
    in page order.

    Unlike :func:`meta_pairs`, a ``value`` attribute counts where ``content`` is missing:
    some sites write ``<meta name="author" value="...">``.
    """
    wanted = [name.lower() for name in names]
    found: dict[str, list[str]] = {name: [] for name in wanted}
    for element in tree.iter("meta"):
        name = element.get("property") or element.get("name") or element.get("itemprop") or ""
        name = name.strip().lower()
        if name in found:
            value = text(element.get("content")) or text(element.get("value"))
            if value:
                found[name].append(value)
    return [value for name in wanted for value in found[name]]
