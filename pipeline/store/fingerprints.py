"""Duplicate detection: is this article's body one we already have, word for word or nearly?

Wire stories are republished by many sites, each with its own furniture (which the clean stage
has removed) and small edits: another headline, a local first sentence, a trimmed ending. Two
bodies are compared as sets of word shingles (runs of five words), by how much they share:

* an **exact** duplicate has the same normalised body (one index lookup on its digest);
* a **near** duplicate shares at least half of all their shingles (Jaccard), or is a trimmed
  copy: most of its own shingles are in the other.

Comparing a new article with every stored one would grow with the store. Instead each body gets
a MinHash signature (datasketch), cut into bands; bodies that share a band are the only
candidates, and finding them is an index lookup per band. Candidates are then checked on their
real shingles, so the signature's estimate never links two articles by itself.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import numpy as np

# Five-word shingles: long enough that two stories on one event, sharing names, figures and a
# quote, share few of them; short enough that an edited word spoils only five.
SHINGLE = 5
# 42 bands of 3 rows (126 of the 128 permutations): a pair sharing 50% of its shingles becomes
# a candidate with probability 1 - (1 - 0.5**3)**42 > 0.99; one sharing 10%, about 4%.
PERMUTATIONS = 128
BANDS = 42
ROWS = 3
# What counts as a duplicate, checked on the real shingles.
MIN_JACCARD = 0.5
MIN_CONTAINMENT = 0.8
# Bodies shorter than this (a caption, "this video is unavailable") say too little to judge.
MIN_WORDS = 30
# The candidates checked per article, most bands shared first.
MAX_CANDIDATES = 20

_WORD = re.compile(r"\w+", re.UNICODE)
# Scripts written without spaces between words: shingles of characters there.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
_SEED = 20261127


def words(body: str) -> list[str]:
    """The body's words, case- and accent-insensitively; characters for CJK and Thai text."""
    text = unicodedata.normalize("NFKC", body).casefold()
    tokens = _WORD.findall(text)
    if len(_UNSPACED.findall(text)) > len(text) / 4:
        return [char for token in tokens for char in token]
    return tokens


def body_hash(body: str) -> str:
    """The digest of the normalised body: equal for bodies that differ only in spacing, case
    and punctuation."""
    return _digest(words(body))


def _digest(tokens: list[str]) -> str:
    return hashlib.sha256(" ".join(tokens).encode()).hexdigest()


def shingles(tokens: list[str]) -> set[str]:
    if len(tokens) < SHINGLE:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}


@dataclass(frozen=True)
class Fingerprint:
    """What the store keeps to find this body's duplicates: its digest and its band keys."""

    body_hash: str
    bands: tuple[int, ...]
    shingles: frozenset[str]

    @property
    def comparable(self) -> bool:
        """Long enough to be judged at all."""
        return len(self.shingles) >= MIN_WORDS - SHINGLE + 1


def load_minhash() -> None:
    """Import the MinHash library now. A worker calls this before its pool forks, so that
    every pool process starts with it loaded rather than each paying a second to load it."""
    import datasketch  # noqa: F401


def fingerprint(body: str) -> Fingerprint:
    tokens = words(body)
    grams = frozenset(shingles(tokens))
    digest = _digest(tokens)
    if len(grams) < MIN_WORDS - SHINGLE + 1:
        return Fingerprint(digest, (), grams)
    # Imported here: datasketch brings numpy and scipy, a second's start for every command that
    # only reads the store (a worker loads it early: see load_minhash).
    from datasketch import MinHash

    signature = MinHash(num_perm=PERMUTATIONS, seed=_SEED)
    signature.update_batch([gram.encode() for gram in grams])
    return Fingerprint(digest, band_keys(signature.hashvalues), grams)


def band_keys(hashvalues: np.ndarray) -> tuple[int, ...]:
    """One signed 64-bit key per band (its number and its rows), as an index column holds."""
    keys = []
    for band in range(BANDS):
        rows = hashvalues[band * ROWS : (band + 1) * ROWS].astype("<u8").tobytes()
        digest = hashlib.blake2b(bytes([band]) + rows, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return tuple(sorted(set(keys)))


@dataclass(frozen=True)
class Similarity:
    jaccard: float
    containment: float  # the share of the new body's shingles found in the other

    @property
    def duplicate(self) -> bool:
        return self.jaccard >= MIN_JACCARD or self.containment >= MIN_CONTAINMENT


@dataclass(frozen=True)
class Candidate:
    """An article as the judgement sees it: where it is, its title, its shingles."""

    url: str | None
    title: str | None
    shingles: frozenset[str]


def repeats(new: Candidate, other: Candidate) -> bool:
    """Whether ``new`` is a copy of ``other``'s story.

    One site's pages share their furniture, and on a page short of text (a brief, a paywall
    notice) what the clean stage leaves of it can outweigh the story; so two pages of one site
    are copies only under like titles. Across sites, wire copies get new headlines: the text
    alone decides.
    """
    if not similarity(new.shingles, other.shingles).duplicate:
        return False
    site = _site(new.url)
    return not (site and site == _site(other.url) and _titles_differ(new.title, other.title))


def _site(url: str | None) -> str | None:
    host = (urlsplit(url).hostname or "") if url else ""
    return host.removeprefix("www.") or None


def _titles_differ(first: str | None, second: str | None) -> bool:
    if not first or not second:
        return False
    a, b = set(words(first)), set(words(second))
    return len(a & b) < 0.5 * len(a | b)


def similarity(new: frozenset[str], other: frozenset[str]) -> Similarity:
    if not new or not other:
        return Similarity(0.0, 0.0)
    shared = len(new & other)
    return Similarity(shared / len(new | other), shared / len(new))
