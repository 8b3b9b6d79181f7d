"""What each line of a plain-text page is: the story's prose, a headline, or furniture.

A scraper's text dump keeps the page furniture as lines: menus and share buttons as bullets,
a breadcrumb, photo captions (often twice, once with a credit), "RELATED:" teasers, a date and
a byline. Each line is read once, then classified by its own shape and a small vocabulary of
link-like words; captions and teasers are marked afterwards, since they are known by the lines
around them (a repeat, a label above). Assembling the document is :mod:`pipeline.clean.plaintext`'s.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left
from dataclasses import dataclass, field

from pipeline.clean.datelines import BARE_DATE, BYLINE, DATE_LINE
from pipeline.words import word_count

_BULLET = re.compile(r"^\s*(?:[•·▪▫◦‣∙●○■□►▶»*]|-(?=\s)|\d{1,2}[.)](?=\s))\s*")
# Breadcrumbs point one way (News > World); a bar of pipes is a menu (Home | World | Sport).
BREADCRUMB_SEPARATOR = re.compile(r"\s+(?:>|»|›|→|/)\s+")
_MENU_SEPARATOR = re.compile(r"\s+(?:\||·|•)\s+")
_WORD = re.compile(r"\w+", re.UNICODE)
# Words that make up menus, share bars and widgets rather than prose.
_FURNITURE_WORDS = {
    "home",
    "menu",
    "search",
    "login",
    "log",
    "sign",
    "in",
    "up",
    "subscribe",
    "newsletter",
    "share",
    "shares",
    "sharing",
    "tweet",
    "facebook",
    "twitter",
    "x",
    "google",
    "plus",
    "linkedin",
    "whatsapp",
    "telegram",
    "pinterest",
    "reddit",
    "email",
    "e-mail",
    "mail",
    "print",
    "copy",
    "link",
    "live",
    "audio",
    "video",
    "videos",
    "only",
    "watch",
    "listen",
    "podcast",
    "podcasts",
    "more",
    "comment",
    "comments",
    "follow",
    "us",
    "on",
    "advertisement",
    "sponsored",
    "skip",
    "to",
    "content",
    "main",
    "navigation",
    "close",
    "open",
    "next",
    "previous",
    "back",
    "top",
    "read",
    "the",
    "and",
    "rss",
    "feed",
    "instagram",
    "youtube",
    "tiktok",
    "messenger",
    "sms",
    "flipboard",
    "opinion",
    "analysis",
    "latest",
    "news",
    "trending",
    "popular",
    "most",
    "about",
    "contact",
    "privacy",
    "policy",
    "terms",
    "cookies",
    "accept",
    "all",
    "settings",
    "donate",
    "support",
    "edition",
    "english",
    "español",
}
# A teaser's label: on a line of its own above the teaser's title, or before it on one line.
_RELATED_LABEL = re.compile(
    r"^\s*(?:related(?:\s+(?:stories|articles|news|content|coverage|reading))?|"
    r"read\s+(?:more|also|next)|see\s+also|also\s+read|more\s+on\s+this(?:\s+story)?|"
    r"recommended|you\s+may\s+also\s+like|more\s+stories)\s*[:\-–—]?\s*(?P<rest>.*)$",
    re.I,
)
# "... | Photo: Reuters", "(Photo: Jane Roe)": a credit label after a separator (or opening the
# line), so that "an epic by Tolstoy" or "one source: an official" are not credits.
_CREDIT = re.compile(
    r"^(?P<caption>.*?)(?:\s*[|/–—-]\s*|\s*\(\s*|^)"
    r"(?P<label>\b(?:photo|photograph|image|picture|pic|credit|foto|source|illustration))s?"
    r"(?:\s+credit)?\s*(?::|by)\s*(?P<credit>[^|()]{2,80}?)\s*\)?\s*$",
    re.I,
)
_COUNT_ONLY = re.compile(r"^\s*[\d.,]+\s*[kKmM]?\s*$")
# Full-width marks end Chinese and Japanese sentences.
_SENTENCE_END = re.compile(r"[.!?…:;。！？：；]['\"”’»)」』]*\s*$")


@dataclass
class Line:
    """One non-blank line of the page, its bullet taken off, and what it was found to be.

    Mutable on purpose: the marking passes revise a line's ``kind`` once its neighbours are
    known, and ``meta`` keeps what the line holds apart from the story (a caption, a date).
    """

    text: str
    bullet: bool
    numbered: bool = False
    kind: str = "unknown"  # body, title, furniture, breadcrumb, caption, related, date, label
    meta: dict[str, str] = field(default_factory=dict)


def read_lines(text: str) -> list[Line]:
    """The page's non-blank lines, whitespace folded, each with whether a bullet opened it."""
    lines = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = raw.strip()
        if not stripped:
            continue
        match = _BULLET.match(stripped)
        content = stripped[match.end() :].strip() if match else stripped
        if content:
            numbered = bool(match and match.group().strip()[:1].isdigit())
            lines.append(
                Line(text=re.sub(r"\s+", " ", content), bullet=bool(match), numbered=numbered)
            )
    return lines


