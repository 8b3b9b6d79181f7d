"""Export rows per second and peak memory, at a tenth of the store and at all of it.

Run from the repository root::

    python -m bench.export [--articles 100000] [--json]

A fresh SQLite store is filled in bulk with ``--articles`` articles made of real news sentences
(as ``bench.search`` makes them), each with a raw page of its own. Each export then runs as
``newsflow export`` would, in a new process whose peak resident memory (its own high-water
mark) is read while it runs: JSON Lines, Parquet and WARC, of a tenth of the articles
(``--limit``) and of all of them. Constant memory shows as the same peak for both. The
reference, in the same run and the same way: a process that reads the same rows with a plain
``SELECT`` and does nothing with them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.corpora import add_corpus_argument
from bench.search import BATCH, articles, sentences
from bench.services import log

REPO_ROOT = Path(__file__).resolve().parent.parent
# The reference: the rows read and dropped, with the same engine and batch size.
_READ_ONLY = """
import sys
from sqlalchemy import text
from pipeline.store.db import get_engine
limit = int(sys.argv[2])
with get_engine(sys.argv[1]).connect() as connection:
    result = connection.execution_options(yield_per=500).execute(
        text("SELECT * FROM article ORDER BY id LIMIT :limit"), {"limit": limit}
    )
    count = sum(1 for _ in result)
print(count)
"""


@dataclass
class Run:
    name: str
    rows: int
    seconds: float
    peak_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def fill(database: str, corpus: Path, count: int) -> None:
    """``count`` articles, each with the raw page it came from, in bulk."""
    from pipeline.settings import Settings
    from pipeline.store.db import get_engine, prepare_database
    from pipeline.store.tables import ArticleRow, RawPage

    settings = Settings(database_url=database)
    prepare_database(settings)
    engine = get_engine(database)
    now = datetime.now(UTC)
    pages: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for number, row in enumerate(articles(sentences(corpus), count), start=1):
        html = f"<html><head><title>{row['title']}</title></head><body><article>"
        html += "".join(f"<p>{part}</p>" for part in row["body"].split("\n\n"))
        content = (html + "</article></body></html>").encode("utf-8")
        pages.append(
            {
                "id": number,
                "source": row["url"],
                "url": row["url"],
                "sha256": hashlib.sha256(content).hexdigest(),
                "status_code": 200,
                "content_type": "text/html; charset=utf-8",
                "encoding": "utf-8",
                "kind": "html",
                "headers": {"content-type": "text/html; charset=utf-8"},
                "size": len(content),
                "content": content,
                "fetched_at": now,
            }
        )
        rows.append(row | {"id": number, "raw_page_id": number})
        if len(rows) == BATCH or number == count:
            with engine.begin() as connection:
                connection.execute(insert(RawPage), pages)
                connection.execute(insert(ArticleRow), rows)
            pages, rows = [], []
            if number % (BATCH * 10) == 0:
                log(f"{number:,} articles stored")


def measured(name: str, command: list[str], environment: dict[str, str], rows: int) -> Run:
    """Run ``command`` as a new process: its wall time and its peak resident memory.

    The peak is the process's own high-water mark (``VmHWM``), read while it runs: the OS's
    ``ru_maxrss`` of a child would count the parent's memory it was forked from.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    status = Path(f"/proc/{process.pid}/status")
    peak_kb = 0
    while process.poll() is None:
        peak_kb = max(peak_kb, _high_water_kb(status))
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    error = process.stderr.read().decode() if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    if process.returncode:
        raise RuntimeError(f"{name} failed:\n{error}")
    return Run(name, rows, round(seconds, 2), round(peak_kb / 1024, 1))


def _high_water_kb(status: Path) -> int:
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__)
    parser.add_argument("--articles", type=int, default=100_000, help="default 100,000")
    add_corpus_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.articles < 10:
        parser.error("--articles must be at least 10")
    with tempfile.TemporaryDirectory(prefix="newsflow-bench-export-") as name:
        folder = Path(name)
        database = f"sqlite:///{folder / 'export.db'}"
        log(f"storing {args.articles:,} articles")
        fill(database, args.corpus, args.articles)
        environment = {**os.environ, "NEWSFLOW_DATABASE_URL": database}
        runs = []
        for rows in (args.articles // 10, args.articles):
            runs.append(
                measured(
                    "plain SELECT, rows dropped (reference)",
                    [sys.executable, "-c", _READ_ONLY, database, str(rows)],
                    environment,
                    rows,
                )
            )
            for kind in ("jsonl", "parquet", "warc"):
                out = folder / f"out.{kind}"
                command = [sys.executable, "-m", "workers.cli", "export", "--format", kind]
                command += ["--out", str(out), "--limit", str(rows)]
                log(f"export {kind}, {rows:,} articles")
                runs.append(
                    measured(f"newsflow export --format {kind}", command, environment, rows)
                )
                out.unlink()
    report(runs, args)


def report(runs: list[Run], args: argparse.Namespace) -> None:
    if args.json:
        payload = {
            "articles": args.articles,
            "runs": [asdict(r) | {"rows_per_second": round(r.rows_per_second, 1)} for r in runs],
        }
        print(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"newsflow export, a store of {args.articles:,} articles (SQLite)")
    for column in ("what", "rows", "seconds", "rows/s", "peak MB"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for run in runs:
        table.add_row(
            run.name,
            f"{run.rows:,}",
            f"{run.seconds:.2f}",
            f"{run.rows_per_second:,.0f}",
            f"{run.peak_mb:.1f}",
        )
    Console().print(table)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores", file=sys.stderr)


if __name__ == "__main__":
    main()
