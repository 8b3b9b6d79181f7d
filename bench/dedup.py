"""Duplicate lookup time per article as the store grows: at 10,000 and at 100,000 articles.

Run from the repository root::

    python -m bench.dedup [--sizes 10000,100000] [--probes 300] [--database-url URL] [--json]

The store is filled with synthetic articles (300 words drawn from a Zipf-distributed
vocabulary, as words in news text are), each with its body digest and MinHash bands as the
store stage writes them, in bulk. At each size the same probes are looked up with
``pipeline.store.duplicates.find_original``, the lookup the store stage makes: half are
lightly edited copies of stored articles (which must be found), half are new (which must not).
The lookup is timed alone, and the whole store of the article (``upsert_article``, rolled back)
beside it. The reference is the first size: the last line prints the ratio.

Default: a fresh SQLite file in a temporary folder (deleted afterwards). With
``--database-url`` (an empty PostgreSQL database), the schema is created there and the tables
filled; drop the database afterwards.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, text

from pipeline.models import Article
from pipeline.settings import Settings
from pipeline.store import duplicates, fingerprints
from pipeline.store.articles import upsert_article
from pipeline.store.db import dispose_engines, get_engine, prepare_database, session_scope
from pipeline.store.tables import ArticleBand, ArticleRow

VOCABULARY = 30_000
WORDS = 300
BATCH = 2_000


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Texts:
    """Synthetic article bodies, reproducible from a seed."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.vocabulary = np.array([f"w{index}" for index in range(VOCABULARY)])

    def body(self) -> str:
        ranks = np.minimum(self.rng.zipf(1.2, WORDS), VOCABULARY) - 1
        words = self.vocabulary[ranks]
        # Paragraphs of 50 words, as the extract stage joins them.
        return "\n\n".join(" ".join(words[start : start + 50]) for start in range(0, WORDS, 50))

    def edited(self, body: str) -> str:
        """A re-post: a new first sentence and every 40th word changed."""
        words = body.split(" ")
        for index in range(0, len(words), 40):
            words[index] = f"x{self.rng.integers(1_000_000)}"
        return "A local introduction to the story. " + " ".join(words)


def grow(settings: Settings, texts: Texts, start: int, stop: int, bodies: list[str]) -> None:
    """Append articles ``start`` .. ``stop - 1`` in bulk, with what the store stage writes."""
    engine = get_engine(settings.database)
    now = datetime.now(UTC)
    for first in range(start, stop, BATCH):
        articles: list[dict[str, Any]] = []
        bands: list[dict[str, Any]] = []
        for number in range(first, min(first + BATCH, stop)):
            body = texts.body()
            bodies.append(body)
            fingerprint = fingerprints.fingerprint(body)
            articles.append(
                {
                    "id": number + 1,
                    "canonical_url": f"https://site{number % 500}.example/a/{number}",
                    "url": f"https://site{number % 500}.example/a/{number}",
                    "title": f"Article {number}",
                    "authors": [],
                    "tags": [],
                    "images": [],
                    "related": [],
                    "body": body,
                    "word_count": WORDS,
                    "extractor_version": "bench",
                    "body_hash": fingerprint.body_hash,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            bands.extend({"article_id": number + 1, "key": key} for key in fingerprint.bands)
        with engine.begin() as connection:
            connection.execute(insert(ArticleRow), articles)
            connection.execute(insert(ArticleBand), bands)
        if (first // BATCH) % 10 == 0:
            log(f"  {min(first + BATCH, stop):,} articles stored")
    if engine.dialect.name == "postgresql":
        # Rows inserted with their ids leave the id sequence behind: move it past them.
        with engine.begin() as connection:
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('article', 'id'), :last)"),
                {"last": stop},
            )
    # A live database has its planner statistics kept by autovacuum (or SQLite's
    # optimize); a bulk load is measured after the ANALYZE that the PostgreSQL manual asks for.
    # Without it PostgreSQL guesses thousands of rows per band key and plans a parallel scan.
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


@dataclass
class Result:
    size: int
    lookup_median_ms: float
    lookup_p95_ms: float
    store_median_ms: float
    copies_found: int
    copies: int
    new_linked: int
    new: int


def measure(settings: Settings, size: int, probes: list[tuple[str, int | None]]) -> Result:
    """Time the lookup of each probe (and its whole store, rolled back)."""
    lookups, stores, found, false_links = [], [], 0, 0
    for number, (body, original) in enumerate(probes):
        fingerprint = fingerprints.fingerprint(body)
        url = f"https://probe.example/{number}"
        probe = fingerprints.Candidate(url=url, title=None, shingles=fingerprint.shingles)
        with session_scope(settings) as session:
            started = time.perf_counter()
            linked = duplicates.find_original(session, article=probe, fingerprint=fingerprint)
            lookups.append(time.perf_counter() - started)
        if original is not None:
            found += linked == original
        else:
            false_links += linked is not None
        article = Article(
            url=url,
            body=body,
            word_count=len(body.split()),
            extractor_version="bench",
        )
        with session_scope(settings) as session:
            started = time.perf_counter()
            upsert_article(session, article=article)
            session.flush()
            stores.append(time.perf_counter() - started)
            session.rollback()
    copies = sum(original is not None for _, original in probes)
    return Result(
        size=size,
        lookup_median_ms=statistics.median(lookups) * 1000,
        lookup_p95_ms=statistics.quantiles(lookups, n=20)[18] * 1000,
        store_median_ms=statistics.median(stores) * 1000,
        copies_found=found,
        copies=copies,
        new_linked=false_links,
        new=len(probes) - copies,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="store sizes, ascending")
    parser.add_argument("--probes", type=int, default=300, help="articles looked up per size")
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    arguments = parser.parse_args(argv)
    sizes = sorted(int(size) for size in arguments.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="newsflow-bench-dedup-") as folder:
        settings = Settings(
            data_dir=Path(folder),
            database_url=arguments.database_url or f"sqlite:///{folder}/bench.db",
        )
        prepare_database(settings)
        texts = Texts(seed=7)
        bodies: list[str] = []
        results = []
        for size in sizes:
            log(f"growing the store to {size:,} articles")
            started = time.perf_counter()
            grow(settings, texts, len(bodies), size, bodies)
            log(f"  built in {time.perf_counter() - started:.0f}s; looking up")
            # The same kind of probes at every size: copies of articles spread over the store.
            stride = max(1, size // arguments.probes)
            probes: list[tuple[str, int | None]] = []
            for index in range(arguments.probes):
                if index % 2 == 0:
                    number = (index * stride) % size
                    probes.append((texts.edited(bodies[number]), number + 1))
                else:
                    probes.append((texts.body(), None))
            results.append(measure(settings, size, probes))
        dispose_engines()
    if arguments.json:
        print(json.dumps([asdict(result) for result in results], indent=2))
        return 0
    print(f"duplicate lookup per article ({arguments.probes} probes per size, {WORDS}-word bodies)")
    print(f"{'articles':>10} {'lookup median':>14} {'lookup p95':>11} {'store median':>13}  found")
    for result in results:
        print(
            f"{result.size:>10,} {result.lookup_median_ms:>11.2f} ms"
            f" {result.lookup_p95_ms:>8.2f} ms {result.store_median_ms:>10.2f} ms"
            f"  {result.copies_found}/{result.copies} copies,"
            f" {result.new_linked}/{result.new} new ones linked"
        )
    first, last = results[0], results[-1]
    print(
        f"{last.size:,} vs {first.size:,} articles: lookup "
        f"{last.lookup_median_ms / first.lookup_median_ms:.2f}x for "
        f"{last.size / first.size:.0f}x the articles"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
