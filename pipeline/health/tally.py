"""What a source's pages came to, counted: the sums health keeps and compares.

A :class:`Tally` adds up pages as the store stage saw them: articles (with which fields they
filled, and their body length by :func:`words_bin`) and failures by reason. Tallies add and
subtract exactly, which is how a recent window is cut out of daily sums (see
:mod:`pipeline.store.health`), and a median body length is read back from the bins.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pipeline.errors import (
    InvalidMessage,
    InvalidRequest,
    MessageLost,
    NewsflowError,
    NotFound,
    Outage,
    SchemaError,
    Throttled,
)
from pipeline.models import Article

FIELDS = ("title", "authors", "published", "body", "language", "image")
ARTICLE = "article"
INTERSTITIAL = "interstitial:"
# Four bins to each doubling of length: a median read back from them is within 9% of the
# true one, and a day of one source's articles fills a dozen or two.
_BINS_PER_DOUBLING = 4
Key = TypeVar("Key", str, int)
NO_BODY = 0  # the bin of an article without a body; failures have none (-1)


def words_bin(words: int) -> int:
    """The bin an article of ``words`` words is counted in: 0 for none, then 1, 2, ...
    each covering lengths 2**(1/4) times those of the one before."""
    if words <= 0:
        return NO_BODY
    return 1 + math.floor(_BINS_PER_DOUBLING * math.log2(words) + 1e-9)


def _bin_bounds(number: int) -> tuple[float, float]:
    """The lengths a bin covers, from its lower bound to (not including) its upper one."""
    if number <= NO_BODY:
        return 0.0, 0.0
    return 2 ** ((number - 1) / _BINS_PER_DOUBLING), 2 ** (number / _BINS_PER_DOUBLING)


@dataclass(frozen=True)
class Observation:
    """One page as health counts it: an article and what it filled, or a failure's reason."""

    outcome: str
    words_bin: int = -1
    duplicate: bool = False
    filled: frozenset[str] = frozenset()


def observe_article(article: Article, *, duplicate: bool) -> Observation:
    """What health counts of a stored article."""
    present = {
        "title": bool(article.title),
        "authors": bool(article.authors),
        "published": article.published_at is not None,
        "body": bool(article.body.strip()),
        "language": bool(article.language),
        "image": bool(article.images),
    }
    return Observation(
        outcome=ARTICLE,
        words_bin=words_bin(article.word_count),
        duplicate=duplicate,
        filled=frozenset(name for name, there in present.items() if there),
    )


# Failures that say nothing of a source's pages: our own infrastructure away, a lost
# message, a rate limit, a record or request of ours at fault.
_OURS: tuple[type[Exception], ...] = (
    Outage,
    MessageLost,
    Throttled,
    InvalidMessage,
    NotFound,
    InvalidRequest,
    SchemaError,
)


def observe_failure(error: BaseException) -> Observation | None:
    """What health counts of a page's failure, recorded for good: its reason; None for a
    failure of ours rather than of the page."""
    if isinstance(error, _OURS):
        return None
    return Observation(
        outcome=error.reason if isinstance(error, NewsflowError) else "internal_error"
    )


@dataclass
class Tally:
    """Pages added up: articles, the fields they filled, their lengths, and failures."""

    articles: int = 0
    duplicates: int = 0
    filled: Counter[str] = field(default_factory=Counter)
    words: Counter[int] = field(default_factory=Counter)  # bin -> articles
    failures: Counter[str] = field(default_factory=Counter)  # reason -> pages

    @property
    def pages(self) -> int:
        return self.articles + sum(self.failures.values())

    @property
    def interstitials(self) -> int:
        return sum(n for reason, n in self.failures.items() if reason.startswith(INTERSTITIAL))

    def add(
        self,
        outcome: str,
        words_bin: int,
        pages: int,
        duplicates: int = 0,
        filled: dict[str, int] | None = None,
    ) -> None:
        """Add a row of counts: ``pages`` pages of one outcome (and, for articles, one bin)."""
        if outcome != ARTICLE:
            self.failures[outcome] += pages
            return
        self.articles += pages
        self.duplicates += duplicates
        self.words[words_bin] += pages
        for name, count in (filled or {}).items():
            self.filled[name] += count

    def minus(self, other: Tally) -> Tally:
        """These pages without ``other``'s, which are among them. A count below zero is taken
        as zero: the two were read by separate statements, and a page stored in between may
        be in one and not the other."""
        return Tally(
            articles=max(self.articles - other.articles, 0),
            duplicates=max(self.duplicates - other.duplicates, 0),
            filled=_less(self.filled, other.filled),
            words=_less(self.words, other.words),
            failures=_less(self.failures, other.failures),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "duplicates": self.duplicates,
            "filled": dict(self.filled),
            "words": {str(number): count for number, count in self.words.items()},
            "failures": dict(self.failures),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tally:
        return cls(
            articles=int(data.get("articles", 0)),
            duplicates=int(data.get("duplicates", 0)),
            filled=Counter(data.get("filled", {})),
            words=Counter({int(number): count for number, count in data.get("words", {}).items()}),
            failures=Counter(data.get("failures", {})),
        )

    def fill_rate(self, name: str) -> float | None:
        return self.filled[name] / self.articles if self.articles else None

    def median_words(self) -> float | None:
        """The median body length of the articles, read from the bins (within a bin, its
        articles are taken as spread evenly on a log scale)."""
        if not self.articles:
            return None
        middle = self.articles / 2
        below = 0
        for number in sorted(self.words):
            count = self.words[number]
            if below + count >= middle and count:
                low, high = _bin_bounds(number)
                if number <= NO_BODY:
                    return 0.0
                return float(low * (high / low) ** ((middle - below) / count))
            below += count
        return None  # unreachable with a positive count

    def share_at_most(self, words: float) -> float | None:
        """The share of the articles whose body is at most ``words`` long, from the bins."""
        if not self.articles:
            return None
        under = 0.0
        for number, count in self.words.items():
            low, high = _bin_bounds(number)
            if high <= words or number <= NO_BODY:
                under += count
            elif low < words:
                under += count * math.log(words / low) / math.log(high / low)
        return under / self.articles


def _less(these: Counter[Key], those: Counter[Key]) -> Counter[Key]:
    result = Counter(these)
    result.subtract(those)
    return Counter({key: count for key, count in result.items() if count > 0})
