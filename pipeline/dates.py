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
source on the same day; a moment given in UTC takes the offset of a wall-clock restatement of
the same moment elsewhere on the page; and where the page shows its readers another day than
a UTC moment falls on (in its address, or as the text of the ``<time>`` itself), the day the
page shows wins, since the UTC day is an artefact of conversion.
"""

from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import htmldate
from lxml import etree
from lxml import html as lxml_html

from .markup import article_node, json_ld_nodes, meta_pairs, text
from .models import DatePrecision

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
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
# UTC offsets in use run from -12:00 to +14:00, in quarter hours.
_WIDEST_OFFSET = timedelta(hours=14)
_QUARTER = timedelta(minutes=15)

# Words that mark a date as an update, in the languages of the corpora.
_UPDATE = (
    r"(?:last\s+)?(?:updated?|modified|edited|revised|aktualisiert|geändert|editiert|bearbeitet|"
    r"stand|mis\s+à\s+jour|actualizad[oa]|aggiornat[oa]|bijgewerkt|atualizad[oa])"
)
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
    r"(?:^|[-_])(?:comments?|commentlist|kommentare|disqus|respond|repl(?:y|ies))(?:$|[-_])", re.I
)
_NOT_SECTION = re.compile(r"count|link|date|icon|num|button|btn|toggle|bubble|open|show", re.I)
_CONTAINERS = {"html", "body", "main", "article"}

# -- reading one date statement -------------------------------------------------------------

_ISO = re.compile(
    r"(?<![\d.])(?P<year>(?:19|20)\d{2})(?P<sep>[-/.])(?P<month>[01]?\d)(?P=sep)(?P<day>[0-3]?\d)"
    r"(?:[T ]+(?P<hour>[0-2]?\d):(?P<minute>[0-5]\d)(?::(?P<second>[0-5]\d)(?:[.,]\d+)?)?"
    r"\s*(?P<zone>Z|[+-][01]\d:?[0-5]\d|[+-][01]\d(?!\d)|UTC|GMT)?)?(?!\d)",
    re.I,
)
_NUMERIC = re.compile(
    r"(?<![\d.])(?P<first>[0-3]?\d)(?P<sep>[./])(?P<second>[01]?\d)(?P=sep)"
    r"(?P<year>(?:19|20)\d{2}|\d{2})(?![\d])"
)
_MONTHS = {
    1: "jan janv januar jänner january januari janvier enero gennaio janeiro",
    2: "feb febr februar february februari février fevrier febrero febbraio fevereiro",
    3: "mar mär märz maerz march maart mars marzo março",
    4: "apr april avril abril aprile",
    5: "may mai mei mayo maggio maio",
    6: "jun juni june juin junio giugno junho",
    7: "jul juli july juillet julio luglio julho",
    8: "aug august augustus août aout agosto",
    9: "sep sept september septembre septiembre settembre setembro",
    10: "oct okt oktober october octobre octubre ottobre outubro",
    11: "nov november novembre noviembre novembro",
    12: "dec dez dezember december décembre decembre diciembre dicembre dezembro",
}
_MONTH_NUMBER = {name: number for number, names in _MONTHS.items() for name in names.split()}
_MONTH_WORD = r"(?P<mword>[^\W\d_]{3,10})\.?"
_DAY_MONTH_YEAR = re.compile(
    r"(?<!\d)(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|\.|º)?\s*(?:de\s+)?"
    + _MONTH_WORD
    + r",?\s*(?:de\s+)?(?P<year>(?:19|20)\d{2})(?!\d)",
    re.I,
)
_MONTH_DAY_YEAR = re.compile(
    _MONTH_WORD + r"\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d{2})(?!\d)",
    re.I,
)
# A time shortly after the date: "| 9:25pm", ", 10:28 p.m. ET", "um 15:33 Uhr", "T09:30".
_TIME_AFTER = re.compile(
    r"^[\s,|·•–—\-/@]*(?:at|um|à|a\s+las|alle|om|às|kl\.?)?[\s,]*"
    r"(?P<hour>[0-2]?\d)[:.h](?P<minute>[0-5]\d)(?::(?P<second>[0-5]\d))?"
    r"\s*(?P<ampm>[ap]\.?\s?m\.?(?![a-z]))?\s*(?:uhr|h\b)?\s*"
    r"(?P<zone>(?:UTC|GMT)\s*[+-]\s*\d{1,2}(?::?\d{2})?|[+-]\d{2}:?\d{2}|[A-Z]{1,5}\b)?",
    re.I,
)
# Zone abbreviations news sites print after a time; ambiguous ones ("ET", "IST") are left out.
_HOURS = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "WET": 0,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "MEZ": 1,
    "MESZ": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
    "SGT": 8,
    "HKT": 8,
    "JST": 9,
    "KST": 9,
    "AEST": 10,
    "AEDT": 11,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
}


@dataclass(frozen=True)
class Stamp:
    """A date as a source stated it: always aware, with how much of it was stated."""

    at: datetime
    precision: DatePrecision

    @property
    def day(self) -> date:
        """The day in the zone the source stated (for a day or local time, the day itself)."""
        return self.at.date()


@dataclass(frozen=True)
class PageDates:
    published: Stamp | None = None
    modified: Stamp | None = None


def parse_stamp(value: str | None) -> Stamp | None:
    """The first date stated in ``value`` (ISO 8601 or written out), with its time and zone
    when given; None when there is none or it is implausible for a news page."""
    if not value:
        return None
    found = _iso_stamp(value) or _written_stamp(value)
    if found is None or found.at < _EARLIEST - timedelta(days=1):
        return None
    if found.at > datetime.now(UTC) + timedelta(days=2):
        return None
    return found


def _iso_stamp(value: str) -> Stamp | None:
    match = _ISO.search(value)
    if not match:
        return None
    try:
        day = date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        return None
    if match["hour"] is None:
        return _day_stamp(day)
    wall = _wall(day, match["hour"], match["minute"], match["second"])
    if wall is None:
        return None
    return _zoned(wall, match["zone"])


def _written_stamp(value: str) -> Stamp | None:
    """A date written out ("3 June 2025", "June 3, 2025", "03.06.2025"), then any time."""
    candidates = []
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR):
        for match in pattern.finditer(value):
            month = _month(match["mword"])
            if month:
                candidates.append((match.start(), match.end(), int(match["year"]), month, match))
                break
    numeric = _NUMERIC.search(value)
    if numeric:
        day_month = _numeric_day_month(numeric)
        if day_month:
            year = int(numeric["year"])
            year = year + 2000 if year < 100 else year
            candidates.append((numeric.start(), numeric.end(), year, day_month[1], numeric))
    if not candidates:
        return None
    _, end, year, month, match = min(candidates, key=lambda found: found[0])
    day_number = int(match["day"]) if "day" in match.groupdict() else _numeric_day(match)
    try:
        day = date(year, month, day_number)
    except ValueError:
        return None
    clock = _TIME_AFTER.match(value[end : end + 40])
    if not clock:
        return _day_stamp(day)
    hour = int(clock["hour"])
    if clock["ampm"]:
        hour = hour % 12 + (12 if clock["ampm"].lower().startswith("p") else 0)
    wall = _wall(day, str(hour), clock["minute"], clock["second"])
    if wall is None:
        return _day_stamp(day)
    return _zoned(wall, clock["zone"])


def _numeric_day_month(match: re.Match[str]) -> tuple[int, int] | None:
    """(day, month) of "03.06.2025" (dots: day first, as where they are written) or of
    "06/03/2025" (slashes: month first, unless the first cannot be a month)."""
    first, second = int(match["first"]), int(match["second"])
    if match["sep"] == "/" and first <= 12:
        first, second = second, first
    return (first, second) if 1 <= second <= 12 and 1 <= first <= 31 else None


def _numeric_day(match: re.Match[str]) -> int:
    day_month = _numeric_day_month(match)
    return day_month[0] if day_month else 0


def _month(word: str) -> int | None:
    word = word.lower().rstrip(".")
    return _MONTH_NUMBER.get(word) or (_MONTH_NUMBER.get(word[:3]) if len(word) > 3 else None)


def _wall(day: date, hour: str, minute: str, second: str | None) -> datetime | None:
    try:
        return datetime.combine(day, time(int(hour), int(minute), int(second or 0)))
    except ValueError:
        return None


def _zoned(wall: datetime, zone: str | None) -> Stamp:
    """The wall-clock time in the zone named, or a local time when no zone is known."""
    offset = _offset(zone) if zone else None
    if offset is None:
        return Stamp(wall.replace(tzinfo=UTC), "local-time")
    return Stamp(wall.replace(tzinfo=timezone(offset)), "time")


def _offset(zone: str) -> timedelta | None:
    compact = re.sub(r"\s+", "", zone).upper()
    if compact in _HOURS:
        return timedelta(hours=_HOURS[compact])
    match = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?", compact)
    if not match:
        return None
    offset = timedelta(hours=int(match[2]), minutes=int(match[3] or 0))
    return -offset if match[1] == "-" else offset


def _day_stamp(day: date) -> Stamp:
    return Stamp(datetime.combine(day, time(), tzinfo=UTC), "day")


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
    if published is None:
        published = _searched(tree, url)
        updates = {found.stamp.day for found in elements if found.role == "modified"}
        if published is not None and published.day in updates:
            published = None  # the search found the date the page calls an update
    modified = _first(
        [text(article.get("dateModified"))],
        [meta.get(name) for name in _MODIFIED_META],
        [found.stamp for found in elements if found.role == "modified"],
    )
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
        if element.tag == "meta" or _in_comments(element):
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


def _in_comments(element: lxml_html.HtmlElement) -> bool:
    return any(_is_comments(ancestor) for ancestor in element.iterancestors())


def _is_comments(element: lxml_html.HtmlElement) -> bool:
    """Whether an element is (part of) a comment section, by its id and class names."""
    if element.tag in _CONTAINERS:
        return False
    names = f"{element.get('id') or ''} {element.get('class') or ''}".split()
    return any(_COMMENTS.search(name) and not _NOT_SECTION.search(name) for name in names)


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
    """Every timed statement of the page, for giving a day its time or a moment its zone."""
    values: list[Any] = list(meta.values())
    for node in json_ld_nodes(tree):
        values.extend(node.get(key) for key in ("datePublished", "dateCreated", "uploadDate"))
    stamps = [parse_stamp(value) for value in values if isinstance(value, str)]
    stamps.extend(found.stamp for found in elements)
    stamps.extend(found.shown for found in elements if found.shown)
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
        if holder is None or _in_comments(holder):
            continue
        whole = text(holder.text_content()) or ""
        stamp = parse_stamp(line) or (parse_stamp(whole) if len(whole) <= 100 else None)
        if stamp is not None and stamp.precision != "day":
            found.append(stamp)
    return found


def _with_time(published: Stamp, statements: list[Stamp]) -> Stamp:
    """The publication with as much time and zone as the page gives for the same moment."""
    ordered = sorted(statements, key=lambda stamp: stamp.precision != "time")
    for _ in range(2):  # a day may take a local time, which may then take its zone
        combined = next(
            (found for other in ordered if _differs(found := combine(published, other), published)),
            published,
        )
        if combined is published:
            break
        published = combined
    return published


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
    ``stated`` is a day and ``other`` falls on it; its zone, when one is a UTC moment and the
    other a wall-clock time of the same moment. Otherwise ``stated`` as it is."""
    if stated.precision == "day":
        return other if other.precision != "day" and other.day == stated.day else stated
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
