"""Database URLs: refused when read if they can never work, and shown with no password.

newsflow stores in SQLite or in PostgreSQL through psycopg 3. A URL for anything else, or
one spelled the way other tools spell it (``postgres://``, Heroku's and libpq's form), is
refused when the settings are read, with the form that would work; SQLAlchemy's own errors
("Can't load plugin") come much later and say nothing of what to write instead.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.errors import InvalidRequest

EXAMPLES = "sqlite:////path/to/newsflow.db or postgresql+psycopg://user:password@host:5432/name"

# Spellings of PostgreSQL that other tools use, each of which SQLAlchemy would read with
# another driver (or not at all): the rest of the URL is kept, the scheme replaced.
_POSTGRES_SPELLINGS = {
    "postgres",
    "postgresql",
    "postgresql+psycopg2",
    "postgresql+asyncpg",
    "psql",
}
_SQLITE_SPELLINGS = {"sqlite", "sqlite+pysqlite"}


def check_database_url(url: str) -> str:
    """``url`` if newsflow can store there; else :class:`InvalidRequest` saying what to write.

    Nothing is connected to: a server that is down is an outage, retried, not a bad setting.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    scheme, separator, rest = url.strip().partition("://")
    if not separator or not scheme:
        raise InvalidRequest(f"{url!r} is not a database URL; use {EXAMPLES}")
    if scheme != scheme.lower():  # SQLAlchemy knows its dialects by lower-case name only
        raise InvalidRequest(f"{shown(url)}: write the scheme in lower case, {scheme.lower()}://")
    if scheme in _POSTGRES_SPELLINGS:
        suggested = shown(f"postgresql+psycopg://{rest}")
        raise InvalidRequest(
            f"{shown(url)}: newsflow talks to PostgreSQL through psycopg 3; write {suggested}"
        )
    if scheme not in _SQLITE_SPELLINGS and scheme != "postgresql+psycopg":
        backend = scheme.split("+")[0]
        raise InvalidRequest(
            f"{shown(url)}: newsflow stores in SQLite or PostgreSQL, not {backend}; use {EXAMPLES}"
        )
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise InvalidRequest(f"{url!r} is not a database URL ({error}); use {EXAMPLES}") from None
    if scheme == "postgresql+psycopg":
        _require_psycopg(url)
    else:
        _check_sqlite_file(url, parsed.database)
    return url


def _check_sqlite_file(url: str, database: str | None) -> None:
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        # Each process would have a database of its own, gone when it ends.
        raise InvalidRequest(
            f"{url}: an in-memory database is not shared between a command and the workers; "
            "name a file, sqlite:////path/to/newsflow.db"
        )
    if database.startswith("~"):
        raise InvalidRequest(f"{url}: a URL does not expand ~; write the whole path")
    folder = Path(database).parent
    if not folder.is_dir():
        # A typo in a path must not leave an empty database somewhere unexpected.
        raise InvalidRequest(
            f"{url}: the folder {folder} does not exist; create it, or correct the path "
            "(sqlite:////absolute/path.db has four slashes, sqlite:///relative.db three)"
        )


def _require_psycopg(url: str) -> None:
    import importlib.util

    if importlib.util.find_spec("psycopg") is None:
        raise InvalidRequest(
            f"{shown(url)}: PostgreSQL needs psycopg, which is not installed: "
            "pip install 'newsflow[postgres]'"
        )


def shown(url: str) -> str:
    """``url`` with any password (in its credentials or its query) replaced by ``***``: fit
    for a screen or a log."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # not a URL at all: nothing in it is known to be a password
    if parsed.get_backend_name() == "sqlite":
        return url  # a path, which rendering would only percent-encode
    hidden = parsed.render_as_string(hide_password=True)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", hidden)
