"""One date as a source writes it, read with what it states: the day, the time, the zone.

ISO 8601 in its common spellings, numeric dates ("03.06.2025" day first, "06/03/2025" month
first unless it cannot be), dates written out in English, German, French, Spanish, Italian,
Dutch and Portuguese, with a time after them ("| 9:25pm", "15:33 Uhr") and a zone ("GMT+10",
"EST", "+0200"); dateutil reads the rest where it finds a whole date. The result is always
timezone-aware, with its precision (see :class:`pipeline.models.Article`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from dateutil import parser as date_parser

from pipeline.models import DatePrecision

_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
# Words that label a date as an update, not the publication, in the languages of the corpora.
UPDATE_WORDS = (
    r"(?:last\s+)?(?:updated?|modified|edited|revised|aktualisiert|geändert|editiert|bearbeitet|"
    r"stand|mis\s+à\s+jour|actualizad[oa]|aggiornat[oa]|bijgewerkt|atualizad[oa])"
)
# UTC offsets in use run from -12:00 to +14:00.
_WIDEST_OFFSET = timedelta(hours=14)

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


def parse_stamp(value: str | None) -> Stamp | None:
    """The first date stated in ``value`` (ISO 8601 or written out), with its time and zone
    when given; None when there is none or it is implausible for a news page."""
    if not value:
        return None
    found = _iso_stamp(value) or _written_stamp(value) or _complete_stamp(value)
    if found is None or found.at < _EARLIEST - timedelta(days=1):
        return None
    if found.at > datetime.now(UTC) + timedelta(days=2):
        return None
    return found


# Two defaults that differ in every part of a date: what dateutil fills from one is not stated.
_DEFAULTS = (datetime(1901, 1, 1), datetime(1902, 2, 2))


def _complete_stamp(value: str) -> Stamp | None:
    """dateutil's reading of the forms the patterns above do not know ("20200316", "Mon Mar 16
    2020"), only where it finds a whole date in the value, not a part filled from a default."""
    readings = []
    for default in _DEFAULTS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", date_parser.UnknownTimezoneWarning)
                readings.append(date_parser.parse(value, fuzzy=True, default=default))
        except (ValueError, OverflowError):
            return None
    first, second = readings
    if first.date() != second.date():
        return None  # the year, month or day came from the default
    if first.time() == time() and second.time() == time():
        return _day_stamp(first.date())
    if first.tzinfo is not None:
        return Stamp(first, "time")
    return Stamp(first.replace(tzinfo=UTC), "local-time")


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
    if offset > _WIDEST_OFFSET:
        return None  # no zone is this far from UTC: a typo, read as no zone at all
    return -offset if match[1] == "-" else offset


def _day_stamp(day: date) -> Stamp:
    return Stamp(datetime.combine(day, time(), tzinfo=UTC), "day")
