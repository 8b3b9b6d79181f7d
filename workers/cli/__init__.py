"""``newsflow``, the command line: the outer layer, free to import ``pipeline`` and ``workers``.

One module per command group; this one puts them together in the order ``--help`` lists
them. Every command imports what it works with when it runs, so that ``newsflow --help``
(and a command that needs neither) does not wait for Celery, trafilatura or SQLAlchemy.

The modules that define commands do without ``from __future__ import annotations``: Typer
reads every command's annotations at each start, and as strings they would be compiled and
evaluated there again: tens of milliseconds of every start.
"""

from __future__ import annotations

import typer
from rich.markup import escape

from . import (
    articles,
    bench,
    db,
    export,
    failures,
    ingest,
    reprocess,
    search,
    services,
    sources,
    status,
)
from .console import errors

__all__ = ["app", "main"]

app = typer.Typer(
    name="newsflow",
    help="Turn news pages into clean, structured, stored articles, through four Celery stages.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.group, name="db")
app.add_typer(bench.group, name="bench")
app.add_typer(failures.group, name="failures")
app.add_typer(sources.group, name="sources")
for command in (
    ingest.ingest,
    articles.extract,
    articles.articles,
    articles.article,
    search.search,
    export.export,
    services.worker,
    status.status,
    services.beat,
    services.flower,
    reprocess.reconcile,
    reprocess.reprocess,
):
    app.command()(command)


def main() -> None:
    """``newsflow``: the command line, where an error newsflow raises on purpose that no command
    caught (a bad setting, say) ends in its one-line message, not in a traceback."""
    from pipeline.errors import InvalidRequest, NewsflowError

    try:
        app()
    except NewsflowError as error:
        errors.print(f"[red]error:[/red] {escape(str(error))}")
        raise SystemExit(2 if isinstance(error, InvalidRequest) else 1) from None
