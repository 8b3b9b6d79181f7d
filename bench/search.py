"""Search latency over a store of 100,000 articles, on SQLite and on PostgreSQL.

Run from the repository root::

    python -m bench.search [--articles 100000] [--runs 15] [--postgres-url URL] [--json]

The store is filled in bulk with articles made of real news sentences: the hand-checked bodies
of ``article-body-dev`` cut into sentences, each article 8 to 40 of them drawn at random (a
fixed seed), titled by its first. The search index is kept by the database as for any write
(triggers on SQLite, a generated column on PostgreSQL), so the load's rate includes it.

Each query runs ``--runs`` times through ``pipeline.store.search.search_articles`` (20 results,
with their snippets), the call ``newsflow search`` makes; the median and the slowest are
printed. The reference, in the same run, is the same words looked for without the index:
counting the articles whose title or body holds each of them (``LIKE '%word%'``), which reads
every article, as any search without an index must (3 runs).

SQLite: a fresh file in a temporary folder. PostgreSQL: a fresh database on the server of
``--postgres-url`` (default: ``NEWSFLOW_BENCH_POSTGRES_URL``, or the test server
``postgresql+psycopg://postgres@127.0.0.1:5432/test``), dropped afterwards; skipped, saying
why, when none answers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, or_, select, text
from sqlmodel import col

from bench.corpora import add_corpus_argument
from bench.services import log
from pipeline.settings import Settings
from pipeline.store.db import dispose_engines, get_engine, prepare_database, session_scope
from pipeline.store.search import search_articles
from pipeline.store.tables import ArticleRow

BATCH = 2_000
LIMIT = 20
REFERENCE_RUNS = 3
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Queries of the kinds people type, from a rare name to two common words; all from the corpus.
QUERIES = (
    "Trump",
    "police",
    "climate change",
    "government OR minister",
    '"prime minister"',
    "company -police",
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass
class QueryResult:
    backend: str
    query: str
    found: int  # results returned (at most 20)
    median_ms: float
    slowest_ms: float
    like_scan_ms: float  # the reference: the same words without the index


@dataclass
class LoadResult:
    backend: str
    articles: int
    seconds: float
    per_second: float


def sentences(corpus: Path) -> list[str]:
    """Every sentence of the corpus's hand-checked bodies, of 5 words or more."""
    truth = json.loads((corpus / "article-body-dev" / "ground-truth.json").read_text("utf-8"))
    found: list[str] = []
    for item in truth.values():
        for paragraph in item["articleBody"].split("\n"):
            found.extend(
                part for part in _SENTENCE.split(paragraph.strip()) if len(part.split()) >= 5
            )
    return found


