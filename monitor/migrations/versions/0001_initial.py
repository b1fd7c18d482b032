"""Initial schema: mentions, buckets, alerts and their events, notification log, checkpoints, rejected inputs.

Revision ID: 0001
Revises:
Create Date: 2026-05-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the types at this revision: a migration must not change when schema.py does later.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mentions",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("text_erased", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("language", sa.String(), nullable=True),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("ingested_at", TS, nullable=False),
        sa.Column("parent_id", sa.String(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("negative", sa.Float(), nullable=False),
        sa.Column("neutral", sa.Float(), nullable=False),
        sa.Column("positive", sa.Float(), nullable=False),
        sa.Column("toxic", sa.Float(), nullable=False),
        sa.Column("question", sa.Float(), nullable=False),
        sa.Column("sentiment", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mentions"),
        sa.UniqueConstraint("platform", "external_id", name="uq_mentions_platform_external_id"),
    )
    op.create_index("ix_mentions_scope_created_at", "mentions", ["scope", "created_at"])
    op.create_index("ix_mentions_created_at", "mentions", ["created_at"])

    op.create_table(
        "buckets",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("start", TS, nullable=False),
        sa.Column("width_seconds", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Float(), nullable=False),
        sa.Column("positive", sa.Float(), nullable=False),
        sa.Column("toxic", sa.Float(), nullable=False),
        sa.Column("questions", sa.Float(), nullable=False),
        sa.Column("unique_authors", sa.Integer(), nullable=False),
        sa.Column("new_authors", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("reach", sa.BigInteger(), nullable=False),
        sa.Column("platforms", sa.JSON(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=True),
        sa.Column("signals", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("scope", "start", "width_seconds", name="pk_buckets"),
    )
    op.create_index("ix_buckets_start", "buckets", ["start"])

    op.create_table(
        "alerts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("peak_level", sa.Integer(), nullable=False),
        sa.Column("playbook", sa.String(), nullable=False),
        sa.Column("playbook_url", sa.Text(), nullable=True),
        sa.Column("owners", sa.JSON(), nullable=True),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_status", "alerts", ["status"])
    op.create_index("ix_alerts_updated_at", "alerts", ["updated_at"])

    op.create_table(
        "alert_events",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_alert_events_alert_id_alerts", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_alert_events_alert_id", "alert_events", ["alert_id"])

    op.create_table(
        "notification_log",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("target_id", sa.String(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notification_log"),
    )
    op.create_index("ix_notification_log_alert_id", "notification_log", ["alert_id"])

    op.create_table(
        "collector_checkpoints",
        sa.Column("collector", sa.String(), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("collector", name="pk_collector_checkpoints"),
    )

    op.create_table(
        "rejected_inputs",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rejected_inputs"),
    )
    op.create_index("ix_rejected_inputs_at", "rejected_inputs", ["at"])


def downgrade() -> None:
    op.drop_index("ix_rejected_inputs_at", table_name="rejected_inputs")
    op.drop_table("rejected_inputs")
    op.drop_table("collector_checkpoints")
    op.drop_index("ix_notification_log_alert_id", table_name="notification_log")
    op.drop_table("notification_log")
    op.drop_index("ix_alert_events_alert_id", table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index("ix_alerts_updated_at", table_name="alerts")
    op.drop_index("ix_alerts_status", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_buckets_start", table_name="buckets")
    op.drop_table("buckets")
    op.drop_index("ix_mentions_created_at", table_name="mentions")
    op.drop_index("ix_mentions_scope_created_at", table_name="mentions")
    op.drop_table("mentions")
