"""The database tables, declared once for SQLite and PostgreSQL; Alembic migrations must reproduce exactly this."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

# Fixed constraint names, so migrations can refer to (and drop) them identically on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY; PostgreSQL gets 64 bits.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    SQLite keeps no zone and PostgreSQL answers in the session zone; converting at
    the boundary gives every caller the same aware UTC value. Naive input is taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


mentions = Table(
    "mentions",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("platform", String(), nullable=False),
    Column("external_id", String(), nullable=False),
    Column("scope", String(), nullable=False),
    Column("kind", String(), nullable=False),
    Column("text", Text(), nullable=True),  # NULL once erased after the retention period
    Column("text_erased", Boolean(), nullable=False, server_default=false()),
    Column("language", String(), nullable=True),
    Column("author", String(), nullable=True),  # a keyed pseudonym, never the clear-text name
    Column("created_at", UtcDateTime(), nullable=False),
    Column("ingested_at", UtcDateTime(), nullable=False),
    Column("parent_id", String(), nullable=True),
    Column("url", Text(), nullable=True),
    Column("metrics", JSON(), nullable=True),
    Column("negative", Float(), nullable=False),
    Column("neutral", Float(), nullable=False),
    Column("positive", Float(), nullable=False),
    Column("toxic", Float(), nullable=False),
    Column("question", Float(), nullable=False),
    Column("sentiment", String(), nullable=False),
    UniqueConstraint("platform", "external_id"),
    Index("ix_mentions_scope_created_at", "scope", "created_at"),
    Index("ix_mentions_created_at", "created_at"),
)

buckets = Table(
    "buckets",
    metadata,
    Column("scope", String(), primary_key=True),
    Column("start", UtcDateTime(), primary_key=True),
    Column("width_seconds", Integer(), primary_key=True),
    Column("count", Integer(), nullable=False),
    Column("negative", Float(), nullable=False),
    Column("positive", Float(), nullable=False),
    Column("toxic", Float(), nullable=False),
    Column("questions", Float(), nullable=False),
    Column("unique_authors", Integer(), nullable=False),
    Column("new_authors", Integer(), nullable=False),
    Column("duplicates", Integer(), nullable=False),
    Column("reach", BigInteger(), nullable=False),
    Column("platforms", JSON(), nullable=True),
    Column("level", Integer(), nullable=False),
    Column("kind", String(), nullable=True),
    Column("signals", JSON(), nullable=True),
    Index("ix_buckets_start", "start"),  # retention deletes by start across all scopes
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(), primary_key=True),
    Column("scope", String(), nullable=False),
    Column("kind", String(), nullable=False),
    Column("status", String(), nullable=False),  # open | resolved
    Column("level", Integer(), nullable=False),
    Column("peak_level", Integer(), nullable=False),
    Column("playbook", String(), nullable=False),
    Column("playbook_url", Text(), nullable=True),
    Column("owners", JSON(), nullable=True),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("resolved_at", UtcDateTime(), nullable=True),
    Column("acknowledged_at", UtcDateTime(), nullable=True),
    Column("acknowledged_by", String(), nullable=True),
    Column("reason", Text(), nullable=False),
    Column("signals", JSON(), nullable=True),
    Index("ix_alerts_status", "status"),
    Index("ix_alerts_updated_at", "updated_at"),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("alert_id", String(), ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(), nullable=False),  # opened | updated | escalated | resolved
    Column("at", UtcDateTime(), nullable=False),
    Column("level", Integer(), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("signals", JSON(), nullable=True),
    Column("payload", JSON(), nullable=False),  # AlertEvent.to_json(), exactly what was notified
    Index("ix_alert_events_alert_id", "alert_id"),
)

notification_log = Table(
    "notification_log",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    # no foreign key: a delivery must be logged even when its alert row is missing
    Column("alert_id", String(), nullable=False),
    Column("event", String(), nullable=False),
    Column("target_id", String(), nullable=False),
    Column("target", Text(), nullable=False),  # masked Apprise URL
    Column("at", UtcDateTime(), nullable=False),
    Column("success", Boolean(), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("error", Text(), nullable=True),
    Index("ix_notification_log_alert_id", "alert_id"),
)

collector_checkpoints = Table(
    "collector_checkpoints",
    metadata,
    Column("collector", String(), primary_key=True),
    Column("position", Text(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

rejected_inputs = Table(
    "rejected_inputs",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("source", Text(), nullable=False),
    Column("line", Integer(), nullable=True),
    Column("problem", Text(), nullable=False),
    Column("raw", Text(), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_rejected_inputs_at", "at"),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("platform", String(), nullable=False),
    Column("external_id", String(), nullable=False),
    Column("text", Text(), nullable=True),  # the text learned from; NULL once erased or when it was never known
    Column("polarity", String(), nullable=True),  # negative | neutral | positive; NULL = not corrected
    Column("toxic", Boolean(), nullable=True),
    Column("question", Boolean(), nullable=True),
    Column("threat", Boolean(), nullable=True),  # since revision 0004; NULL = not corrected
    Column("corrected_by", String(), nullable=True),  # free text, as staff typed it
    Column("at", UtcDateTime(), nullable=False),
    # set by `stormwatch correct --reset`: kept as the record of what staff said, never learned from again
    Column("withdrawn_at", UtcDateTime(), nullable=True),
    Index("ix_corrections_platform_external_id", "platform", "external_id"),
    Index("ix_corrections_at", "at"),
)
