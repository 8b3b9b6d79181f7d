"""``newsflow db``: the database schema."""

import typer

from .console import console, errors

group = typer.Typer(help="The database schema.", no_args_is_help=True)


@group.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the current schema."""
    from pipeline.settings import get_settings
    from pipeline.store.db import schema_state, upgrade

    settings = get_settings()
    upgrade(settings)
    current, _ = schema_state(settings)
    console.print(f"database schema at revision {current}")


@group.command("current")
def db_current() -> None:
    """Show the database's schema revision and the one this code expects."""
    from pipeline.settings import get_settings
    from pipeline.store.db import schema_state

    current, head = schema_state(get_settings())
    console.print(f"database: {current or '(no schema yet)'}; this newsflow: {head}")
    if current != head:
        errors.print("the schema is not current: run `newsflow db upgrade`")
        raise typer.Exit(1)
