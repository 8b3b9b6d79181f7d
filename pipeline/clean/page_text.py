"""What a page shows a reader, read cheaply: its headings, its text block by block, its
``<noscript>`` text and its button labels.

Regular expressions over the source rather than a second parse: cleaning has parsed the page
once already and pruned that tree, and walls are small pages where a rough reading is enough.
A plain-text page is its lines, a short line standing for a button.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True)
class ShownPage:
    """The reader's view of a page. ``markup`` is the source, empty for plain text."""

    markup: str
    headings: tuple[str, ...]
    blocks: tuple[str, ...]
    noscript: str
    buttons: tuple[str, ...]
    words: int
    # The page names the story's author and publication date, as an article's page does.
    signed: bool = False


def read_shown_page(
    text: str, kind: Literal["html", "text"], document: CleanedDocument
) -> ShownPage:
    """The page as shown; the headings cleaning found come first."""
    found = [document.title or ""]
    metadata = document.page
    if metadata is not None:
        found += [metadata.title or "", *metadata.headlines]
    signed = bool(metadata and metadata.published and metadata.authors)
    if kind == "text":
        blocks = tuple(line for line in (_squash(line) for line in text.splitlines()) if line)
        buttons = tuple(block for block in blocks if word_count(block) <= _LABEL_WORDS)
        return _page("", [*found, *blocks[:1]], blocks, "", buttons, signed)
    own = [_TITLE.search(text), _FIRST_H1.search(text)]
    found += [_text_of(match.group(1)) for match in own if match]
    shown, noscript = _shown_markup(text)
    blocks = tuple(block for block in (_text_of(part) for part in _BLOCK_TAG.split(shown)) if block)
    return _page(text, found, blocks, noscript, _buttons(shown), signed)


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
    headings: list[str],
    blocks: tuple[str, ...],
    noscript: str,
    buttons: tuple[str, ...],
    signed: bool,
) -> ShownPage:
    unique = tuple(dict.fromkeys(h for h in (_squash(h) for h in headings) if h))
    words = sum(word_count(block) for block in blocks)
    return ShownPage(markup, unique, blocks, noscript, buttons, words, signed)


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
