"""Alembic environment: migrations run against ``SQLModel.metadata`` of our tables."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from pipeline.store import tables  # noqa: F401  (registers the tables on the metadata)
from pipeline.store.db import get_engine
from pipeline.store.search import include_object

target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        include_object=include_object,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    # The project's engine: it creates the SQLite folder and sets the same pragmas as the app.
    with get_engine(url).connect() as connection:
        # Batch mode lets later ALTERs work on SQLite, which cannot alter most columns in place.
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
