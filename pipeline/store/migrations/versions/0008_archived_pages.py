"""raw pages read from a web archive: the archive they came from; when each page was kept

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 19:30:00

Pages stored before this revision were all fetched or read here: their archive is NULL, and
they were kept when they were fetched.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: batch mode would rebuild raw_page on SQLite for nothing.
    op.add_column("raw_page", sa.Column("archive", sa.Text(), nullable=True))
    op.add_column("raw_page", sa.Column("kept_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE raw_page SET kept_at = fetched_at")


def downgrade() -> None:
    with op.batch_alter_table("raw_page") as batch:
        batch.drop_column("kept_at")
        batch.drop_column("archive")