def lowercase_words(text: str) -> list[str]:
    """The line's words in lower case, as the vocabulary and the repeat checks compare them."""
    return _WORD.findall(text.lower())


def classify(line: Line) -> None:
    """Set ``line.kind`` from the line alone, the first rule that fits winning."""
    text = line.text
    words = lowercase_words(text)
    bare = BARE_DATE.match(text)
    if bare:  # before the counts: "03.06.2025" is all digits and dots too
        line.kind = "date"
        line.meta["date"] = bare.group("date").strip()
        return
    if not words or _COUNT_ONLY.match(text):
        line.kind = "furniture"
        return
    if len(words) <= 6 and all(word in _FURNITURE_WORDS for word in words):
        line.kind = "furniture"
        return
    if _is_breadcrumb(text):
        line.kind = "breadcrumb"
        return
    if _is_menu(text):
        line.kind = "furniture"
        return
    byline = BYLINE.match(text)
    if byline and len(words) <= 10 and not _SENTENCE_END.search(text):
        line.kind = "byline"
        line.meta["names"] = byline.group("names")
        return
    date = DATE_LINE.match(text)
    if date and len(words) <= 12 and any(char.isdigit() for char in date.group("date")):
        line.kind = "date"
        line.meta["date"] = date.group("date").strip()
        line.meta["label"] = date.group("label").lower()
        return
    # Menus and share bars are bulleted and very short; a numbered recipe step is not a menu.
    if line.bullet and not line.numbered and len(words) <= 4 and not _SENTENCE_END.search(text):
        line.kind = "furniture"
        return
    if is_prose(text) and not line.bullet:
        line.kind = "body"


def _is_breadcrumb(text: str) -> bool:
    parts = BREADCRUMB_SEPARATOR.split(text)
    if len(parts) < 2 or len(parts) > 8:
        return False
    return all(
        0 < len(lowercase_words(part)) <= 4
        and not _SENTENCE_END.search(part)
        and any(char.isalpha() for char in part)  # "Verdict: 4 / 5" is a score
        for part in parts
    )


def _is_menu(text: str) -> bool:
    parts = _MENU_SEPARATOR.split(text)
    return len(parts) >= 3 and all(0 < len(lowercase_words(part)) <= 3 for part in parts)


def is_prose(text: str) -> bool:
    """A sentence-like paragraph: enough words and sentence punctuation at the end."""
    # Counted as pipeline.words does: a Chinese or Japanese line has no spaces between words.
    return word_count(text) >= 8 and bool(_SENTENCE_END.search(text))


def is_headline(text: str) -> bool:
    """Headline-sized and without a sentence's or a label's end."""
    words = lowercase_words(text)
    return 3 <= len(words) <= 30 and not re.search(r"[.:;,]\s*$", text)


def mark_captions(lines: list[Line]) -> None:
    """Photo captions: a line with a photo credit, and the same caption repeated without it."""
    for line in lines:
        match = _CREDIT.match(line.text)
        if match and line.kind != "breadcrumb":
            line.kind = "caption"
            line.meta["caption"] = match.group("caption").strip(" |–—-")
            line.meta["credit"] = match.group("credit").strip()
    # Sorted, the strings that start with a prefix form one run, found by bisection: a text
    # of many thousand lines is not compared line by line with every other.
    captions = sorted(line.meta["caption"] for line in lines if line.kind == "caption")
    texts = sorted(line.text for line in lines)
    for line in lines:
        if line.kind == "caption":
            continue
        if _starting_with(captions, line.text):
            line.kind = "caption"
            line.meta["caption"] = line.text
        elif (
            line.bullet and _SENTENCE_END.search(line.text) and _starting_with(texts, line.text) > 1
        ):
            # A bulleted sentence that is repeated elsewhere is a gallery caption.
            line.kind = "caption"
            line.meta["caption"] = line.text


def _starting_with(ordered: list[str], prefix: str) -> int:
    """How many of the sorted strings ``ordered`` start with ``prefix``."""
    first = bisect_left(ordered, prefix)
    return bisect_left(ordered, prefix + _LAST_CHARACTER, lo=first) - first


_LAST_CHARACTER = chr(sys.maxunicode)


def mark_related(lines: list[Line]) -> None:
    """A "RELATED:" label marks the next headline (or the rest of its own line) as a teaser."""
    for index, line in enumerate(lines):
        match = _RELATED_LABEL.match(line.text)
        if not match or line.kind == "body":
            continue
        rest = match.group("rest").strip()
        if rest:
            line.kind = "related"
            line.meta["title"] = rest
            continue
        line.kind = "furniture"
        for following in lines[index + 1 : index + 4]:
            if is_headline(following.text) and not is_prose(following.text):
                following.kind = "related"
                following.meta["title"] = following.text
            else:
                break
