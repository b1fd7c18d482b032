"""Threat corrections: staff say whether a mention is a threat (the alert's "mögliche Drohung" flag).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("corrections", sa.Column("threat", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("corrections") as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column("threat")
