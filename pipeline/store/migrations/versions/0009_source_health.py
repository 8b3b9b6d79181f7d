"""source health: daily counts of each source's pages by outcome, the recent pages, alarms

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:40:00

Pages stored before this revision were not counted: a source's health starts from its first
page after the upgrade, and its alarms wait until enough pages have been seen.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = ("duplicates", "title", "authors", "published", "body", "language", "image")


def upgrade() -> None:
    op.create_table(
        "health_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("words_bin", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
        sa.PrimaryKeyConstraint("day", "scope", "outcome", "words_bin"),
    )
    op.create_index("ix_health_day_scope_day", "health_day", ["scope", "day"])
    op.create_table(
        "health_recent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("words_bin", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_health_recent_scope_id", "health_recent", ["scope", "id"])
    op.create_index("ix_health_recent_seen_at", "health_recent", ["seen_at"])
    op.create_table(
        "health_alarm",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("baseline", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )


def downgrade() -> None:
    op.drop_table("health_alarm")
    op.drop_index("ix_health_day_scope_day", table_name="health_day")
    op.drop_index("ix_health_recent_seen_at", table_name="health_recent")
    op.drop_index("ix_health_recent_scope_id", table_name="health_recent")
    op.drop_table("health_recent")
    op.drop_table("health_day")
