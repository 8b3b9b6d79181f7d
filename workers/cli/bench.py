"""``newsflow bench``: newsflow measured against references (the work is in :mod:`bench`)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from .console import console, error_exit

group = typer.Typer(help="Measure newsflow against references.", no_args_is_help=True)


@group.command("extract")
def bench_extract(
    root: Annotated[
        Path,
        typer.Argument(help="The corpora's folder, or one corpus folder."),
    ] = Path("../shared/corpus"),
    corpus: Annotated[
        list[str] | None,
        typer.Option(help="Run this corpus only (repeat for more); default: every one."),
    ] = None,
    part: Annotated[
        str, typer.Option(help="tuning, validation or both (by a fixed hash of the site).")
    ] = "both",
    jobs: Annotated[int, typer.Option(min=1, help="Processes to spread the pages over.")] = 1,
    worst: Annotated[
        int, typer.Option(min=0, help="How many of the worst tuning pages to list.")
    ] = 0,
    out: Annotated[
        Path | None, typer.Option(help='Write newsflow\'s bodies as {key: {"articleBody": ...}}.')
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(help="Append the output, dated, with its command, to this Markdown file."),
    ] = None,
) -> None:
    """Body, snippets, dates, titles and authors: newsflow beside trafilatura, same run."""
    from rich.console import Console

    try:
        from bench import extract
        from bench.corpora import PARTS
    except ImportError as error:  # an install without the bench, such as the Docker image
        raise error_exit(
            f"newsflow bench needs the repository's bench/ package ({error}); "
            "run it from a checkout: `make bench-extract`"
        ) from error

    if part not in {*PARTS, "both"}:
        raise error_exit(f"--part is tuning, validation or both, not {part!r}")
    try:
        folders = extract.corpus_folders(root, corpus)
    except FileNotFoundError as error:
        raise error_exit(str(error)) from error
    parts = PARTS if part == "both" else (part,)
    # Recorded, so that --record can keep exactly what was shown.
    output = Console(record=True, width=max(console.width, 100))
    found = extract.report(output, folders, parts=parts, jobs=jobs, worst=worst)
    if out is not None:
        extract.write_bodies(found, out)
        output.print(f"predictions written to {out}")
    if record is not None:
        command = " ".join(["newsflow bench extract", *sys.argv[3:]])
        extract.append_record(record, command, output.export_text())
