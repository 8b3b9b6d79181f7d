"""Throughput and latency of the pipeline: Celery workers against ``run_local``, same pages.

Run from the repository root::

    python -m bench.pipeline [--pages N] [--corpus DIR] [--workers-concurrency C] [--json]
    python -m bench.pipeline --soak [--pages N] [--checkpoint-every K]

The pages of ``article-body-dev`` (gzip-compressed in the corpus) are served from a local HTTP
server, each copy under its own path, so every item is a real download. Two runs, each with a
fresh data folder and SQLite database:

- ``celery``: a real ``newsflow worker`` subprocess (prefork, C processes, all four queues) on a
  dedicated Redis database; the N chains are enqueued at once and their results polled.
  An item's latency is from just before its ``apply_async`` to the ``date_done`` of its last
  task (the store, or the stage that failed).
- ``local``: the same URLs through ``pipeline.stages.run_local`` one after the other in this
  process; an item's latency is its own duration.

The celery run also reports what it costs each kind of process per article (the worker's
main process, its pool by stage, Redis, the producer), beside the pure clean + extract cost of
the same pages in this process, and the worker's resident memory (:mod:`bench.costs`).
``--soak`` sends 5,000 pages through the worker alone and reads its rate and memory every
1,000 articles: memory must level off.

Everything started here (HTTP server, worker, a private Redis if needed) is stopped on exit.

This module is the command line; the pages and their server are :mod:`bench.pages`, Redis and
the settings :mod:`bench.services`, the two runs :mod:`bench.runs` and the figures
:mod:`bench.report`.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime

from bench.corpora import add_corpus_argument
from bench.costs import pure_in_fresh_process
from bench.pages import load_pages, serve
from bench.report import RunResult, report
from bench.runs import run_celery, run_local
from bench.services import log, redis_broker, restored_environment

DEFAULT_PAGES = 300
SOAK_PAGES = 5000
# The pure clean + extract cost is measured on this many of the run's pages at most: the
# pages cycle through the corpus, so more only repeats them.
PURE_PAGES = 1000


def main(argv: list[str] | None = None) -> None:
    """Both runs over the same served pages, then their figures."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--pages",
        type=int,
        default=None,
        help=f"articles per run (default {DEFAULT_PAGES}, or {SOAK_PAGES:,} with --soak)",
    )
    add_corpus_argument(parser)
    parser.add_argument(
        "--workers-concurrency",
        type=int,
        default=os.cpu_count() or 2,
        help="processes of the celery worker (default: the number of cores)",
    )
    parser.add_argument(
        "--soak",
        action="store_true",
        help=f"a long run: {SOAK_PAGES:,} pages (unless --pages says otherwise) through the "
        "worker only, its rate and memory every --checkpoint-every articles",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=1000,
        help="articles between two readings of the rate and memory (default 1000)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.pages is None:
        args.pages = SOAK_PAGES if args.soak else DEFAULT_PAGES
    if args.checkpoint_every < 0:
        parser.error("--checkpoint-every must be 0 (none) or more")
    if args.pages < 1:
        parser.error("--pages must be at least 1")
    if args.workers_concurrency < 1:
        parser.error("--workers-concurrency must be at least 1")

    pages = load_pages(args.corpus, args.pages)
    meta = {
        "pages": args.pages,
        "cores": os.cpu_count(),
        "workers_concurrency": args.workers_concurrency,
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
    }
    results: list[RunResult] = []
    with restored_environment(), redis_broker() as broker_url, serve(pages) as base:
        urls = [base + page.path for page in pages]
        celery = run_celery(
            urls, broker_url, args.workers_concurrency, checkpoint_every=args.checkpoint_every
        )
        results.append(celery)
        if not args.soak:
            results.append(run_local(urls, broker_url))
    if celery.costs is not None:
        log(f"pure: cleaning and extracting {min(len(pages), PURE_PAGES)} pages in a new process")
        celery.costs.with_pure(pure_in_fresh_process(args.corpus, min(len(pages), PURE_PAGES)))
    report(results, meta, args.json)


if __name__ == "__main__":
    main()
