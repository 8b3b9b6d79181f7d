"""The clean stage: the article's own text, without the page around it.

HTML goes through trafilatura, the best-measured main-text extractor we know; captions,
breadcrumbs and related-story links are read from the page beside it and kept apart. Plain text
goes through :mod:`pipeline.plaintext`.
"""

from __future__ import annotations

import re
from typing import Literal

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from .body import link_texts, refine
from .errors import EmptyDocument
from .models import CleanedDocument, Image, Link
from .plaintext import clean_text
from .urls import absolute_url

_MAX_RELATED = 20
_MAX_IMAGES = 30
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
    """Parse a page the way trafilatura does, or fail with a clear reason."""
    tree = trafilatura.load_html(text)
    if tree is None:
        raise EmptyDocument("the page could not be parsed as HTML")
    return tree


def clean_html(text: str, *, url: str | None = None, page_id: int | None = None) -> CleanedDocument:
    tree = parse_html(text)
    base = web_address(tree, url)
    images = _figures(tree, base)
    captions = [image.caption for image in images if image.caption]
    paragraphs = main_text(tree, base, headlines=headlines(tree), captions=captions)
    return CleanedDocument(
        page_id=page_id,
        url=url,
        kind="html",
        paragraphs=tuple(paragraphs),
        images=images,
        related=_related_links(tree, base),
        breadcrumbs=_breadcrumbs(tree),
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


def main_text(
    tree: lxml_html.HtmlElement,
    url: str | None,
    *,
    headlines: list[str] | tuple[str, ...] = (),
    captions: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """The article's paragraphs: trafilatura's main text, refined by :mod:`pipeline.body`."""
    # trafilatura prunes the tree it is given, and the caller still needs the furniture.
    document = trafilatura.bare_extraction(
        _without_hidden(_copy(tree)),
        url=url,
        include_comments=False,
        include_tables=True,
        with_metadata=False,
    )
    text = getattr(document, "text", None) or ""
    return refine(text.split("\n"), links=link_texts(tree), headlines=headlines, captions=captions)


def headlines(tree: lxml_html.HtmlElement) -> list[str]:
    """Every form of the headline the page shows, to keep it out of the body."""
    found = [element.text_content() for element in tree.xpath("//h1")[:3]]
    found += tree.xpath('//meta[@property="og:title"]/@content')[:1]
    title = tree.findtext(".//title") or ""
    found += [title, *re.split(r"\s+[|–—-]\s+", title)[:1]]
    return [" ".join(text.split()) for text in found if text and text.strip()]


_HIDDEN = (
    '//*[@hidden or @aria-hidden="true" or contains(translate(@style," ",""),"display:none")'
    ' or contains(translate(@style," ",""),"visibility:hidden")]'
)


def _without_hidden(tree: lxml_html.HtmlElement) -> lxml_html.HtmlElement:
    """Drop what the page never shows (hover cards, screen-reader copies, hidden metadata)."""
    for element in tree.xpath(_HIDDEN):
        if element.getparent() is not None and element.tag not in {"html", "body"}:
            element.drop_tree()
    return tree


def _copy(tree: lxml_html.HtmlElement) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(etree.tostring(tree))


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


def _related_links(tree: lxml_html.HtmlElement, url: str | None) -> tuple[Link, ...]:
    links: list[Link] = []
    anchors = tree.xpath(
        '//*[contains(translate(@class,"RELATED","related"),"related") or '
        'contains(translate(@id,"RELATED","related"),"related")]//a[@href]'
    )
    for anchor in anchors:
        title = _squash(anchor.text_content())
        if len(title.split()) < 3:
            continue
        links.append(Link(title=title, url=absolute_url(url, anchor.get("href"))))
        if len(links) >= _MAX_RELATED:
            break
    return tuple(dict.fromkeys(links))


def _breadcrumbs(tree: lxml_html.HtmlElement) -> tuple[str, ...]:
    for container in tree.xpath(
        '//*[contains(translate(@class,"BREADCRUMB","breadcrumb"),"breadcrumb") or '
        'contains(translate(@id,"BREADCRUMB","breadcrumb"),"breadcrumb")]'
    ):
        names = [_squash(node.text_content()) for node in container.xpath(".//a | .//li[not(a)]")]
        names = [name for name in names if name and len(name) < 60]
        if names:
            return tuple(dict.fromkeys(names))
    return ()


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
