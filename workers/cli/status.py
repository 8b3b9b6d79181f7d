"""``newsflow status``: the whole pipeline on one screen."""

from typing import Annotated

import typer

from .console import console, settings_with_database


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The whole pipeline on one screen: queues, workers, throughput, failures, sources."""
    from workers.status import collect
    from workers.status_screen import render

    settings = settings_with_database()
    report = collect(settings)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        render(report, console)
    if report.broker_error:
        raise typer.Exit(1)  # what could be read is printed; scripts still learn of the outage
