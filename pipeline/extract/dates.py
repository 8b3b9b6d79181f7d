"""When the article was published and last modified, from the page's own evidence.

Evidence is taken in order of how explicitly it states *publication*: the JSON-LD
``datePublished``, then ``<meta>`` names that mean publication, then markup marked as the
publication date (``itemprop``, ``pubdate``, a "published" class), then generic date tags,
and last htmldate's search of the page without its comment sections.
"Updated" dates and the dates of comments are never taken as the publication date.

The convention (see :class:`pipeline.models.Article`): every date is timezone-aware.

- ``"time"``: the moment, with the UTC offset the source gave (kept, not converted);
- ``"local-time"``: a wall-clock time stated without a zone, kept as if UTC;
- ``"day"``: the day only, at 00:00 UTC.

Sources are combined rather than merely ranked: a day-only statement takes the time of a
source on the same day, preferring one with a zone; and where the page shows its readers
another day than a UTC moment falls on (in its address, or as the text of the ``<time>``
itself), the day the page shows wins, since the UTC day is an artefact of conversion.
"""

from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import htmldate
from htmldate.extractors import get_external_parser
from lxml import etree
from lxml import html as lxml_html

from pipeline.extract.markup import article_node, json_ld_nodes, meta_pairs, text
from pipeline.extract.timestamps import UPDATE_WORDS, Stamp, parse_stamp

# <meta> names that state publication itself, in order of trust.
_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "parsely-pub-date",
    "article.published",
    "publish-date",
    "publishdate",
    "pubdate",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "dc.date.created",
)
# Names that only say "a date": often the publication, sometimes the last edit.
_GENERIC_META = ("date", "dc.date", "dcterms.date", "sailthru.date")
_MODIFIED_META = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "last-modified",
    "dc.date.modified",
    "dcterms.modified",
)
# UTC offsets in use run from -12:00 to +14:00, in quarter hours.
_WIDEST_OFFSET = timedelta(hours=14)
_QUARTER = timedelta(minutes=15)

# Words that mark a date as an update, in the languages of the corpora.
_UPDATE = UPDATE_WORDS
# "Updated: <time>" (the words before the element) and "<time>Updated Mar 12</time>" (its own).
_UPDATE_BEFORE = re.compile(_UPDATE + r"\W*(?:on|am|le|el|il|alle|op|em|at)?\W*$", re.I)
_UPDATE_OPENING = re.compile(r"^\W*" + _UPDATE + r"\b", re.I)
_UPDATE_NAME = re.compile(r"modif|updat|edited|revis", re.I)
_PUBLISH_NAME = re.compile(r"publish|pubdate|posted|created|create-?date|creation", re.I)
# Sections holding readers' comments: their dates are never the article's. A class naming a
# comment *count*, link or icon ("comments-link", "wpcom-comments-date") marks no section.
# Whole words of a name only: "responsive" is no reply, and a "kommentar" (an opinion column)
# or "commentary" is an article.
_COMMENTS = re.compile(
    r"(?:^|[-_])(?:comments?|commentlist|kommentare|kommentar-?liste|commentaires?|comentarios?|"
    r"commenti|reacties|disqus|respond|responses|discussion|repl(?:y|ies))(?:$|[-_])",
    re.I,
)
_OTHER_STORIES = re.compile(
    r"related|teaser|latest|popular|sidebar|recommend|more-?stories|trending|most-?read", re.I
)
_NOT_SECTION = re.compile(r"count|link|date|icon|num|button|btn|toggle|bubble|open|show", re.I)
_CONTAINERS = {"html", "body", "main", "article"}


@dataclass(frozen=True)
class PageDates:
    published: Stamp | None = None
    modified: Stamp | None = None


_TEXT_LINES = etree.XPath("//body//text()[not(ancestor::script) and not(ancestor::style)]")
_CLOCK = re.compile(r"\d[:.h][0-5]\d")
_DATED = "//time | //*[@itemprop='datePublished' or @itemprop='dateModified']"

# -- weighing a page's statements -------------------------------------------------------------


@dataclass(frozen=True)
class _Shown:
    """A ``<time>`` (or ``itemprop``) element: what it states, and the day its text shows."""

    stamp: Stamp
    shown: Stamp | None
    role: str  # "published", "modified" or "plain"


