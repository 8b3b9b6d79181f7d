"""The clean stage: the article's own text, without the page around it.

HTML goes through trafilatura, the best-measured main-text extractor we know; captions,
breadcrumbs and related-story links are read from the page beside it and kept apart. Plain text
goes through :mod:`pipeline.clean.plaintext`.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from pipeline.clean.body import link_texts, refine
from pipeline.clean.plaintext import clean_text
from pipeline.errors import EmptyDocument, TooDeep, TooLarge
from pipeline.extract.agencies import agencies_in_text
from pipeline.extract.metadata import read_metadata
from pipeline.models import CleanedDocument, Image, Link
from pipeline.urls import absolute_url
from pipeline.words import word_count

_MAX_RELATED = 20
_MAX_IMAGES = 30
# The deepest of the 241 real pages in our corpus nests 51 elements. libxml2 silently drops
# whatever lies deeper than 256 levels, so a page past this cap would come out with parts
# missing; such nesting is a page built to break parsers.
_MAX_DEPTH = 200
# Extraction takes about 0.1 ms per element (trafilatura walks the tree many times), so this
# keeps a page to seconds; the largest real page in our corpus has 2,400 elements.
_MAX_ELEMENTS = 100_000
_CREDIT_IN_CAPTION = re.compile(
    r"\s*[(\[|/–—-]?\s*(?:photo|photograph|image|picture|credit|foto)s?\s*(?:credit)?\s*(?::|by)"
    r"\s*(?P<credit>[^()\[\]|]{2,80}?)\s*[)\]]?\s*$",
    re.I,
)


def clean(
    text: str,
    kind: Literal["html", "text"],
    *,
    url: str | None = None,
    page_id: int | None = None,
) -> CleanedDocument:
    """Remove everything that is not the article from a decoded page."""
    if not text.strip():
        raise EmptyDocument(f"{url or 'the document'} has no content")
    if kind == "text":
        return clean_text(text, url=url, page_id=page_id)
    return clean_html(text, url=url, page_id=page_id)


def parse_html(text: str) -> lxml_html.HtmlElement:
    """Parse a page the way trafilatura does, or fail with a clear reason.

    Pages nested too deep (:class:`TooDeep`) or with too many elements (:class:`TooLarge`)
    are refused here, before any of the recursive or per-element work that follows.
    """
    tree = trafilatura.load_html(text)
    if tree is None:
        # trafilatura refuses what neither begins like HTML nor parses into two elements or
        # more; a fragment served as a page (one <div> and what is inside) is still a page.
        tree = trafilatura.load_html(f"<html><body>{text}</body></html>")
    if tree is None:
        raise EmptyDocument("the page could not be parsed as HTML")
    _check_shape(tree)
    return tree


def _check_shape(tree: lxml_html.HtmlElement) -> None:
    # A walk with a counter, not recursion: the point is to survive any depth.
    depth = elements = 0
    for event, _ in etree.iterwalk(tree, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        elements += 1
        if depth > _MAX_DEPTH:
            raise TooDeep(f"the page nests elements more than {_MAX_DEPTH} deep")
        if elements > _MAX_ELEMENTS:
            raise TooLarge(f"the page has more than {_MAX_ELEMENTS} elements")


def clean_html(text: str, *, url: str | None = None, page_id: int | None = None) -> CleanedDocument:
    """One parse of the page: its statements about itself, its figures and links, and then
    (the extractor prunes the tree, so last) its main text."""
    tree = parse_html(text)
    base = web_address(tree, url)
    page = read_metadata(tree, base)
    images = _figures(tree, base)
    marked = _marked(tree, ("related", "breadcrumb"))
    related = _related_links(marked["related"], base)
    breadcrumbs = _breadcrumbs(marked["breadcrumb"])
    captions = [image.caption for image in images if image.caption]
    found = main_text(tree, base, html=text, headlines=page.headlines, captions=captions)
    return CleanedDocument(
        page_id=page_id,
        url=url,
        kind="html",
        agencies=found.agencies,
        paragraphs=found.paragraphs,
        images=images,
        related=related,
        breadcrumbs=breadcrumbs,
        page=page,
    )


def web_address(tree: lxml_html.HtmlElement, url: str | None) -> str | None:
    """The page's address on the web, to resolve its relative links against.

    A page read from a file says where it lives in its canonical link; resolving its links
    against ``file://`` would only make addresses that lead nowhere.
    """
    if url and url.startswith(("http://", "https://")):
        return url
    declared = tree.xpath('//link[@rel="canonical"]/@href | //meta[@property="og:url"]/@content')
    for candidate in declared:
        if str(candidate).strip().startswith(("http://", "https://")):
            return str(candidate).strip()
    return None


class MainText(NamedTuple):
    paragraphs: tuple[str, ...]
    agencies: tuple[str, ...] = ()


def main_text(
    tree: lxml_html.HtmlElement,
    url: str | None,
    *,
    html: str | None = None,
    headlines: list[str] | tuple[str, ...] = (),
    captions: list[str] | tuple[str, ...] = (),
) -> MainText:
    """The article's paragraphs: trafilatura's main text, refined by :mod:`pipeline.clean.body`;
    and the agencies its dateline or credit lines name, read before those lines are refined
    away ("© 2025 The Associated Press. All rights reserved." is a credit, not the story).

    trafilatura runs in its fast mode, which on almost every page finds the same text as its
    full mode (a second pass through readability and jusText) in about half the time. When
    the fast result looks unsure (nothing, or mostly menu-sized lines) and the page's
    ``html`` is at hand, the full mode gives a second opinion.

    The tree is pruned in the process: read everything else from it first.
    """
    if not _has_text(tree):
        return MainText(())  # only markup: nothing for either mode to find, however long
    links = link_texts(tree, url)
    text = _extract_text(_without_hidden(tree), url, fast=True)
    if html is not None and _unsure(text):
        text = _extract_text(_without_hidden(parse_html(html)), url, fast=False)
    paragraphs = refine(text.split("\n"), links=links, headlines=headlines, captions=captions)
    return MainText(tuple(paragraphs), tuple(agencies_in_text(text)))


def _extract_text(tree: lxml_html.HtmlElement, url: str | None, *, fast: bool) -> str:
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=fast,
        include_comments=False,
        include_tables=True,
        with_metadata=False,
    )
    return getattr(document, "text", None) or ""


def _unsure(text: str) -> bool:
    """Too little text, or a long run of menu-sized lines rather than paragraphs."""
    lines = [line for line in text.split("\n") if line.strip()]
    if len(text) < 250:
        return True
    short = sum(1 for line in lines if word_count(line) <= 3)
    return len(lines) >= 30 and short / len(lines) > 0.6


def _has_text(tree: lxml_html.HtmlElement) -> bool:
    return bool(
        tree.xpath(
            # Not //body: a fragment parses into a lone <div>.
            "boolean(//text()[normalize-space()]"
            "[not(ancestor::head or ancestor::script or ancestor::style or ancestor::template)])"
        )
    )


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none", re.I)


def _without_hidden(tree: lxml_html.HtmlElement) -> lxml_html.HtmlElement:
    """Drop what the page never shows (hover cards, screen-reader copies, hidden metadata)."""
    for element in tree.xpath("//*[@hidden or @aria-hidden or @style]"):
        hidden = (
            element.get("hidden") is not None
            or element.get("aria-hidden") == "true"
            or _HIDDEN_STYLE.search(element.get("style") or "")
        )
        # Long hidden passages are often shown later (a "read more" fold, an animation).
        if (
            hidden
            and element.getparent() is not None
            and element.tag not in {"html", "body"}
            and word_count(element.text_content()) <= 40
        ):
            element.drop_tree()
    return tree


def _marked(
    tree: lxml_html.HtmlElement, words: tuple[str, ...]
) -> dict[str, list[lxml_html.HtmlElement]]:
    """Elements whose class or id names contain each word, found in one pass over the page."""
    found: dict[str, list[lxml_html.HtmlElement]] = {word: [] for word in words}
    for element in tree.xpath("//*[@class or @id]"):
        names = f"{element.get('class', '')} {element.get('id', '')}".lower()
        for word in words:
            if word in names:
                found[word].append(element)
    return found


def _figures(tree: lxml_html.HtmlElement, url: str | None) -> tuple[Image, ...]:
    images: list[Image] = []
    scope = tree.xpath("//article") or tree.xpath("//main") or [tree]
    for figure in scope[0].iter("figure"):
        source = _image_source(figure)
        caption_nodes = figure.xpath(".//figcaption")
        caption = _squash(caption_nodes[0].text_content()) if caption_nodes else None
        credit = None
        credit_nodes = figure.xpath(
            './/*[contains(@class,"credit") or contains(@class,"copyright")]'
        )
        if credit_nodes:
            credit = _squash(credit_nodes[0].text_content()) or None
            if caption and credit and caption.endswith(credit):
                caption = caption[: -len(credit)].strip() or None
        if caption and not credit:
            match = _CREDIT_IN_CAPTION.search(caption)
            if match:
                credit = match.group("credit").strip()
                caption = caption[: match.start()].strip() or None
        if source or caption:
            images.append(Image(url=absolute_url(url, source), caption=caption, credit=credit))
        if len(images) >= _MAX_IMAGES:
            break
    return tuple(dict.fromkeys(images))


def _image_source(figure: lxml_html.HtmlElement) -> str | None:
    # Lazy-loading pages leave src empty (or a placeholder) and put the real one elsewhere.
    candidates = figure.xpath(
        ".//img/@data-src | .//img/@data-original | .//img/@data-lazy-src | .//img/@src"
        " | .//source/@srcset | .//img/@srcset"
    )
    for candidate in candidates:
        words = candidate.split()
        if words and not words[0].startswith("data:"):
            return str(words[0])
    return None


def _related_links(containers: list[lxml_html.HtmlElement], url: str | None) -> tuple[Link, ...]:
    links: list[Link] = []
    anchors = (anchor for container in containers for anchor in container.iter("a"))
    for anchor in anchors:
        if not anchor.get("href"):
            continue
        title = _squash(anchor.text_content())
        if len(title.split()) < 3:
            continue
        links.append(Link(title=title, url=absolute_url(url, anchor.get("href"))))
        if len(links) >= _MAX_RELATED:
            break
    return tuple(dict.fromkeys(links))


def _breadcrumbs(containers: list[lxml_html.HtmlElement]) -> tuple[str, ...]:
    for container in containers:
        names = [_squash(node.text_content()) for node in container.xpath(".//a | .//li[not(a)]")]
        names = [name for name in names if name and len(name) < 60]
        if names:
            return tuple(dict.fromkeys(names))
    return ()


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
