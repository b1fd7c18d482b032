"""Corrections: staff-corrected labels of mentions, the training data of the adapted model.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the types at this revision: a migration must not change when schema.py does later.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("polarity", sa.String(), nullable=True),
        sa.Column("toxic", sa.Boolean(), nullable=True),
        sa.Column("question", sa.Boolean(), nullable=True),
        sa.Column("corrected_by", sa.String(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_corrections"),
    )
    op.create_index("ix_corrections_platform_external_id", "corrections", ["platform", "external_id"])
    op.create_index("ix_corrections_at", "corrections", ["at"])


def downgrade() -> None:
    op.drop_index("ix_corrections_at", table_name="corrections")
    op.drop_index("ix_corrections_platform_external_id", table_name="corrections")
    op.drop_table("corrections")
