"""Scoring extraction the way each development corpus's own benchmark does.

- **Bodies** (``article-body-dev``), as the public article-extraction benchmark scores them:
  both texts become word tokens (``\\w+``) and then shingles of four consecutive tokens,
  counted as multisets. Per page, true positives, false positives and false negatives are
  divided by their sum, so a long page weighs no more than a short one. Precision is averaged
  over the pages where something was predicted, recall over the pages where something was
  expected, and F1 is the harmonic mean of the two averages.
- **Snippets** (``snippets-dev``), as trafilatura's evaluation scores them: each text the body
  must hold and does is a true positive, each it misses a false negative, and each piece of
  boilerplate it holds a false positive, summed over all pages.
- **Dates** (``dates-dev``): the share of pages whose publication day is found exactly.
- **Metadata** (``metadata-dev``): titles equal as words, dates within a day (a page's local
  day may differ from the UTC one a source gives), and authors as an F1 over names.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

_TOKEN = re.compile(r"\w+", re.UNICODE)
SHINGLE = 4


@dataclass(frozen=True)
class PageScore:
    key: str
    true_positive: float
    false_positive: float
    false_negative: float
    milliseconds: float = 0.0

    @property
    def precision(self) -> float | None:
        if self.true_positive + self.false_positive == 0:
            return None  # nothing predicted: counts in recall only
        return self.true_positive / (self.true_positive + self.false_positive)

    @property
    def recall(self) -> float | None:
        if self.true_positive + self.false_negative == 0:
            return None
        return self.true_positive / (self.true_positive + self.false_negative)

    @property
    def f1(self) -> float:
        return _harmonic(self.precision or 0.0, self.recall or 0.0)


@dataclass(frozen=True)
class Report:
    """One extractor's body scores over a set of pages (page-averaged, as the benchmark)."""

    name: str
    pages: list[PageScore]

    @property
    def precision(self) -> float:
        values = [page.precision for page in self.pages if page.precision is not None]
        return statistics.mean(values) if values else 0.0

    @property
    def recall(self) -> float:
        values = [page.recall for page in self.pages if page.recall is not None]
        return statistics.mean(values) if values else 0.0

    @property
    def f1(self) -> float:
        return _harmonic(self.precision, self.recall)


@dataclass(frozen=True)
class Counts:
    """True positives, false positives and false negatives summed over pages."""

    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.true_positive + other.true_positive,
            self.false_positive + other.false_positive,
            self.false_negative + other.false_negative,
        )

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 0.0

    @property
    def recall(self) -> float:
        expected = self.true_positive + self.false_negative
        return self.true_positive / expected if expected else 0.0

    @property
    def f1(self) -> float:
        return _harmonic(self.precision, self.recall)


def total(counts: Iterable[Counts]) -> Counts:
    return sum(counts, Counts())


def _harmonic(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def shingles(text: str, size: int = SHINGLE) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    if len(tokens) <= size:
        return Counter([tuple(tokens)] if tokens else [])
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def match(expected: str, predicted: str) -> tuple[float, float, float]:
    """(tp, fp, fn) of shingles, normalised to sum to one (all zero when both are empty)."""
    truth, guess = shingles(expected), shingles(predicted)
    true_positive = sum((truth & guess).values())
    false_positive = sum((guess - truth).values())
    false_negative = sum((truth - guess).values())
    found = true_positive + false_positive + false_negative
    if found == 0:
        return 0.0, 0.0, 0.0
    return true_positive / found, false_positive / found, false_negative / found


def snippet_counts(body: str, required: Iterable[str], forbidden: Iterable[str]) -> Counts:
    """How a body fares against the texts it must and must not hold.

    Whitespace is compared as single spaces on both sides: where a paragraph breaks is layout.
    """
    text = _spaced(body)
    held = [_spaced(snippet) in text for snippet in required if snippet.strip()]
    leaked = [_spaced(snippet) in text for snippet in forbidden if snippet.strip()]
    return Counts(sum(held), sum(leaked), len(held) - sum(held))


def _spaced(text: str) -> str:
    return " ".join((text or "").split())


def plain(text: str | None) -> str:
    """Lower-case words only: how titles and names are compared."""
    return " ".join(_TOKEN.findall((text or "").lower()))


def author_counts(found: Iterable[str], expected: Iterable[str]) -> Counts:
    """Names found against names expected, compared as lower-case words."""
    guess = {plain(name) for name in found if plain(name)}
    truth = {plain(name) for name in expected if plain(name)}
    return Counts(len(guess & truth), len(guess - truth), len(truth - guess))


def split_names(authors: Iterable[str]) -> list[str]:
    """A corpus's author strings as names, split plainly (not by the code under test)."""
    return [
        part
        for author in authors
        for part in re.split(r"\s*(?:,|;|\band\b)\s*", author)
        if part.strip()
    ]


def same_day(found: date | datetime | None, expected: str) -> bool:
    """The day found is the day expected (``YYYY-MM-DD``), as the page's own zone has it."""
    if found is None:
        return False
    day = found.date() if isinstance(found, datetime) else found
    return day.isoformat() == expected[:10]


def same_moment(found: datetime | date | None, expected: str) -> bool:
    """Equal to the day; a page's local date may be a day off the UTC one a source gives."""
    if found is None:
        return False
    truth = datetime.fromisoformat(expected.replace("Z", "+00:00"))
    if not isinstance(found, datetime):
        return abs((found - truth.date()).days) <= 1
    if found.utcoffset() is not None and truth.utcoffset() is not None:
        return abs(found - truth) < timedelta(days=1)
    return abs((found.date() - truth.date()).days) <= 1


@dataclass(frozen=True)
class Page:
    key: str
    url: str
    html: str
    expected: str


def load_pages(folder: Path) -> Iterator[Page]:
    """The pages of a folder in the benchmark's layout: ``html/<key>.html.gz`` and
    ``ground-truth.json`` with ``{key: {"url": ..., "articleBody": ...}}``."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(truth):
        raw = gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes())
        yield Page(
            key,
            truth[key].get("url", ""),
            raw.decode("utf-8", errors="replace"),
            truth[key].get("articleBody", ""),
        )
