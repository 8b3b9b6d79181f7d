"""Engines, sessions and the schema check.

One engine per database URL and process, created on first use (never at import time, so a
forked worker process builds its own). A lost or refused connection becomes
:class:`~pipeline.errors.DatabaseUnavailable`, which the worker retries.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import Engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, create_engine

from pipeline.errors import DatabaseUnavailable, SchemaError
from pipeline.settings import Settings
from pipeline.store.urls import shown

_MIGRATIONS = Path(__file__).with_name("migrations")


_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def get_engine(database_url: str) -> Engine:
    """The process's engine for ``database_url``, created on first use."""
    with _lock:
        engine = _engines.get(database_url)
        if engine is None:
            engine = _engines[database_url] = _create_engine(database_url)
        return engine


def _create_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, pool_size=5, max_overflow=64)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A fetch worker runs dozens of threads; each holds at most one connection at a time.
    # A server that does not answer at all (a dropped route, not a refusal) is reported as
    # unavailable after connect_timeout rather than hanging the task.
    connect_args = {"connect_timeout": 10} if url.get_backend_name() == "postgresql" else {}
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=64, connect_args=connect_args
    )


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets readers and one writer work at once: several worker processes share the file.
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    # Switching to WAL needs the file to itself and does not wait for it. The mode is kept in
    # the file, so when this fails another connection is switching it already.
    with contextlib.suppress(sqlite3.OperationalError):
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def dispose_engines() -> None:
    """Forget inherited connections; call in a process that was forked from one that had them."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=False)
        _engines.clear()


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """A session that commits on success, rolls back on error, and says when the DB is away."""
    try:
        with Session(get_engine(settings.database), expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    except OperationalError as error:
        raise DatabaseUnavailable(
            f"the database at {shown(settings.database)} is unavailable: {error.orig}"
        ) from error
    except PoolTimeout as error:
        raise DatabaseUnavailable(f"no database connection free in time: {error}") from error
    except DBAPIError as error:
        if error.connection_invalidated:
            raise DatabaseUnavailable(f"the database connection was lost: {error.orig}") from error
        raise


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def schema_state(settings: Settings) -> tuple[str | None, str]:
    """(revision the database is at, revision this code expects)."""
    head = ScriptDirectory.from_config(alembic_config(settings.database)).get_current_head()
    assert head is not None
    try:
        with get_engine(settings.database).connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except OperationalError as error:
        raise DatabaseUnavailable(
            f"the database at {shown(settings.database)} is unavailable: {error.orig}"
        ) from error
    return current, head


def upgrade(settings: Settings) -> None:
    command.upgrade(alembic_config(settings.database), "head")


def prepare_database(settings: Settings) -> None:
    """Bring a new or older database to the current schema, or refuse with a clear message.

    A database at a revision this code does not know was written by a newer newsflow; touching
    it could lose data, so that always refuses.
    """
    # Workers started together on a new database would all try to create it: one at a time,
    # each looking at the schema only once it holds the lock (on SQLite, even a look can
    # collide with a migration in progress).
    try:
        with _migration_lock(settings):
            current, head = schema_state(settings)
            if current == head:
                return
            _check_upgradable(settings, current, head)
            upgrade(settings)
    except OperationalError as error:
        raise DatabaseUnavailable(
            f"the database at {shown(settings.database)} is unavailable: {error.orig}"
        ) from error
    except SQLAlchemyError as error:
        raise SchemaError(
            f"could not upgrade the schema of the database at {shown(settings.database)}: {error}"
        ) from error


def _check_upgradable(settings: Settings, current: str | None, head: str) -> None:
    if current is not None and not _known_revision(settings, current):
        raise SchemaError(
            f"the database at {shown(settings.database)} has schema revision {current}, "
            "which this version of newsflow does not know (was it written by a newer one?)"
        )
    if current is not None and not settings.auto_migrate:
        raise SchemaError(
            f"the database at {shown(settings.database)} has schema revision {current}, "
            f"this newsflow needs {head}: run `newsflow db upgrade` (or set "
            "NEWSFLOW_AUTO_MIGRATE=true)"
        )


# Any fixed number: the key of newsflow's PostgreSQL advisory lock for migrations.
_ADVISORY_LOCK_KEY = 0x6E657773


@contextmanager
def _migration_lock(settings: Settings) -> Iterator[None]:
    url = make_url(settings.database)
    if url.get_backend_name() == "postgresql":
        with get_engine(settings.database).connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK_KEY}
                )
                connection.commit()
    elif url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{path}.migrate-lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    else:
        yield


def _known_revision(settings: Settings, revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config(settings.database))
    try:
        return script.get_revision(revision) is not None
    except (ResolutionError, CommandError):
        return False


def dialect_insert(session: Session) -> Any:
    """The dialect's own insert(): both spell an upsert as ON CONFLICT ... DO UPDATE."""
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[
        session.get_bind().dialect.name
    ]