def articles(pool: list[str], count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for number in range(count):
        chosen = rng.sample(pool, rng.randint(8, 40))
        paragraphs = [" ".join(chosen[start : start + 4]) for start in range(0, len(chosen), 4)]
        body = "\n\n".join(paragraphs)
        url = f"https://site{number % 500}.example/a/{number}"
        yield {
            "canonical_url": url,
            "url": url,
            "title": chosen[0][:200],
            "language": "en",
            "authors": [],
            "tags": [],
            "images": [],
            "related": [],
            "body": body,
            "word_count": len(body.split()),
            "published_at": now - timedelta(minutes=number),
            "extractor_version": "bench",
            "created_at": now,
            "updated_at": now,
        }


def load(settings: Settings, backend: str, pool: list[str], count: int) -> LoadResult:
    engine = get_engine(settings.database)
    started = time.perf_counter()
    batch: list[dict[str, Any]] = []
    for number, row in enumerate(articles(pool, count), start=1):
        batch.append(row)
        if len(batch) == BATCH or number == count:
            with engine.begin() as connection:
                connection.execute(insert(ArticleRow), batch)
            batch = []
            if number % (BATCH * 10) == 0:
                log(f"{backend}: {number:,} articles stored")
    seconds = time.perf_counter() - started
    # A live database keeps its statistics by autovacuum (or SQLite's optimize); a bulk load
    # is measured after the ANALYZE that the PostgreSQL manual asks for.
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return LoadResult(backend, count, round(seconds, 1), round(count / seconds, 1))


def _like_scan(settings: Settings, query: str) -> float:
    """The words of ``query`` looked for without the index (each in the title or the body)."""
    words = [word for word in re.findall(r"\w+", query) if word != "OR"]
    conditions = [
        or_(col(ArticleRow.title).like(f"%{word}%"), col(ArticleRow.body).like(f"%{word}%"))
        for word in words
    ]
    timings = []
    for _ in range(REFERENCE_RUNS):
        started = time.perf_counter()
        with session_scope(settings) as session:
            session.execute(select(func.count()).select_from(ArticleRow).where(*conditions)).one()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def measure(settings: Settings, backend: str, runs: int) -> list[QueryResult]:
    results = []
    for query in QUERIES:
        timings, found = [], 0
        for _ in range(runs):
            started = time.perf_counter()
            with session_scope(settings) as session:
                found = len(search_articles(session, query=query, limit=LIMIT))
            timings.append(time.perf_counter() - started)
        results.append(
            QueryResult(
                backend,
                query,
                found,
                round(statistics.median(timings) * 1000, 2),
                round(max(timings) * 1000, 2),
                round(_like_scan(settings, query), 1),
            )
        )
        log(f"{backend}: {query!r} {results[-1].median_ms} ms")
    return results


@contextmanager
def sqlite_settings() -> Iterator[Settings]:
    with tempfile.TemporaryDirectory(prefix="newsflow-bench-search-") as folder:
        settings = Settings(database_url=f"sqlite:///{Path(folder) / 'search.db'}")
        try:
            yield settings
        finally:
            dispose_engines()


@contextmanager
def postgres_settings(server: str) -> Iterator[Settings | None]:
    try:
        import psycopg
    except ImportError:
        log("postgresql: skipped, psycopg is not installed (pip install 'newsflow[postgres]')")
        yield None
        return
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    name = f"newsflow_bench_search_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        log(f"postgresql: skipped, no server answers at {server}: {error}")
        yield None
        return
    base, _, _ = server.rpartition("/")
    try:
        yield Settings(database_url=f"{base}/{name}")
    finally:
        dispose_engines()
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000, help="default 100,000")
    parser.add_argument("--runs", type=int, default=15, help="runs of each query (default 15)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("NEWSFLOW_BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server (any database on it): a fresh database is made there",
    )
    add_corpus_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.articles < 1 or args.runs < 1:
        parser.error("--articles and --runs must be at least 1")

    pool = sentences(args.corpus)
    loads: list[LoadResult] = []
    queries: list[QueryResult] = []
    for backend, opened in (
        ("sqlite", sqlite_settings()),
        ("postgresql", postgres_settings(args.postgres_url)),
    ):
        with opened as settings:
            if settings is None:
                continue
            prepare_database(settings)
            log(f"{backend}: storing {args.articles:,} articles")
            loads.append(load(settings, backend, pool, args.articles))
            queries.extend(measure(settings, backend, args.runs))
    report(loads, queries, args)


def report(loads: list[LoadResult], queries: list[QueryResult], args: argparse.Namespace) -> None:
    if args.json:
        payload = {
            "articles": args.articles,
            "loads": [asdict(item) for item in loads],
            "queries": [asdict(item) for item in queries],
        }
        print(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"newsflow search, {args.articles:,} articles, {LIMIT} results each")
    for name in ("backend", "query", "found", "median ms", "slowest ms", "LIKE scan ms"):
        table.add_column(name, justify="left" if name in ("backend", "query") else "right")
    for item in queries:
        table.add_row(
            item.backend,
            item.query,
            str(item.found),
            f"{item.median_ms:.2f}",
            f"{item.slowest_ms:.2f}",
            f"{item.like_scan_ms:.1f}",
        )
    console.print(table)
    for loaded in loads:
        console.print(
            f"{loaded.backend}: {loaded.articles:,} articles stored in {loaded.seconds} s "
            f"({loaded.per_second:,.0f}/s, the index kept as they went in)"
        )
    console.print(f"runs per query: {args.runs}; LIKE scan: {REFERENCE_RUNS} runs, median")


if __name__ == "__main__":
    main()
