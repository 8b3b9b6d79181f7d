"""Second pass over the main text: what a text extractor keeps but a reader would not.

trafilatura finds the article's container well; what it lets through is furniture *inside*
that container: "Read more:" teasers and lists of related headlines (paragraphs that are one
of the page's links), promotional and comment-widget lines at the end, captions, a bare URL
or timestamp from hidden markup, the headline repeated. Each rule goes by a paragraph's shape
(is it a link's text, its length, its place) and a short vocabulary, never by one site.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

_WORD = re.compile(r"\w+", re.UNICODE)
_BULLET = re.compile(r"^\s*[-•*]\s+")
# "Read more:", "SEE ALSO -": a short label before a teaser link.
_LABEL = re.compile(r"^\s*[^\W\d_][\w'’ ]{0,30}?\s*[:\-–—|]\s+", re.UNICODE)
_URL_ONLY = re.compile(r"^\s*(?:https?://|www\.)\S+\s*$", re.I)
# A WordPress shortcode the site forgot to render: "[button link=...]Send us...[/button]".
_SHORTCODE = re.compile(r"\[[a-z_]+\s+[a-z_]+=[^\]]*\]|\[/[a-z_]+\]", re.I)
_TIMESTAMP_ONLY = re.compile(
    r"^\s*\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?\s*$"
)
_DATE_SHAPE = re.compile(r"\b(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|(?:19|20)\d{2}|\d{1,2}:\d{2})\b")
# Words that mark a short line as page furniture wherever it stands...
_FURNITURE = re.compile(
    r"\b(?:subscri\w*|newsletter\w*|sign(?:ed)? up|copyright|all rights reserved|"
    r"click here|follow (?:us|@)|download|itunes|reprints?|print article|error has occurred|"
    r"comentários|kommentare|commentaires)\b|©",
    re.I | re.UNICODE,
)
# ...and words that do so only in a very short line, since sentences use them too
# ("did not respond to a request for comment").
_WEAK_FURNITURE = re.compile(
    r"\b(?:comments?|share|read more|see more|see also|also on|don['’]t miss|you may also like|"
    r"related|recommended|tags?|write to|sent to|thank you|published by|publicado|"
    r"veröffentlicht|publié|advertis\w*|photos?|tell us|what do you think)\b",
    re.I | re.UNICODE,
)


def link_texts(tree: etree._Element) -> set[str]:
    """The texts of the page's links of two words or more, as :func:`refine` compares them."""
    keys = set()
    for anchor in tree.iter("a"):
        key = _key("".join(anchor.itertext()))
        if " " in key:
            keys.add(key)
    return keys


def refine(
    lines: Iterable[str],
    *,
    links: set[str] | frozenset[str] = frozenset(),
    headlines: Iterable[str] = (),
    captions: Iterable[str] = (),
) -> list[str]:
    """The main text's paragraphs (one per line) without the furniture the extractor kept.

    ``links`` are the page's link texts (:func:`link_texts`): a paragraph that is nothing but
    one of them, after a list bullet or a "Read more:" label, is a teaser.
    """
    # Repeats are not dropped as such: recipes, tables and lists repeat lines on purpose.
    keys_to_drop = {_key(text) for text in (*headlines, *captions) if text and _key(text)}
    kept: list[str] = []
    for line in lines:
        text = " ".join(line.split())
        key = _key(text)
        if key and key not in keys_to_drop and not _is_noise(text) and not _link_only(text, links):
            kept.append(text)
    kept = _drop_repeated_runs(kept)
    kept = _trim(kept, from_end=True)
    return _trim(kept, from_end=False)


def _drop_repeated_runs(paragraphs: list[str], run: int = 3, long: int = 15) -> list[str]:
    """Drop a second copy of a whole passage (pages that carry the article twice).

    Only runs of several long paragraphs count: single repeated lines are often meant
    (a recipe's "Serves 4", a table's row) and are kept.
    """
    keys = [_key(text) for text in paragraphs]
    seen: set[str] = set()
    repeated = []
    for key in keys:
        repeated.append(key.count(" ") + 1 >= long and key in seen)
        seen.add(key)
    drop = [False] * len(paragraphs)
    index = 0
    while index < len(paragraphs):
        if not repeated[index]:
            index += 1
            continue
        end = index
        while end < len(paragraphs) and (repeated[end] or _words(paragraphs[end]) <= 3):
            end += 1
        if sum(repeated[index:end]) >= run:
            drop[index:end] = [True] * (end - index)
        index = end
    return [text for text, dropped in zip(paragraphs, drop, strict=True) if not dropped]


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _is_noise(text: str) -> bool:
    """Only a URL or a timestamp (leaked from hidden markup), or an unrendered shortcode."""
    return bool(_URL_ONLY.match(text) or _TIMESTAMP_ONLY.match(text) or _SHORTCODE.search(text))


def _link_only(text: str, links: set[str] | frozenset[str]) -> bool:
    """A teaser: a paragraph that is one of the page's links, but for a bullet or a label."""
    text = _BULLET.sub("", text)
    label = _LABEL.match(text)
    # Only strip a label from a headline-sized rest: "Source: Reuters" is not a teaser.
    rest = text[label.end() :] if label else ""
    return _mostly_link(text, links) or (_words(rest) >= 4 and _mostly_link(rest, links))


def _mostly_link(text: str, links: set[str] | frozenset[str]) -> bool:
    """Headline-sized and made of one link's text, but for a short tag ("[VIDEO]")."""
    words = _key(text).split()
    # A product or a person named in a link ("Apple Watch") is content, not a teaser.
    if len(words) < 4 or len(words) > 40:
        return False
    shortest = max(4, -(-len(words) * 3 // 4))
    return any(" ".join(words[:size]) in links for size in range(len(words), shortest - 1, -1))


def _trim(paragraphs: list[str], *, from_end: bool) -> list[str]:
    """Drop the run of furniture at one end: promotions, comment widgets, dates, bylines."""
    order = range(len(paragraphs) - 1, -1, -1) if from_end else range(len(paragraphs))
    cut = None
    for index in order:
        if not _furniture(paragraphs[index], at_start=not from_end):
            break
        cut = index
    if cut is None:
        return paragraphs
    return paragraphs[:cut] if from_end else paragraphs[cut + 1 :]


def _furniture(text: str, *, at_start: bool) -> bool:
    words = _words(text)
    if words <= 2:
        return True  # "Comments", "Tags", a lone count
    if words <= 25 and _FURNITURE.search(text):
        return True
    if words <= 8 and _WEAK_FURNITURE.search(text):
        return True
    # A dateline or byline before the story starts: short, with a date, not a sentence.
    return at_start and words <= 12 and bool(_DATE_SHAPE.search(text)) and not text.endswith(".")