def read_dates(tree: lxml_html.HtmlElement, url: str | None) -> PageDates:
    """The publication and modification dates the page states, weighed as the module says."""
    article = article_node(json_ld_nodes(tree)) or {}
    meta: dict[str, str] = {}
    for name, value in meta_pairs(tree):
        meta.setdefault(name, value)
    elements = list(_dated_elements(tree))
    marked = [found.stamp for found in elements if found.role == "published"]
    published = _first(
        [text(article.get("datePublished")), text(article.get("dateCreated"))],
        [meta.get(name) for name in _PUBLISHED_META],
        marked,
        [meta.get(name) for name in _GENERIC_META],
    )
    modified = _first(
        [text(article.get("dateModified"))],
        [meta.get(name) for name in _MODIFIED_META],
        [found.stamp for found in elements if found.role == "modified"],
    )
    if published is None:
        published = _searched(tree, url)
        updates = {found.stamp.day for found in elements if found.role == "modified"}
        if published is not None and published.day in updates:
            # The search found the day the page calls an update, never the publication: an
            # earlier date the page shows is, if there is one.
            earlier = [
                found.stamp
                for found in elements
                if found.role != "modified" and found.stamp.day < published.day
            ]
            published = min(earlier, key=lambda stamp: stamp.at, default=None)
    if published is None:
        return PageDates(None, modified)
    statements = _statements(tree, meta, elements)
    published = _with_time(published, statements)
    published = _on_shown_day(published, _shown_days(published, url, elements))
    return PageDates(published, modified)


def _first(*tiers: list[str | None] | list[Stamp]) -> Stamp | None:
    for tier in tiers:
        for value in tier:
            stamp = value if isinstance(value, Stamp) else parse_stamp(value)
            if stamp is not None:
                return stamp
    return None


def _dated_elements(tree: lxml_html.HtmlElement) -> list[_Shown]:
    """Every ``<time>`` and ``itemprop`` date outside comment sections, with its role."""
    found = []
    for element in tree.xpath(_DATED):
        if element.tag == "meta" or _elsewhere(element):
            continue
        shown_text = text(element.text_content()) or ""
        stamp = parse_stamp(element.get("datetime") or element.get("content")) or parse_stamp(
            shown_text
        )
        if stamp is None:
            continue
        found.append(_Shown(stamp, parse_stamp(shown_text), _role(element, shown_text)))
    return found


def _role(element: lxml_html.HtmlElement, shown_text: str) -> str:
    """Whether markup or the words before it call this date the publication or an update."""
    names = " ".join(element.get(attribute) or "" for attribute in ("itemprop", "class", "id"))
    before = (element.getparent().text or "") if element.getparent() is not None else ""
    previous = element.getprevious()
    if previous is not None:
        before = (text(previous.text_content()) or "") + " " + (previous.tail or "")
    published_name = _PUBLISH_NAME.search(names) or element.get("pubdate") is not None
    if _UPDATE_BEFORE.search(before[-40:]) or _UPDATE_OPENING.search(shown_text):
        return "modified"
    if _UPDATE_NAME.search(names) and not _PUBLISH_NAME.search(names):
        return "modified"
    return "published" if published_name else "plain"


def _elsewhere(element: lxml_html.HtmlElement) -> bool:
    """Inside comments, or inside a list of other stories (an aside, a "latest" or "related"
    box), whose dates are theirs, not this article's."""
    return any(
        _is_comments(ancestor) or _is_other_stories(ancestor)
        for ancestor in element.iterancestors()
    )


def _is_other_stories(element: lxml_html.HtmlElement) -> bool:
    if element.tag in {"aside", "nav"}:
        return True
    if element.tag in _CONTAINERS:
        return False
    names = f"{element.get('id') or ''} {element.get('class') or ''}"
    return bool(_OTHER_STORIES.search(names))


def _is_comments(element: lxml_html.HtmlElement) -> bool:
    """Whether an element is (part of) a comment section, by its id and class names."""
    if element.tag in _CONTAINERS:
        return False
    names = f"{element.get('id') or ''} {element.get('class') or ''}".split()
    return any(_COMMENTS.search(name) and not _NOT_SECTION.search(name) for name in names)


def load_date_parser() -> None:
    """Build dateparser's tables now rather than on first use.

    htmldate's search hands dateparser pieces of text that often are no date, and dateparser
    then tries each of its 205 locales, compiling each one's word pattern the first time: about
    3 s of CPU for the first page a process extracts. A worker calls this before its pool
    forks, so that every pool process starts with the patterns built, shared with the others.
    """
    # Text no locale reads as a date, so that every locale is tried (and compiled).
    get_external_parser().get_date_data("newsflow")


def _searched(tree: lxml_html.HtmlElement, url: str | None) -> Stamp | None:
    """htmldate's search for the original date, on the page without its comment sections."""
    pruned = deepcopy(tree)
    for section in pruned.xpath("//*[@id or @class]"):
        if _is_comments(section) and section.getparent() is not None:
            section.drop_tree()
    guess = htmldate.find_date(pruned, url=url, original_date=True, extensive_search=True)
    # A bare year comes back as its 1 January: usually a copyright line, not the story.
    if not guess or guess.endswith("-01-01"):
        return None
    return parse_stamp(guess)


