"""full-text search over articles' titles and bodies: FTS5 on SQLite, tsvector on PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:20:00

Built for the articles already stored, then kept current by the database itself: triggers on
SQLite, a generated column on PostgreSQL (see pipeline.store.search). On PostgreSQL the column
is computed for every stored article as it is added, which rewrites the article table once.

A later migration that rebuilds the article table on SQLite (Alembic's batch mode copies it)
drops these triggers with it, and must create them again (``_sqlite_triggers``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pipeline.store.search import FTS_TABLE, TEXT_SEARCH_CONFIGS, VECTOR_COLUMN, VECTOR_INDEX

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BODY_CHARS = 100_000
TITLE_CHARS = 1_000


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {VECTOR_INDEX}")
        op.execute(f"ALTER TABLE article DROP COLUMN IF EXISTS {VECTOR_COLUMN}")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{name}")
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")


def _upgrade_postgresql() -> None:
    available = {
        name for (name,) in op.get_bind().execute(sa.text("SELECT cfgname FROM pg_ts_config"))
    }
    branches = " ".join(
        f"WHEN '{code}' THEN '{name}'::regconfig"
        for code, name in TEXT_SEARCH_CONFIGS.items()
        if name in available
    )
    config = f"(CASE language {branches} ELSE 'simple'::regconfig END)"
    # A tsvector holds 1 MB at most, and a page's text may be 10: the index reads the first
    # 100,000 characters of a body (some 15,000 words, more than nearly any article has).
    op.execute(
        f"ALTER TABLE article ADD COLUMN {VECTOR_COLUMN} tsvector GENERATED ALWAYS AS ("
        f"setweight(to_tsvector({config}, left(coalesce(title, ''), {TITLE_CHARS})), 'A') || "
        f"setweight(to_tsvector({config}, left(body, {BODY_CHARS})), 'B')) STORED"
    )
    op.execute(f"CREATE INDEX {VECTOR_INDEX} ON article USING gin ({VECTOR_COLUMN})")


def _upgrade_sqlite() -> None:
    # External content: the index holds no copy of the text, only what finds it.
    op.execute(
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, body, content='article', "
        "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    _sqlite_triggers()
    op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def _sqlite_triggers() -> None:
    remove = (
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body) "
        "VALUES ('delete', old.id, old.title, old.body);"
    )
    add = f"INSERT INTO {FTS_TABLE}(rowid, title, body) VALUES (new.id, new.title, new.body);"
    op.execute(f"CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON article BEGIN {add} END")
    op.execute(f"CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON article BEGIN {remove} END")
    # Only when the text changed: the store updates every field of a row it stores again.
    op.execute(
        f"CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF title, body ON article "
        "WHEN old.title IS NOT new.title OR old.body IS NOT new.body "
        f"BEGIN {remove} {add} END"
    )
