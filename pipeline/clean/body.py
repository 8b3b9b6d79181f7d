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

from pipeline.urls import site_of
from pipeline.words import word_count, words

_BULLET = re.compile(r"^\s*[-•*]\s+")
# "Read more:", "SEE ALSO -": a short label before a teaser link.
_LABEL = re.compile(r"^\s*[^\W\d_][\w'’ ]{0,30}?\s*[:\-–—|]\s+", re.UNICODE)
_URL_ONLY = re.compile(r"^\s*(?:https?://|www\.)\S+\s*$", re.I)
# A WordPress shortcode the site forgot to render: "[button link=...]", "[/button]".
# Its attributes are bounded so that a long line of "[a b=" without "]" stays linear.
_SHORTCODE = re.compile(r"\[[a-z_]{1,40}\s+[a-z_]{1,40}=[^\]]{0,500}\]|\[/[a-z_]{1,40}\]", re.I)
_TIMESTAMP_ONLY = re.compile(
    r"^\s*\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?\s*$"
)
# Labels of what a page credits or sells beside the story, in the languages of our corpora.
_CREDIT_LABEL = re.compile(
    r"^\W{0,3}(?:photos?|fotos?|bild|titelbild|titelfoto|images?|credits?|crédits?|pictures?|"
    r"illustrations?|grafik)\s*:",
    re.I,
)
_AD_LABEL = re.compile(
    r"^\W{0,3}(?:anzeige|werbung|advertisement|sponsored|gesponsert|publicidad|publicité|"
    r"pubblicità|reklame)\b",
    re.I,
)
_DATE_SHAPE = re.compile(r"\b(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|(?:19|20)\d{2}|\d{1,2}:\d{2})\b")
_SENTENCE_END = re.compile(r"[.!?…。！？]$")
# Marks of page furniture that no sentence of a story carries...
_HARD_FURNITURE = re.compile(
    r"\b(?:subscri\w*|newsletter\w*|sign(?:ed)? up|all rights reserved|click here|"
    r"error has occurred|print article|reprints?|"
    r"skip to (?:the )?(?:main )?(?:content|navigation|nav|menu|search|footer|article))\b|©",
    re.I | re.UNICODE,
)
# ...words that mark a short line as furniture unless it reads as a sentence ("The court
# ruled in a copyright case.", "Kremlin declined to comment.")...
_FURNITURE = re.compile(r"\b(?:copyright|download|itunes|follow (?:us|@))\b", re.I)
_WEAK_FURNITURE = re.compile(
    r"\b(?:comments?|share|read more|see more|see also|also on|don['’]t miss|you may also like|"
    r"related|recommended|tags?|write to|sent to|thank you|published by|advertis\w*|photos?)\b",
    re.I | re.UNICODE,
)


def link_texts(tree: etree._Element, base: str | None = None) -> set[str]:
    """The texts (two words or more) of the page's links to its own site.

    Links within the page (a table of contents) and to other sites (a shop, a source) are
    left out: a paragraph that repeats one of those is content, not a teaser.
    """
    own = site_of(base) if base else None
    keys = set()
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        # A relative link stays on the site; only absolute ones need their host looked at.
        if own and href.startswith(("http://", "https://", "//")):
            target = href if not href.startswith("//") else f"https:{href}"
            if site_of(target) != own:
                continue
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
    texts: list[str] = []
    status: list[str] = []  # "keep", "teaser" (one of the page's links) or "drop"
    for line in lines:
        text = " ".join(_SHORTCODE.sub(" ", line).split())
        key = _key(text)
        if not key or key in keys_to_drop or _is_noise(text) or _labelled(text):
            status.append("drop")
        elif _link_only(text, links):
            status.append("teaser")
        else:
            status.append("keep")
        texts.append(text)
    _drop_list_headings(texts, status)
    kept = [text for text, state in zip(texts, status, strict=True) if state == "keep"]
    kept = _drop_repeated_runs(kept)
    kept = _trim(kept, from_end=True)
    return _trim(kept, from_end=False)


def _labelled(text: str) -> bool:
    """A credit or an advertising label, not the story: "Foto: dpa", "(Credit: Jane Doe)",
    "Anzeige", "*Werbung. Dieser Beitrag enthält Werbung für ..."."""
    if _words(text) > 12:
        return False
    if _AD_LABEL.match(text):
        return True
    return bool(_CREDIT_LABEL.match(text)) and not _is_sentence(text)


def _drop_list_headings(texts: list[str], status: list[str]) -> None:
    """Drop the heading of a list of teasers ("Weitere Themen", "More on this:", "Más sobre
    ..."): a short line, not a sentence, followed at once by a line that is one of the page's
    links. Going by the list that follows, not by the heading's words, works in any language.
    """
    for index in range(len(texts) - 1):
        if status[index] != "keep" or status[index + 1] != "teaser":
            continue
        if _words(texts[index]) <= 6 and not _is_sentence(texts[index]):
            status[index] = "drop"


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
    return " ".join(words(text.lower()))


def _words(text: str) -> int:
    return word_count(text)


def _is_sentence(text: str) -> bool:
    """Reads as a sentence: four words or more and sentence punctuation at the end."""
    return _words(text) >= 4 and bool(_SENTENCE_END.search(text.rstrip("\"'”’»)] ")))


def _is_noise(text: str) -> bool:
    """Only a URL or only a timestamp (leaked from hidden markup)."""
    return bool(_URL_ONLY.match(text) or _TIMESTAMP_ONLY.match(text))


def _link_only(text: str, links: set[str] | frozenset[str]) -> bool:
    """A teaser: a paragraph that is one of the page's links, but for a bullet or a label."""
    text = _BULLET.sub("", text)
    label = _LABEL.match(text)
    # Only strip a label from a headline-sized rest: "Source: Reuters" is not a teaser.
    rest = text[label.end() :] if label else ""
    return _mostly_link(text, links) or (_words(rest) >= 4 and _mostly_link(rest, links))


def _mostly_link(text: str, links: set[str] | frozenset[str]) -> bool:
    """Headline-sized and made of one link's text, but for a short tag ("[VIDEO]")."""
    tokens = _key(text).split()
    # A product or a person named in a link ("Apple Watch") is content, not a teaser.
    if len(tokens) < 4 or len(tokens) > 40:
        return False
    shortest = max(4, -(-len(tokens) * 3 // 4))
    return any(" ".join(tokens[:size]) in links for size in range(len(tokens), shortest - 1, -1))


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
    count = _words(text)
    sentence = _is_sentence(text)
    # At the end, a line's shortness alone is no mark: the last line of a post is often its
    # author's sign-off ("Jane Doe", "Ihr Praxisteam"), which readers and annotators keep, and
    # "Comments" or "Tags" go by their words below. (Measured: cutting every end line of two
    # words or fewer lost text on the validation sites of both corpora.) Before the story
    # starts, a word or two is a menu's or a label's.
    if at_start and count <= 2 and not sentence:
        return True
    if count <= 25 and _HARD_FURNITURE.search(text):
        return True
    if count <= 25 and not sentence and _FURNITURE.search(text):
        return True
    if count <= 8 and not sentence and _WEAK_FURNITURE.search(text):
        return True
    # A dateline or byline before the story starts: short, with a date, not a sentence.
    return at_start and count <= 12 and not sentence and bool(_DATE_SHAPE.search(text))
