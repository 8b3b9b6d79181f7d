"""failures keep what is needed to replay them

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 06:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("failure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("replays", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("failure", schema=None) as batch_op:
        batch_op.drop_column("replayed_at")
        batch_op.drop_column("replays")
        batch_op.drop_column("payload")
