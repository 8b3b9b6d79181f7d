"""``newsflow export``: stored articles as JSON Lines, Parquet or WARC, streamed in batches."""

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, BinaryIO, cast

import typer

from .console import error_exit, errors, progress_bar, settings_with_database
from .options import LanguageOption, SourceOption, UniqueOption
from .reprocess import parse_since


def export(
    kind: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="jsonl|parquet|warc",
            help="jsonl: the article --json fields, one article a line; parquet: typed columns; "
            "warc: each article's page as a response record, and the article as metadata.",
        ),
    ] = "jsonl",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Where to write; standard output if left out (jsonl only).",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Only articles published on or after DATE (ISO; stored, for one with no date).",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Only articles published before DATE (same rule)."),
    ] = None,
    source: SourceOption = None,
    language: LanguageOption = None,
    unique: UniqueOption = False,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many articles.")] = None,
) -> None:
    """Write stored articles to a file: JSON Lines, Parquet or WARC.

    Oldest stored first: for research (JSON Lines, Parquet) or for archiving what was
    fetched (WARC, which `newsflow ingest` reads back)."""
    from pipeline.errors import InvalidRequest
    from pipeline.export import FORMATS, Format, open_writer
    from pipeline.store.exports import Selection, count_selected, exported

    if kind not in FORMATS:
        raise typer.BadParameter(
            f"{kind!r} is not one of {', '.join(FORMATS)}", param_hint="--format"
        )
    if out is None and kind != "jsonl":
        raise typer.BadParameter(f"{kind} is binary: give a file with --out", param_hint="--out")
    selection = Selection(
        since=_moment(since, "--since"),
        until=_moment(until, "--until"),
        source=source,
        language=language,
        unique=unique,
        limit=limit,
    )
    settings = settings_with_database()
    try:
        total = count_selected(settings, selection)
    except InvalidRequest as error:
        raise error_exit(str(error)) from error
    # Written beside the file, then renamed onto it: an export cut short leaves no half file.
    partial = None if out is None else out.with_name(out.name + ".part")
    try:
        stream = sys.stdout.buffer if partial is None else partial.open("wb")
    except OSError as error:
        raise error_exit(f"cannot write {out}: {error.strerror}") from error
    try:
        writer = open_writer(cast(Format, kind), cast(BinaryIO, stream))
        with progress_bar() as progress:
            task = progress.add_task(f"export {kind}", total=total)
            for batch in exported(settings, selection, with_pages=kind == "warc"):
                writer.write(batch)
                progress.advance(task, len(batch))
        writer.close()
    except BaseException:
        if partial is not None:
            stream.close()
            partial.unlink(missing_ok=True)
        raise
    if partial is not None and out is not None:
        stream.close()
        os.replace(partial, out)
    where = "standard output" if out is None else str(out)
    left = f"; {writer.left_out:,} left out (no stored page)" if writer.left_out else ""
    errors.print(f"exported {writer.written:,} article(s) to {where} ({kind}){left}")


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_since(text)
    except typer.BadParameter as error:
        raise typer.BadParameter(str(error.message), param_hint=option) from error
