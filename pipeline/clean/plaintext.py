"""Boilerplate removal for pages saved as plain text.

A scraper's text dump keeps the page furniture as lines: menus and share buttons as bullets,
a breadcrumb, photo captions (often twice, once with a credit), "RELATED:" teasers, a
"Published ..." line and a comment widget. The rules here go by the shape of a line, a small
vocabulary of link-like words and repetition, never by any one site's strings. What is removed
but informative (breadcrumbs, captions, teasers, the date) is kept apart.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipeline.extract.bylines import credits
from pipeline.extract.timestamps import UPDATE_WORDS
from pipeline.models import CleanedDocument, Image, Link
from pipeline.words import word_count

_BULLET = re.compile(r"^\s*(?:[•·▪▫◦‣∙●○■□►▶»*]|-(?=\s)|\d{1,2}[.)](?=\s))\s*")
# Breadcrumbs point one way (News > World); a bar of pipes is a menu (Home | World | Sport).
_BREADCRUMB_SEPARATOR = re.compile(r"\s+(?:>|»|›|→|/)\s+")
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
_RELATED_LABEL = re.compile(
    r"^\s*(?:related(?:\s+(?:stories|articles|news|content|coverage|reading))?|"
    r"read\s+(?:more|also|next)|see\s+also|also\s+read|more\s+on\s+this(?:\s+story)?|"
    r"recommended|you\s+may\s+also\s+like|more\s+stories)\s*[:\-–—]?\s*(?P<rest>.*)$",
    re.I,
)
# "Published 13 January 2020", "Updated: 14:05": the label, then straight away the date.
_DATE_LINE = re.compile(
    r"^\s*(?P<label>published|posted|updated|last\s+updated|modified|first\s+published|date)"
    r"(?:\s+on)?\s*:?\s*(?P<date>(?:\d|(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|"
    r"jun|jul|aug|sep|oct|nov|dec)[a-z]*\b).{2,58})$",
    re.I,
)
# A date on a line of its own ("June 3, 2025", "3 June 2025", "2025-06-03", "03.06.2025"),
# with perhaps a weekday before it and a time after it: nothing else, so no sentence matches.
_MONTH = (
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|januar|februar|märz|mai|juni|juli|"
    r"oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|"
    r"novembre|décembre)[a-zé]*\.?"
)
_BARE_DATE = re.compile(
    # The word before the date is a weekday's, never an update's label.
    r"^\s*(?:(?!" + UPDATE_WORDS + r"\b)[^\W\d_]{2,12},?\s+)?(?P<date>(?:"
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{4}|"
    r"\d{1,2}(?:st|nd|rd|th|\.)?\s+"
    + _MONTH
    + r",?\s+\d{4}|"
    + _MONTH
    + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})"
    r"(?:[\s,|·–—-]+(?:at\s+|um\s+)?\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{2,5})?)?)\s*$",
    re.I,
)
_UPDATE_LABEL = re.compile(UPDATE_WORDS, re.I)
# "... | Photo: Reuters", "(Photo: Jane Roe)": a credit label after a separator (or opening the
# line), so that "an epic by Tolstoy" or "one source: an official" are not credits.
_CREDIT = re.compile(
    r"^(?P<caption>.*?)(?:\s*[|/–—-]\s*|\s*\(\s*|^)"
    r"(?P<label>\b(?:photo|photograph|image|picture|pic|credit|foto|source|illustration))s?"
    r"(?:\s+credit)?\s*(?::|by)\s*(?P<credit>[^|()]{2,80}?)\s*\)?\s*$",
    re.I,
)
_BYLINE = re.compile(r"^\s*(?i:by|von|par|por|di|door|av|af)\s+(?P<names>[^\W\d_a-z][^.!?]{1,80})$")
_COUNT_ONLY = re.compile(r"^\s*[\d.,]+\s*[kKmM]?\s*$")
# Full-width marks end Chinese and Japanese sentences.
_SENTENCE_END = re.compile(r"[.!?…:;。！？：；]['\"”’»)」』]*\s*$")


@dataclass
class _Line:
    text: str
    bullet: bool
    numbered: bool = False
    kind: str = "unknown"  # body, title, furniture, breadcrumb, caption, related, date, label
    meta: dict[str, str] = field(default_factory=dict)


def clean_text(text: str, *, url: str | None = None, page_id: int | None = None) -> CleanedDocument:
    """Split a plain-text page into the article and the furniture around it."""
    lines = _read_lines(text)
    for line in lines:
        _classify(line)
    _mark_captions(lines)
    _mark_related(lines)
    body_indexes = [
        i for i, line in enumerate(lines) if line.kind == "body" and _is_prose(line.text)
    ]
    start = body_indexes[0] if body_indexes else len(lines)
    end = body_indexes[-1] if body_indexes else -1

    title = None
    for line in lines[:start]:
        if line.kind == "unknown" and _is_headline(line.text):
            title = line.text
            line.kind = "title"
            break

    paragraphs: list[str] = []
    for index, line in enumerate(lines):
        if line.kind in {"body", "unknown"} and start <= index <= end:
            paragraphs.append(line.text)
    paragraphs, description = _drop_repeats(paragraphs)

    breadcrumbs: list[str] = []
    for line in lines:
        if line.kind == "breadcrumb" and not breadcrumbs:
            breadcrumbs = [part.strip() for part in _BREADCRUMB_SEPARATOR.split(line.text)]
    images = _dedupe_images(
        Image(caption=line.meta.get("caption"), credit=line.meta.get("credit") or None)
        for line in lines
        if line.kind == "caption"
    )
    related = tuple(
        dict.fromkeys(Link(title=line.meta["title"]) for line in lines if line.kind == "related")
    )
    date_text = _date_text(lines, start)
    authors, agencies = next(
        (credits(line.meta["names"]) for line in lines[:start] if line.kind == "byline"),
        ([], []),
    )
    return CleanedDocument(
        page_id=page_id,
        url=url,
        kind="text",
        title=title,
        description=description,
        authors=tuple(authors),
        agencies=tuple(agencies),
        paragraphs=tuple(paragraphs),
        images=images,
        related=related,
        breadcrumbs=tuple(breadcrumbs),
        date_text=date_text,
    )


def _date_text(lines: list[_Line], start: int) -> str | None:
    """The publication date's line: one labelled as published, or a bare date above the
    body (under the byline, as pages set it); never one labelled as an update."""
    for index, line in enumerate(lines):
        if line.kind != "date" or _UPDATE_LABEL.search(line.meta.get("label", "")):
            continue
        if "label" in line.meta or index < start:
            return line.meta["date"]
    return None


def _read_lines(text: str) -> list[_Line]:
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
                _Line(text=re.sub(r"\s+", " ", content), bullet=bool(match), numbered=numbered)
            )
    return lines


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _classify(line: _Line) -> None:
    text = line.text
    words = _words(text)
    bare = _BARE_DATE.match(text)
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
    byline = _BYLINE.match(text)
    if byline and len(words) <= 10 and not _SENTENCE_END.search(text):
        line.kind = "byline"
        line.meta["names"] = byline.group("names")
        return
    date = _DATE_LINE.match(text)
    if date and len(words) <= 12 and any(char.isdigit() for char in date.group("date")):
        line.kind = "date"
        line.meta["date"] = date.group("date").strip()
        line.meta["label"] = date.group("label").lower()
        return
    # Menus and share bars are bulleted and very short; a numbered recipe step is not a menu.
    if line.bullet and not line.numbered and len(words) <= 4 and not _SENTENCE_END.search(text):
        line.kind = "furniture"
        return
    if _is_prose(text) and not line.bullet:
        line.kind = "body"


def _is_breadcrumb(text: str) -> bool:
    parts = _BREADCRUMB_SEPARATOR.split(text)
    if len(parts) < 2 or len(parts) > 8:
        return False
    return all(
        0 < len(_words(part)) <= 4
        and not _SENTENCE_END.search(part)
        and any(char.isalpha() for char in part)  # "Verdict: 4 / 5" is a score
        for part in parts
    )


def _is_menu(text: str) -> bool:
    parts = _MENU_SEPARATOR.split(text)
    return len(parts) >= 3 and all(0 < len(_words(part)) <= 3 for part in parts)


def _is_prose(text: str) -> bool:
    """A sentence-like paragraph: enough words and sentence punctuation at the end."""
    # Counted as pipeline.words does: a Chinese or Japanese line has no spaces between words.
    return word_count(text) >= 8 and bool(_SENTENCE_END.search(text))


def _is_headline(text: str) -> bool:
    words = _words(text)
    return 3 <= len(words) <= 30 and not re.search(r"[.:;,]\s*$", text)


def _mark_captions(lines: list[_Line]) -> None:
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


def _mark_related(lines: list[_Line]) -> None:
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
            if _is_headline(following.text) and not _is_prose(following.text):
                following.kind = "related"
                following.meta["title"] = following.text
            else:
                break


def _drop_repeats(paragraphs: list[str]) -> tuple[list[str], str | None]:
    """Drop paragraphs that repeat another; a lead repeated later in the body is the summary."""
    kept: list[str] = []
    description = None
    seen: set[str] = set()
    for index, paragraph in enumerate(paragraphs):
        words = _words(paragraph)
        key = " ".join(words)
        if key in seen:
            continue
        seen.add(key)
        # A lead that a longer paragraph below repeats and extends is the standfirst, not body;
        # an exact repeat is caught above, keeping its first place.
        # Only the first paragraph can be a standfirst; later near-repeats are the story's own.
        if (
            not kept
            and description is None
            and _extended_below(set(words), paragraphs[index + 1 :])
        ):
            description = paragraph
            continue
        kept.append(paragraph)
    return kept, description


def _extended_below(tokens: set[str], later: list[str]) -> bool:
    """A longer paragraph in ``later`` holds nine tenths of ``tokens`` and more."""
    if len(tokens) < 12:
        return False
    for paragraph in later:
        other = set(_words(paragraph))
        if (
            other != tokens
            and len(other) > len(tokens)
            and len(tokens & other) >= 0.9 * len(tokens)
        ):
            return True
    return False


# As many captioned images as the HTML path keeps; more would only cost time.
_MAX_IMAGES = 30


def _dedupe_images(images: Iterable[Image]) -> tuple[Image, ...]:
    result: list[Image] = []
    for image in images:
        for position, known in enumerate(result):
            if (
                known.caption
                and image.caption
                and (
                    known.caption.startswith(image.caption)
                    or image.caption.startswith(known.caption)
                )
            ):
                caption = max(known.caption, image.caption, key=len)
                result[position] = Image(caption=caption, credit=known.credit or image.credit)
                break
        else:
            if len(result) < _MAX_IMAGES:
                result.append(image)
    return tuple(result)
