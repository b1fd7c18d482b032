"""Corrections withdrawn by `stormwatch correct --reset`: kept as a record, never learned from again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copy of the type at this revision: a migration must not change when schema.py does later.
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("corrections", sa.Column("withdrawn_at", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("corrections") as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column("withdrawn_at")
