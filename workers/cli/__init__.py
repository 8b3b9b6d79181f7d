"""``newsflow``, the command line: the outer layer, free to import ``pipeline`` and ``workers``.

One module per command group; this one puts them together in the order ``--help`` lists
them. Every command imports what it works with when it runs, so that ``newsflow --help``
(and a command that needs neither) does not wait for Celery, trafilatura or SQLAlchemy.

The modules that define commands do without ``from __future__ import annotations``: Typer
reads every command's annotations at each start, and as strings they would be compiled and
evaluated there again: tens of milliseconds of every start.
"""

from __future__ import annotations

import os

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
from .usage import plain_usage

__all__ = ["app", "main"]

plain_usage()
app = typer.Typer(
    name="newsflow",
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


@app.callback()
def root(
    debug: bool = typer.Option(
        False, "--debug", help="Show the traceback of an error (or set NEWSFLOW_DEBUG=1)."
    ),
) -> None:
    """Turn news pages into clean, structured, stored articles, through four Celery stages."""
    if debug:
        os.environ["NEWSFLOW_DEBUG"] = "1"


def main() -> None:
    """``newsflow``: the command line. An error no command caught ends in one line that says
    what went wrong and what to do; its traceback only with ``--debug``."""
    try:
        app()
    except Exception as error:
        if _debugging():
            raise
        message, code = explain(error)
        errors.print(f"[red]error:[/red] {escape(message)}")
        raise SystemExit(code) from None


def _debugging() -> bool:
    return os.environ.get("NEWSFLOW_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


def explain(error: Exception) -> tuple[str, int]:
    """One line for ``error``, and the exit status: 2 for a bad argument or setting, 1 else."""
    from pipeline.errors import InvalidRequest, NewsflowError

    if isinstance(error, NewsflowError):
        return str(error), 2 if isinstance(error, InvalidRequest) else 1
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}", 1
    kinds = {type_.__module__.split(".")[0] for type_ in type(error).__mro__}
    if kinds & {"redis", "kombu", "amqp"}:
        return (
            f"the broker does not answer ({type(error).__name__}: {error}); start Redis, or "
            "point NEWSFLOW_BROKER_URL at it",
            1,
        )
    if "sqlalchemy" in kinds or "psycopg" in kinds:
        return f"the database failed: {type(error).__name__}: {error}", 1
    return (
        f"unexpected {type(error).__name__}: {error} (run again as `newsflow --debug ...` to "
        "see where, and please report it)",
        1,
    )
