"""agencies credited apart from authors; how much of the publication date a source stated

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 06:00:00

Articles stored before this revision have no agencies and no precision: reprocessing (their
extractor version is older, so the nightly run does it) fills both.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("agencies", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("published_precision", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_column("published_precision")
        batch_op.drop_column("agencies")
