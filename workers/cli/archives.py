"""``newsflow ingest`` of web archives (WARC): their pages sent on as raw pages, never fetched.

The reading and keeping is :mod:`pipeline.archive.ingest`; here the pages kept are sent
through clean, extract and store on the queues (or run in this process with ``--local``), with
a progress bar while the archive is read and a summary of what every record was.
"""

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from rich.markup import escape

from .console import console, error_exit
from .results import IngestResult, run_here

if TYPE_CHECKING:
    from pipeline.archive.ingest import Tally
    from pipeline.models import PageRef
    from pipeline.settings import Settings

ARCHIVE_SUFFIXES = (".warc", ".warc.gz")
STDIN = "-"


def is_archive(path: str) -> bool:
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def stdin_is_archive() -> bool:
    """Whether standard input holds a WARC (plain or gzip) rather than URLs, one a line."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None or not hasattr(stream, "peek"):
        return False
    return bool(stream.peek(5)[:5].startswith((b"\x1f\x8b", b"WARC/")))


def is_archive_item(item: str) -> bool:
    """An item of ``expand_sources`` that is an archive to read: a local WARC file, or ``-``
    (standard input holding one)."""
    return item == STDIN or ("://" not in item and is_archive(item))


def ingest_archives(
    archives: list[str], settings: "Settings", *, local: bool, wait: bool, timeout: float | None
) -> tuple[list["Tally"], list[IngestResult] | None]:
    """Read each archive, keep its pages and send the new ones on; what each archive gave and,
    with ``wait`` (or ``local``), what became of each page sent."""
    from pipeline.archive.ingest import ingest_archive
    from pipeline.errors import BrokerUnavailable

    from .console import progress_bar

    missing = [item for item in archives if item != STDIN and not Path(item).is_file()]
    if missing:
        raise error_exit(f"no such file: {missing[0]}")
    hand_on, outcome = _local(settings) if local else _queued(settings, wait=wait)
    tallies = []
    try:
        with progress_bar() as progress:
            for archive in archives:
                with _opened(archive) as (stream, size):
                    task = progress.add_task(_label(archive, None, 0.0), total=size)
                    began = time.monotonic()

                    def shown(
                        tally: "Tally",
                        task: Any = task,
                        archive: str = archive,
                        began: float = began,
                    ) -> None:
                        rate = tally.pages / max(time.monotonic() - began, 1e-6)
                        progress.update(
                            task,
                            completed=tally.bytes_read,
                            description=_label(archive, tally, rate),
                        )

                    tally = ingest_archive(
                        stream, settings, name=_name(archive), hand_on=hand_on, progress=shown
                    )
                    progress.update(task, completed=size or tally.bytes_read)
                tallies.append(tally)
    except BrokerUnavailable as error:
        raise error_exit(f"{error}; start Redis, or use --local") from error
    return tallies, outcome(wait, timeout)


def _label(archive: str, tally: "Tally | None", rate: float) -> str:
    name = escape(_name(archive))
    if tally is None:
        return name
    return f"{name}: {tally.records:,} records, {tally.sent:,} pages sent, {rate:,.0f} pages/s"


def _name(archive: str) -> str:
    return "standard input" if archive == STDIN else Path(archive).name


@contextmanager
def _opened(archive: str) -> Iterator[tuple[BinaryIO, int | None]]:
    if archive == STDIN:
        yield sys.stdin.buffer, None
        return
    path = Path(archive)
    try:
        stream = path.open("rb")
    except OSError as error:
        raise error_exit(f"cannot read {archive}: {error.strerror}") from error
    with stream:
        yield cast(BinaryIO, stream), path.stat().st_size


def _queued(
    settings: "Settings", *, wait: bool
) -> tuple[Callable[[list["PageRef"]], None], Callable[[bool, float | None], Any]]:
    """Send each page's chain to the workers; with --wait, follow them afterwards (only then
    is a handle on each kept: an archive of a million pages costs no memory otherwise)."""
    from workers.app import create_app
    from workers.broker import broker_errors, check_broker
    from workers.tasks import page_chain

    from .readiness import check_workers
    from .results import wait_for_chains

    app = create_app(settings)
    check_broker(app)  # before anything is kept: a broker away stops the command at once
    # The pages are kept in this command's database, and the workers look them up by id.
    check_workers(app, settings, sent="pages")
    sent: dict[str, Any] = {}

    def hand_on(refs: list["PageRef"]) -> None:
        with broker_errors(settings.broker_url):
            for ref in refs:
                result = page_chain(ref).apply_async()
                if wait:
                    sent[f"{ref.url} (page {ref.page_id})"] = result

    def outcome(wait: bool, timeout: float | None) -> list[IngestResult] | None:
        if not wait:
            return None
        return wait_for_chains(app, sent, settings, label="archive", timeout=timeout)

    return hand_on, outcome


def _local(
    settings: "Settings",
) -> tuple[Callable[[list["PageRef"]], None], Callable[[bool, float | None], Any]]:
    """Run clean, extract and store on each page in this process, as it is kept."""
    from pipeline import stages

    results: list[IngestResult] = []

    def hand_on(refs: list["PageRef"]) -> None:
        for ref in refs:
            label = f"{ref.url} (page {ref.page_id})"
            results.append(run_here(label, partial(stages.run_page_local, ref, settings)))

    return hand_on, lambda wait, timeout: results


def print_archive_summary(tallies: list["Tally"], results: list[IngestResult] | None) -> None:
    """What each archive's records were; then, if known, what became of the pages sent."""
    from rich.table import Table

    table = Table(title="archives")
    for column in ("archive", "records", "pages", "sent", "kept already", "skipped", "broken"):
        table.add_column(column, justify="left" if column == "archive" else "right")
    for tally in tallies:
        table.add_row(
            escape(tally.name),
            f"{tally.records:,}",
            f"{tally.pages:,}",
            f"{tally.sent:,}",
            f"{tally.known:,}",
            f"{sum(tally.skipped.values()):,}",
            f"[red]{tally.broken:,}" if tally.broken else "0",
        )
    console.print(table)
    skipped = sum((tally.skipped for tally in tallies), start=type(tallies[0].skipped)())
    if skipped:
        console.print(
            "skipped: "
            + ", ".join(f"{escape(reason)} {count:,}" for reason, count in skipped.most_common())
        )
    for tally in tallies:
        for offset, reason in tally.broken_at:
            console.print(
                f"[red]broken[/red] {escape(tally.name)} at byte {offset:,}: {escape(reason)}"
            )
        if tally.broken > len(tally.broken_at):
            console.print(
                f"  … and {tally.broken - len(tally.broken_at):,} more in {escape(tally.name)}"
            )
    sent = sum(tally.sent for tally in tallies)
    known = sum(tally.known for tally in tallies)
    if known:
        console.print(
            f"{known:,} page(s) kept already (by an earlier ingest, or earlier in the file): "
            "not sent again"
        )
    if results is None:
        if sent:
            console.print(f"sent {sent:,} page(s) on; follow them in Flower, or use --wait")
        return
    unfinished = [result for result in results if result.status != "stored"]
    if unfinished:
        from .results import print_ingest_results

        print_ingest_results(unfinished)
    counts = {
        status: sum(r.status == status for r in results)
        for status in ("stored", "failed", "pending")
    }
    console.print(
        ", ".join(f"{count:,} {status}" for status, count in counts.items() if count)
        or "no new page sent"
    )
