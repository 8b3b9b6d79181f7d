"""duplicates (body hash, MinHash bands, duplicate_of), extractor versions, feed entries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:00:00

Articles stored before this revision have no body hash or bands: they are found as originals
once reprocessed (their extractor version is older, so the nightly run does it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("raw_page", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entry", sa.JSON(), nullable=True))
    with op.batch_alter_table("failure", schema=None) as batch_op:
        batch_op.create_index("ix_failure_raw_page_id", ["raw_page_id"], unique=False)
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch_op.create_index("ix_article_body_hash", ["body_hash"], unique=False)
        batch_op.create_index(
            "ix_article_duplicate_of",
            ["duplicate_of"],
            unique=False,
            sqlite_where=sa.text("duplicate_of IS NOT NULL"),
            postgresql_where=sa.text("duplicate_of IS NOT NULL"),
        )
        batch_op.create_index("ix_article_created_at", ["created_at"], unique=False)
        batch_op.create_foreign_key(
            "fk_article_duplicate_of_article",
            "article",
            ["duplicate_of"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "article_band",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", "key"),
    )
    op.create_index("ix_article_band_key", "article_band", ["key"], unique=False)
    version_table = op.create_table(
        "extractor_version",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    # The versions already in the store, each first seen when its first article was stored.
    rows = op.get_bind().execute(
        sa.text("SELECT extractor_version, MIN(created_at) FROM article GROUP BY extractor_version")
    )
    op.bulk_insert(
        version_table,
        [
            {
                "version": version,
                "first_seen": _datetime(first),
            }
            for version, first in rows
        ],
    )


def downgrade() -> None:
    op.drop_table("extractor_version")
    op.drop_index("ix_article_band_key", table_name="article_band")
    op.drop_table("article_band")
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_constraint("fk_article_duplicate_of_article", type_="foreignkey")
        batch_op.drop_index("ix_article_created_at")
        batch_op.drop_index("ix_article_duplicate_of")
        batch_op.drop_index("ix_article_body_hash")
        batch_op.drop_column("duplicate_of")
        batch_op.drop_column("body_hash")
    with op.batch_alter_table("failure", schema=None) as batch_op:
        batch_op.drop_index("ix_failure_raw_page_id")
    with op.batch_alter_table("raw_page", schema=None) as batch_op:
        batch_op.drop_column("entry")


def _datetime(value: datetime | str) -> datetime:
    # SQLite hands back the text it keeps; PostgreSQL a datetime.
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
