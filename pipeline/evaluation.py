"""Scoring article bodies the way the public article-extraction benchmark does.

Both texts become word tokens (``\\w+``) and then shingles of four consecutive tokens, counted
as multisets. Per page, true positives, false positives and false negatives are divided by
their sum, so a long page weighs no more than a short one. Precision is averaged over the
pages where something was predicted, recall over the pages where something was expected, and
F1 is the harmonic mean of the two averages.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

_TOKEN = re.compile(r"\w+", re.UNICODE)
SHINGLE = 4


@dataclass(frozen=True)
class PageScore:
    key: str
    true_positive: float
    false_positive: float
    false_negative: float
    milliseconds: float

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
        precision, recall = self.precision or 0.0, self.recall or 0.0
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@dataclass(frozen=True)
class Report:
    """One extractor's scores over a set of pages."""

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
        precision, recall = self.precision, self.recall
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    def milliseconds(self, quantile: float) -> float:
        times = sorted(page.milliseconds for page in self.pages)
        return times[min(len(times) - 1, int(quantile * len(times)))] if times else 0.0


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
    total = true_positive + false_positive + false_negative
    if total == 0:
        return 0.0, 0.0, 0.0
    return true_positive / total, false_positive / total, false_negative / total


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


def compare(
    pages: list[Page], extractors: dict[str, Callable[[Page], str]]
) -> tuple[list[Report], dict[str, dict[str, str]]]:
    """Score several extractors on the same pages, timing them in turn on each page.

    Taking the extractors in turn page by page, after one warm-up call each (models and
    caches load there), keeps a slower moment of the machine from falling on one of them.
    """
    for extractor in extractors.values():
        if pages:
            extractor(pages[0])
    scores: dict[str, list[PageScore]] = {name: [] for name in extractors}
    predictions: dict[str, dict[str, str]] = {name: {} for name in extractors}
    for page in pages:
        for name, extractor in extractors.items():
            started = time.perf_counter()
            try:
                predicted = extractor(page)
            except Exception:
                predicted = ""
            elapsed = (time.perf_counter() - started) * 1000
            predictions[name][page.key] = predicted
            scores[name].append(PageScore(page.key, *match(page.expected, predicted), elapsed))
    return [Report(name, scores[name]) for name in extractors], predictions
