"""What a page shows a reader, read cheaply: its headings, its text block by block, its
``<noscript>`` text and its button labels; and what the page says of itself as an article.

Regular expressions over the source rather than a second parse: cleaning has parsed the page
once already and pruned that tree, and walls are small pages where a rough reading is enough.
What the page hides (a ``hidden`` or ``aria-hidden`` element, one styled ``display: none``,
a ``<template>``) is not shown: sites ship their paywall and consent templates in every page.
A plain-text page is its lines, a short line standing for a button.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from pipeline.clean import interstitial_words as vocabulary
from pipeline.clean.datelines import DATE_LINE
from pipeline.models import CleanedDocument
from pipeline.words import word_count

# Never shown: code, styles, the head (its title is read apart), menus of options, comments.
_UNSHOWN = "script|style|template|svg|head|noscript|select|textarea|iframe"
_UNSHOWN_START = re.compile(rf"<({_UNSHOWN})\b|<!--", re.I)
_UNSHOWN_END = {name: re.compile(rf"</{name}\s*>", re.I) for name in _UNSHOWN.split("|")}
# HTML lets a page leave out </head>: its body's start ends it.
_UNSHOWN_END["head"] = re.compile(r"</head\s*>|(?=<body\b)", re.I)
_COMMENT_END = re.compile("-->")
# Tags that end a block of text; inline ones (a, span, em) stay inside their sentence.
_BLOCK_TAG = re.compile(
    r"<(?:/?(?:p|div|li|ul|ol|h[1-6]|section|article|header|footer|nav|main|aside|form|button"
    r"|label|td|th|tr|table|dialog|dd|dt|dl|figure|figcaption|blockquote|center|fieldset|legend"
    r"|option|summary|details)|br|hr|input)\b[^>]*>",
    re.I,
)
_TAG = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_FIRST_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1\s*>", re.I | re.S)
# Labels are short: a bound keeps an element left unclosed from sending a search to the end.
_BUTTON = re.compile(r"<button\b[^>]*>(.{0,400}?)</button\s*>", re.I | re.S)
# A link dressed as a button, as consent and subscription offers often have them.
_LINK = re.compile(r"<a\s([^>]*)>(.{0,400}?)</a\s*>", re.I | re.S)
_INPUT_BUTTON = re.compile(r"<input\b[^>]*\btype\s*=\s*[\"']?(?:submit|button)\b[^>]*>", re.I)
_VALUE = re.compile(r"\bvalue\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.I)
_LABEL_WORDS = 4

# Words in a tag that may hide its element, each way then checked attribute by attribute.
_HIDING_WORDS = ("hidden", "display")
_OPEN_TAG = re.compile(r"<([a-z][\w-]*)\b([^>]*)>", re.I)
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_HIDING_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
_SAME_TAG: dict[str, re.Pattern[str]] = {}
# A "Published ..." line comes near the top, with the headline; a page's end is not searched.
_DATE_LINES = 40


@dataclass(frozen=True)
class ShownPage:
    """The reader's view of a page. ``markup`` is the source and ``shown_markup`` what of it
    is shown, both empty for plain text."""

    markup: str
    headings: tuple[str, ...]
    blocks: tuple[str, ...]
    noscript: str
    buttons: tuple[str, ...]
    words: int
    shown_markup: str = ""
    # What says the page is a story's own ("og:type article", "an author"), or None.
    article: str | None = None


def read_shown_page(
    text: str, kind: Literal["html", "text"], document: CleanedDocument
) -> ShownPage:
    """The page as shown; the headings cleaning found come first."""
    found = [document.title or ""]
    metadata = document.page
    if metadata is not None:
        found += [metadata.title or "", *metadata.headlines]
    if kind == "text":
        blocks = tuple(line for line in (_squash(line) for line in text.splitlines()) if line)
        buttons = tuple(block for block in blocks if word_count(block) <= _LABEL_WORDS)
        article = _article_statement("", blocks, document)
        return _page("", "", [*found, *blocks[:1]], blocks, "", buttons, article)
    own = [_TITLE.search(text), _FIRST_H1.search(text)]
    found += [_text_of(match.group(1)) for match in own if match]
    shown, noscript = _shown_markup(text)
    shown = _without_hidden(shown)
    blocks = tuple(block for block in (_text_of(part) for part in _BLOCK_TAG.split(shown)) if block)
    article = _article_statement(text, blocks, document)
    return _page(text, shown, found, blocks, noscript, _buttons(shown), article)


def _article_statement(
    markup: str, blocks: tuple[str, ...], document: CleanedDocument
) -> str | None:
    """What says the page is a story's own: its type (``og:type``, JSON-LD or microdata), a
    publication date it states in markup or on a "Published ..." line, or an author it names.

    A date read from the address or guessed from the page's text is not one: every wall served
    at a dated address would have it, and a challenge or error page often shows a timestamp.
    """
    metadata = document.page
    credited = (*document.authors, *document.agencies)
    if credited or (metadata is not None and (metadata.authors or metadata.agencies)):
        return "an author"
    if markup:
        og_type = vocabulary.OG_TYPE.search(markup)
        if og_type and (story := vocabulary.OG_STORY.search(og_type.group())):
            return f"og:type {story.group(1).lower()}"
        for pattern in vocabulary.STORY_TYPE:
            if found := pattern.search(markup):
                return f"type {found.group(1)}"
        if any(pattern.search(markup) for pattern in vocabulary.PUBLISHED):
            return "a publication date"
        if vocabulary.AUTHOR.search(markup):
            return "an author"
    if document.date_text or any(DATE_LINE.match(block) for block in blocks[:_DATE_LINES]):
        return "a publication date"
    return None


def _without_hidden(markup: str) -> str:
    """The markup without the elements it hides, found with plain searches as above."""
    kept: list[str] = []
    position = 0
    for tag in _hiding_tags(markup):
        if tag.start() < position or not _hides(tag):
            continue
        kept.append(markup[position : tag.start()])
        position = tag.end()
        name = tag.group(1).lower()
        if name not in _VOID and not tag.group().endswith("/>"):
            # Unclosed, its end is wherever a parser would put it: only the tag is dropped.
            position = _closing(markup, name, position) or position
    kept.append(markup[position:])
    return "".join(kept)


def _hiding_tags(markup: str) -> Iterator[re.Match[str]]:
    """The opening tags that name a way of hiding, in order: found from the words themselves,
    which plain searches find far faster than a pattern tried at every tag."""
    lowered = markup.lower()
    hits = sorted(at for word in _HIDING_WORDS for at in _occurrences(lowered, word))
    last = -1
    for hit in hits:
        start = markup.rfind("<", 0, hit)
        if start <= last or markup.find(">", start, hit) != -1:
            continue  # a tag already read, or the word is in the text
        if tag := _OPEN_TAG.match(markup, start):
            last = start
            yield tag


def _occurrences(text: str, word: str) -> Iterator[int]:
    at = text.find(word)
    while at != -1:
        yield at
        at = text.find(word, at + len(word))


def _hides(tag: re.Match[str]) -> bool:
    if tag.group(1).lower() in {"html", "body"}:
        return False  # a page hidden until its script runs is still the page
    for attribute in _ATTRIBUTE.finditer(tag.group(2)):
        name = attribute.group(1).lower()
        value = next((v for v in attribute.groups()[1:] if v is not None), "")
        if name == "hidden" or (name == "aria-hidden" and value.strip().lower() == "true"):
            return True
        if name == "style" and _HIDING_STYLE.search(value):
            return True
    return False


def _closing(markup: str, name: str, position: int) -> int | None:
    """Where the element opened just before ``position`` ends, counting those nested in it."""
    pattern = _SAME_TAG.get(name)
    if pattern is None:
        pattern = _SAME_TAG.setdefault(name, re.compile(rf"<(/?){re.escape(name)}\b[^>]*>", re.I))
    depth = 1
    for tag in pattern.finditer(markup, position):
        depth += -1 if tag.group(1) else 0 if tag.group().endswith("/>") else 1
        if depth == 0:
            return tag.end()
    return None


def _shown_markup(markup: str) -> tuple[str, str]:
    """The markup without what is never shown, and the text of its ``<noscript>`` parts.

    Found with plain searches from each opening tag to its end: scripts are most of a large
    page's bytes, and a single pattern that crept through them would cost milliseconds.
    """
    kept: list[str] = []
    noscript: list[str] = []
    position = 0
    while (start := _UNSHOWN_START.search(markup, position)) is not None:
        kept.append(markup[position : start.start()])
        name = (start.group(1) or "").lower()
        end = (_UNSHOWN_END[name] if name else _COMMENT_END).search(markup, start.end())
        if end is None:  # unclosed: a script or comment runs to the end, anything else not
            if name in {"script", "style", ""}:
                break
            position = _after_tag(markup, start.end())
            continue
        if name == "noscript":
            noscript.append(_text_of(markup[_after_tag(markup, start.end()) : end.start()]))
        kept.append(" ")
        position = end.end()
    else:
        kept.append(markup[position:])
    return "".join(kept), " ".join(part for part in noscript if part)


def _after_tag(markup: str, position: int) -> int:
    end = markup.find(">", position)
    return position if end == -1 else end + 1


def _page(
    markup: str,
    shown: str,
    headings: list[str],
    blocks: tuple[str, ...],
    noscript: str,
    buttons: tuple[str, ...],
    article: str | None,
) -> ShownPage:
    unique = tuple(dict.fromkeys(h for h in (_squash(h) for h in headings) if h))
    words = sum(word_count(block) for block in blocks)
    return ShownPage(markup, unique, blocks, noscript, buttons, words, shown, article)


def _buttons(markup: str) -> tuple[str, ...]:
    labels = [_text_of(match.group(1)) for match in _BUTTON.finditer(markup)]
    labels += [
        _text_of(match.group(2))
        for match in _LINK.finditer(markup)
        if "btn" in (attributes := match.group(1).lower()) or "button" in attributes
    ]
    for tag in _INPUT_BUTTON.findall(markup):
        value = _VALUE.search(tag)
        if value:
            labels.append(_squash(value.group(1) or value.group(2) or ""))
    return tuple(label for label in labels if label and word_count(label) <= _LABEL_WORDS)


def _text_of(fragment: str) -> str:
    return _squash(_TAG.sub(" ", fragment))


def _squash(text: str) -> str:
    return " ".join(html.unescape(text).split())
