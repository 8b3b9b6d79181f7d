"""What every command prints with, and the one way a command stops on an error.

Results go to standard output, so that they can be piped; errors, warnings and progress go
to standard error. Nothing here imports the stages, the store or Celery: ``newsflow --help``
loads this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from pipeline import STAGES

if TYPE_CHECKING:
    from rich.progress import Progress
    from rich.table import Table

    from pipeline.settings import Settings

console = Console()
errors = Console(stderr=True)


def error_exit(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error and return the exit to raise (status ``code``)."""
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def settings_with_database() -> Settings:
    """This command's settings, read once, with a database at the current schema; or a clear
    message and exit status 1."""
    from pipeline.errors import NewsflowError
    from pipeline.settings import get_settings
    from pipeline.store.db import prepare_database

    settings = get_settings()
    try:
        prepare_database(settings)
    except NewsflowError as error:
        raise error_exit(str(error)) from error
    return settings


def check_stage(stage: str | None) -> None:
    """Exit with the stages to choose from when ``stage`` is none of them."""
    if stage is not None and stage not in STAGES:
        raise error_exit(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")


def progress_bar(*, shown: bool = True) -> Progress:
    """A progress bar on standard error, which stays clear of the results on standard output."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        disable=not shown,
    )


def print_json(data: Any) -> None:
    """``data`` as indented JSON on standard output, as every ``--json`` prints it."""
    import json

    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def print_listing(
    rows: list[dict[str, Any]],
    title: str,
    columns: Iterable[str],
    cells: Callable[[dict[str, Any]], list[str]],
    *,
    as_json: bool,
) -> None:
    """Rows as a JSON list, or as a table with a row of ``cells(row)`` for each."""
    if as_json:
        print_json(rows)
        return
    table = folded_table(title, columns)
    for row in rows:
        table.add_row(*cells(row))
    console.print(table)


def folded_table(title: str, columns: Iterable[str]) -> Table:
    """A table whose long cells wrap rather than being cut short: URLs and messages stay whole."""
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table