def _statements(
    tree: lxml_html.HtmlElement, meta: dict[str, str], elements: list[_Shown]
) -> list[Stamp]:
    """Every timed statement of the page that may be the publication's, for giving a day its
    time: not what the page calls an update, and not another story's date."""
    values: list[Any] = [meta.get(name) for name in (*_PUBLISHED_META, *_GENERIC_META)]
    for node in json_ld_nodes(tree):
        values.extend(node.get(key) for key in ("datePublished", "dateCreated", "uploadDate"))
    stamps = [parse_stamp(value) for value in values if isinstance(value, str)]
    kept = [found for found in elements if found.role != "modified"]
    stamps.extend(found.stamp for found in kept)
    stamps.extend(found.shown for found in kept if found.shown)
    stamps.extend(_timed_lines(tree))
    return [stamp for stamp in stamps if stamp and stamp.precision != "day"]


def _timed_lines(tree: lxml_html.HtmlElement) -> list[Stamp]:
    """Dates with a time in the page's short lines of text ("December 19, 2016 | 7:08pm"),
    outside comments: a byline's date often gives the hour the markup leaves out."""
    found = []
    for line in _TEXT_LINES(tree):
        if len(line) > 80 or not _CLOCK.search(line):
            continue
        holder = line.getparent()
        if holder is not None and line.is_tail:
            holder = holder.getparent()  # a tail's text belongs to the element around both
        if holder is None or _elsewhere(holder):
            continue
        whole = text(holder.text_content()) or ""
        if _UPDATE_OPENING.search(whole) or _UPDATE_BEFORE.search(whole[:40]):
            continue  # "Updated: June 5, 2025 | 6:45pm" is an update's time
        stamp = parse_stamp(line) or (parse_stamp(whole) if len(whole) <= 100 else None)
        if stamp is not None and stamp.precision != "day":
            found.append(stamp)
    return found


def _with_time(published: Stamp, statements: list[Stamp]) -> Stamp:
    """A day-only publication with the time (and zone, where one is given) of a statement on
    the same day; any other publication as it is."""
    ordered = sorted(statements, key=lambda stamp: stamp.precision != "time")
    return next(
        (found for other in ordered if _differs(found := combine(published, other), published)),
        published,
    )


def _differs(first: Stamp, second: Stamp) -> bool:
    """Whether two statements differ in what they say, the offset included (equal datetimes
    in two zones are the same instant, but not the same statement)."""
    return (first.at, first.at.utcoffset(), first.precision) != (
        second.at,
        second.at.utcoffset(),
        second.precision,
    )


def combine(stated: Stamp, other: Stamp) -> Stamp:
    """``stated`` with what ``other`` adds about the same publication: its time, when
    ``stated`` is a day and ``other`` falls on it. Otherwise ``stated`` as it is."""
    if stated.precision == "day":
        return other if other.precision != "day" and other.day == stated.day else stated
    return stated


def with_zone(stated: Stamp, other: Stamp) -> Stamp:
    """``stated`` in ``other``'s zone, when one is a UTC moment and the other a wall-clock time
    of the same moment; otherwise ``stated`` as it is.

    Used for the feed's date only: within a page, a UTC moment and a wall-clock time a few
    hours apart are as often two moments (published, edited) as one, and taking them for one
    moved pages to the wrong day (measured on the validation sites).
    """
    offset = _same_moment_offset(stated, other)
    if offset is None:
        return stated
    if stated.precision == "time":
        return Stamp(stated.at.astimezone(timezone(offset)), "time")
    return Stamp(stated.at.replace(tzinfo=timezone(offset)), "time")


def _same_moment_offset(first: Stamp, second: Stamp) -> timedelta | None:
    """The offset that makes a UTC moment and a wall-clock time one moment, if any does.

    Seconds and minutes must agree to the quarter hour, so that two different times on a
    page are not taken for one.
    """
    if first.precision == second.precision:
        return None
    moment, wall = (first, second) if first.precision == "time" else (second, first)
    if wall.precision != "local-time" or moment.at.utcoffset():
        return None
    difference = wall.at - moment.at
    if not difference or abs(difference) > _WIDEST_OFFSET or difference % _QUARTER:
        return None
    return difference


def _shown_days(published: Stamp, url: str | None, elements: list[_Shown]) -> list[date]:
    """The days the page shows its readers for this publication: in its address, and as the
    text of the element that states the same moment."""
    days = []
    url_day = _url_day(url)
    if url_day:
        days.append(url_day)
    for found in elements:
        if found.stamp.at == published.at and found.shown and found.role != "modified":
            days.append(found.shown.day)
    return days


def _url_day(url: str | None) -> date | None:
    match = re.search(r"\D((?:19|20)\d{2})[/_-]([01]?\d)[/_-]([0-3]?\d)(?:\D|$)", url or "")
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _on_shown_day(published: Stamp, days: list[date]) -> Stamp:
    """A UTC moment that falls on another day than the page shows is the shown day's moment
    in the publisher's zone; the zone unknown, only the day is kept."""
    if published.precision != "time" or published.at.utcoffset():
        return published
    for day in days:
        if day == published.day:
            return published
        start = datetime.combine(day, time(), tzinfo=UTC)
        if start - _WIDEST_OFFSET <= published.at < start + timedelta(days=1) + _WIDEST_OFFSET:
            return replace(published, at=start, precision="day")
    return published
