"""Pages per second from a WARC into stored articles, beside reading the WARC alone.

Run from the repository root::

    python -m bench.warc [--pages 1000] [--json]

A WARC is written first (gzip, one record per member, with warcio): the pages of
``article-body-dev``, each with its request record, under new URLs as many times as
``--pages`` asks. Then, in this order, on the same file:

- **warcio alone**, the reference: every record read with warcio's ``ArchiveIterator`` and its
  payload read out, as any tool reading the file must;
- **newsflow reads**: :func:`pipeline.archive.warc.read_archive`, which frames the records
  itself (to step over damaged ones), parses them with warcio and judges each page (a document
  of HTML or text, its encoding), with nothing stored;
- **newsflow ingest --local**: the same, each page kept as a raw page and run through clean,
  extract and store in this process into a fresh SQLite database.

Then memory: newsflow's reading of the file, and of a file a tenth as large, each in a new
process whose peak resident memory (its own high-water mark) is read while it runs: a stream
read in constant memory shows the same peak for both.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from bench.corpora import add_corpus_argument
from bench.services import log


@dataclass
class Stage:
    name: str
    pages: int
    seconds: float

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def write_archive(corpus: Path, pages: int, path: Path) -> int:
    """A WARC of ``pages`` corpus pages (each with its request); its size in bytes."""
    truth = json.loads((corpus / "article-body-dev" / "ground-truth.json").read_text("utf-8"))
    keys = sorted(truth)
    bodies = {
        key: gzip.decompress((corpus / "article-body-dev" / "html" / f"{key}.html.gz").read_bytes())
        for key in keys
    }
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for number in range(pages):
            key = keys[number % len(keys)]
            url = f"https://site{number % 97}.example/{number}/{key[:12]}"
            request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "x")], is_http_request=True)
            writer.write_record(
                writer.create_warc_record(
                    url, "request", http_headers=request, payload=io.BytesIO()
                )
            )
            body = bodies[key]
            head = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
                protocol="HTTP/1.1",
            )
            writer.write_record(
                writer.create_warc_record(
                    url, "response", payload=io.BytesIO(body), http_headers=head
                )
            )
    return path.stat().st_size


def warcio_alone(path: Path) -> Stage:
    started = time.perf_counter()
    pages = 0
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            record.content_stream().read()
            pages += record.rec_type == "response"
    return Stage("warcio alone (reference)", pages, time.perf_counter() - started)


def newsflow_reads(path: Path) -> Stage:
    from pipeline.archive.warc import ArchivedPage, read_archive

    started = time.perf_counter()
    with path.open("rb") as stream:
        pages = sum(
            isinstance(entry, ArchivedPage)
            for entry in read_archive(stream, name=path.name, max_bytes=10_000_000)
        )
    return Stage("newsflow reads and judges", pages, time.perf_counter() - started)


def newsflow_ingests(path: Path, folder: Path) -> Stage:
    from pipeline import stages
    from pipeline.archive.ingest import ingest_archive
    from pipeline.extract.article import load_models
    from pipeline.models import PageRef
    from pipeline.settings import Settings
    from pipeline.store.db import dispose_engines, prepare_database
    from pipeline.store.fingerprints import load_minhash

    settings = Settings(database_url=f"sqlite:///{folder / 'warc.db'}")
    prepare_database(settings)
    load_models()  # as a worker does at start; left out of the time
    load_minhash()
    stored = 0

    def run(refs: list[PageRef]) -> None:
        nonlocal stored
        for ref in refs:
            try:
                stages.run_page_local(ref, settings)
                stored += 1
            except Exception as error:  # recorded; a page that fails costs what it cost
                log(f"{ref.url}: {type(error).__name__}")

    started = time.perf_counter()
    with path.open("rb") as stream:
        ingest_archive(stream, settings, name=path.name, hand_on=run)
    seconds = time.perf_counter() - started
    dispose_engines()
    return Stage("newsflow ingest --local (stored)", stored, seconds)


_READ = """
import sys
from pipeline.archive.warc import read_archive
with open(sys.argv[1], "rb") as stream:
    print(sum(1 for _ in read_archive(stream, name="bench", max_bytes=10_000_000)))
"""


def _reading_peak(path: Path) -> tuple[int, float]:
    """(the file's size, the peak resident MB of a new process reading it with newsflow)."""
    from bench.export import measured

    run = measured("read", [sys.executable, "-c", _READ, str(path)], dict(os.environ), 0)
    return path.stat().st_size, run.peak_mb


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.warc", description=__doc__)
    parser.add_argument("--pages", type=int, default=1000, help="pages in the WARC (default 1000)")
    add_corpus_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.pages < 1:
        parser.error("--pages must be at least 1")
    with tempfile.TemporaryDirectory(prefix="newsflow-bench-warc-") as name:
        folder = Path(name)
        path = folder / "bench.warc.gz"
        size = write_archive(args.corpus, args.pages, path)
        log(f"wrote {args.pages:,} pages, {size / 1e6:.1f} MB")
        results = [warcio_alone(path), newsflow_reads(path)]
        log("ingesting")
        results.append(newsflow_ingests(path, folder))
        small = folder / "small.warc.gz"
        write_archive(args.corpus, max(args.pages // 10, 1), small)
        peaks = [_reading_peak(small), _reading_peak(path)]
    report(results, args, size, peaks)


def report(
    results: list[Stage], args: argparse.Namespace, size: int, peaks: list[tuple[int, float]]
) -> None:
    if args.json:
        payload = {
            "pages": args.pages,
            "bytes": size,
            "cores": os.cpu_count(),
            "stages": [
                asdict(r) | {"pages_per_second": round(r.pages_per_second, 1)} for r in results
            ],
            "reading_peaks": [{"bytes": b, "peak_mb": mb} for b, mb in peaks],
        }
        print(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"a WARC of {args.pages:,} pages ({size / 1e6:.1f} MB, gzip)")
    for column in ("stage", "pages", "seconds", "pages/s", "× reference"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    reference = results[0].pages_per_second
    for stage in results:
        table.add_row(
            stage.name,
            f"{stage.pages:,}",
            f"{stage.seconds:.2f}",
            f"{stage.pages_per_second:,.1f}",
            f"{stage.pages_per_second / reference:.3f}" if reference else "",
        )
    console = Console()
    console.print(table)
    for file_size, peak in peaks:
        console.print(
            f"reading a {file_size / 1e6:.1f} MB WARC, new process: peak resident {peak:.1f} MB"
        )
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores", file=sys.stderr)


if __name__ == "__main__":
    main()
