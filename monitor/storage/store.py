"""The Store: every read and write of stormwatch's database, as Core statements that run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from monitor.config import PrivacySettings
from monitor.domain import AlertEvent, Bucket, Mention, NotificationRecord, RejectedInput, StormAssessment
from monitor.storage import bulk, corrections
from monitor.storage import engine as db
from monitor.storage.schema import (
    alert_events,
    alerts,
    buckets,
    collector_checkpoints,
    mentions,
    notification_log,
    rejected_inputs,
)
from monitor.storage.text import clean_text, truncate_utf8

MAX_RAW_BYTES = 100_000
_BUCKET_KEY = ("scope", "start", "width_seconds")


class Store:
    """stormwatch's database. Each public method is one transaction; errors surface as StorageError."""

    def __init__(self, engine: Engine, url_masked: str):
        self.engine = engine
        self.url_masked = url_masked

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> "Store":
        """Connect to `url` (SQLite file, in-memory 'sqlite://', or PostgreSQL) and bring the schema up to date."""
        masked = db.mask_url(url)
        parsed = None
        try:
            parsed = db.parse_url(url)
            engine = db.build_engine(parsed)
        except (SQLAlchemyError, OSError, ValueError) as exc:
            raise db.StorageError(masked, f"cannot open: {db.describe(exc, parsed)}") from exc
        store = cls(engine, masked)
        try:
            if migrate:
                db.upgrade(engine)
            else:
                with engine.connect():
                    pass
        except (SQLAlchemyError, OSError) as exc:
            engine.dispose()
            raise db.StorageError(masked, f"cannot open: {db.describe(exc, parsed)}") from exc
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url_masked!r})"

    @contextmanager
    def _transaction(self, action: str) -> Iterator[Connection]:
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise db.StorageError(self.url_masked, f"{action}: {db.describe(exc, self.engine.url)}") from exc

    def _insert(self, table: Table) -> Insert:
        """INSERT in the dialect's own flavour, which offers ON CONFLICT on both backends."""
        dialect = sqlite if self.engine.dialect.name == "sqlite" else postgresql
        return dialect.insert(table)

    # -- mentions ----------------------------------------------------------------------------------

    def insert_mentions(self, batch: Sequence[Mention], *, now: datetime | None = None) -> set[tuple[str, str]]:
        """Insert the mentions not stored yet; return the (platform, external_id) keys that were new."""
        if not batch:
            return set()
        ingested = now or datetime.now(timezone.utc)
        unique = bulk.unique_by_key(batch)
        insert = bulk.insert_sqlite if self.engine.dialect.name == "sqlite" else bulk.insert_postgresql
        with self._transaction("insert mentions") as conn:
            return insert(conn, unique, ingested)

    def count_mentions(self, scope: str | None = None) -> int:
        stmt = select(func.count()).select_from(mentions)
        if scope is not None:
            stmt = stmt.where(mentions.c.scope == scope)
        with self._transaction("count mentions") as conn:
            return int(conn.execute(stmt).scalar_one())

    def mention_texts(self, scope: str, start: datetime, end: datetime, limit: int = 200) -> list[dict]:
        """Mentions of `scope` created in [start, end) whose text is still kept, oldest first; never the author."""
        c = mentions.c
        stmt = (
            select(c.platform, c.external_id, c.kind, c.created_at, c.text, c.language, c.url,
                   c.negative, c.neutral, c.positive, c.toxic, c.question, c.sentiment)
            .where(c.scope == scope, c.created_at >= start, c.created_at < end, c.text.is_not(None))
            .order_by(c.created_at, c.id)
            .limit(limit)
        )
        return self._dicts("read mention texts", stmt)

    # -- buckets -----------------------------------------------------------------------------------

    def save_buckets(
        self, batch: Sequence[Bucket], assessments: Sequence[StormAssessment | None] | None = None
    ) -> None:
        """Upsert buckets keyed by (scope, start, width); `assessments` is aligned with `batch` when given."""
        if assessments is not None and len(assessments) != len(batch):
            raise ValueError(f"{len(batch)} buckets but {len(assessments)} assessments")
        paired = zip(batch, assessments if assessments is not None else [None] * len(batch))
        # PostgreSQL refuses to update one row twice in one statement: the last version of a key wins
        rows = list({tuple(r[k] for k in _BUCKET_KEY): r for r in (_bucket_row(b, a) for b, a in paired)}.values())
        if not rows:
            return
        if self.engine.dialect.name == "sqlite":
            with self._transaction("save buckets") as conn:
                bulk.upsert_buckets_sqlite(conn, rows)
            return
        stmt = self._insert(buckets)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(_BUCKET_KEY),
            set_={c.name: stmt.excluded[c.name] for c in buckets.columns if c.name not in _BUCKET_KEY},
        )
        with self._transaction("save buckets") as conn:
            conn.execute(stmt, rows)

    def buckets(self, scope: str, start: datetime, end: datetime) -> list[dict]:
        stmt = (
            select(buckets)
            .where(buckets.c.scope == scope, buckets.c.start >= start, buckets.c.start < end)
            .order_by(buckets.c.start, buckets.c.width_seconds)
        )
        return self._dicts("read buckets", stmt)

    # -- alerts ------------------------------------------------------------------------------------

    def record_alert_event(self, event: AlertEvent) -> int:
        """Create or update the alert row from `event` and append the event to its timeline; return the event id."""
        resolved = event.event == "resolved"
        state = {
            "scope": event.scope,
            "kind": event.kind,
            "status": "resolved" if resolved else "open",
            "level": event.level,
            "peak_level": event.peak_level,
            "playbook": event.playbook,
            "playbook_url": event.playbook_url,
            "owners": list(event.owners),
            "updated_at": event.at,
            "resolved_at": event.at if resolved else None,
            "reason": event.reason,
            "signals": _floats(event.signals),
        }
        timeline = {
            "alert_id": event.alert_id,
            "event": event.event,
            "at": event.at,
            "level": event.level,
            "reason": event.reason,
            "signals": state["signals"],
            "payload": event.to_json(),
        }
        with self._transaction("record alert event") as conn:
            known = conn.execute(select(alerts.c.id).where(alerts.c.id == event.alert_id)).first()
            if known is None:
                opened_at = event.opened_at or event.at
                conn.execute(alerts.insert().values(id=event.alert_id, opened_at=opened_at, **state))
            else:
                conn.execute(update(alerts).where(alerts.c.id == event.alert_id).values(**state))
            result = conn.execute(alert_events.insert().values(**timeline))
            return int(result.inserted_primary_key[0])

    def open_alerts(self) -> list[dict]:
        stmt = select(alerts).where(alerts.c.status == "open").order_by(alerts.c.opened_at.desc(), alerts.c.id)
        return self._dicts("read open alerts", stmt)

    def recent_alerts(self, limit: int = 50) -> list[dict]:
        stmt = select(alerts).order_by(alerts.c.updated_at.desc(), alerts.c.id).limit(limit)
        return self._dicts("read recent alerts", stmt)

    def get_alert(self, alert_id: str) -> dict | None:
        found = self._dicts("read alert", select(alerts).where(alerts.c.id == alert_id))
        return found[0] if found else None

    def alert_events(self, alert_id: str) -> list[dict]:
        stmt = (
            select(alert_events)
            .where(alert_events.c.alert_id == alert_id)
            .order_by(alert_events.c.at, alert_events.c.id)
        )
        return self._dicts("read alert events", stmt)

    # -- notifications, checkpoints, rejected input ----------------------------------------------------

    def log_notification(self, record: NotificationRecord) -> None:
        row = {
            "alert_id": record.alert_id,
            "event": record.event,
            "target_id": record.target_id,
            "target": record.target,
            "at": record.at,
            "success": bool(record.success),
            "attempts": int(record.attempts),
            "reason": record.reason,
            "error": clean_text(record.error),
        }
        with self._transaction("log notification") as conn:
            conn.execute(notification_log.insert().values(**row))

    def notification_log(self, alert_id: str | None = None) -> list[dict]:
        stmt = select(notification_log).order_by(notification_log.c.at, notification_log.c.id)
        if alert_id is not None:
            stmt = stmt.where(notification_log.c.alert_id == alert_id)
        return self._dicts("read notification log", stmt)

    def get_checkpoint(self, collector: str) -> str | None:
        stmt = select(collector_checkpoints.c.position).where(collector_checkpoints.c.collector == collector)
        with self._transaction("read checkpoint") as conn:
            return conn.execute(stmt).scalar_one_or_none()

    def set_checkpoint(self, collector: str, position: str, *, now: datetime | None = None) -> None:
        row = {"collector": collector, "position": position, "updated_at": now or datetime.now(timezone.utc)}
        stmt = self._insert(collector_checkpoints).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=["collector"], set_={"position": position, "updated_at": row["updated_at"]}
        )
        with self._transaction("save checkpoint") as conn:
            conn.execute(stmt)

    def record_rejected(self, rejected: RejectedInput, *, now: datetime | None = None) -> None:
        row = {
            "source": clean_text(rejected.source),
            "line": rejected.line,
            "problem": clean_text(rejected.problem),
            "raw": truncate_utf8(clean_text(rejected.raw or ""), MAX_RAW_BYTES),
            "at": now or datetime.now(timezone.utc),
        }
        with self._transaction("record rejected input") as conn:
            conn.execute(rejected_inputs.insert().values(**row))

    def rejected_inputs(self, limit: int = 100) -> list[dict]:
        stmt = select(rejected_inputs).order_by(rejected_inputs.c.id.desc()).limit(limit)
        return self._dicts("read rejected inputs", stmt)

    # -- retention ---------------------------------------------------------------------------------

    def purge_expired(self, now: datetime, privacy: PrivacySettings) -> dict[str, int]:
        """Apply the retention periods (DSGVO): erase old texts, delete old mentions, buckets and rejected input.

        Rejected input keeps the raw payload, which may hold clear-text names, so it
        lives no longer than mention texts do.
        """
        text_cutoff = now - timedelta(days=privacy.raw_text_days)
        mention_cutoff = now - timedelta(days=privacy.mention_days)
        bucket_cutoff = now - timedelta(days=privacy.bucket_days)
        m = mentions.c
        with self._transaction("purge expired data") as conn:
            counts = {
                "mentions_deleted": conn.execute(delete(mentions).where(m.created_at < mention_cutoff)).rowcount,
                "texts_erased": conn.execute(
                    update(mentions)
                    .where(m.created_at < text_cutoff, m.text_erased.is_(False))
                    .values(text=None, text_erased=True)
                ).rowcount,
                "buckets_deleted": conn.execute(delete(buckets).where(buckets.c.start < bucket_cutoff)).rowcount,
                "rejected_deleted": conn.execute(
                    delete(rejected_inputs).where(rejected_inputs.c.at < text_cutoff)
                ).rowcount,
                "alert_samples_erased": _erase_alert_samples(conn, text_cutoff),
                "correction_texts_erased": corrections.erase_texts_before(conn, text_cutoff),
            }
        return {name: int(count) for name, count in counts.items()}

    # -- helpers -----------------------------------------------------------------------------------

    def _dicts(self, action: str, stmt: Any) -> list[dict]:
        with self._transaction(action) as conn:
            return [dict(row) for row in conn.execute(stmt).mappings()]


def _erase_alert_samples(conn: Connection, cutoff: datetime) -> int:
    """Alert events quote sample comments; those quotes expire with the mention texts they come from."""
    rows = conn.execute(select(alert_events.c.id, alert_events.c.payload).where(alert_events.c.at < cutoff)).all()
    erased = 0
    for row_id, payload in rows:
        if isinstance(payload, dict) and payload.get("samples"):
            kept = {**payload, "samples": [], "threat_samples": [], "samples_erased": True}
            conn.execute(update(alert_events).where(alert_events.c.id == row_id).values(payload=kept))
            erased += 1
    return erased


def _bucket_row(b: Bucket, a: StormAssessment | None) -> dict[str, Any]:
    return {
        "scope": b.scope,
        "start": b.start,
        "width_seconds": int((b.end - b.start).total_seconds()),
        "count": int(b.count),
        "negative": float(b.negative),
        "positive": float(b.positive),
        "toxic": float(b.toxic),
        "questions": float(b.questions),
        "unique_authors": int(b.unique_authors),
        "new_authors": int(b.new_authors),
        "duplicates": int(b.duplicates),
        "reach": int(b.reach),
        "platforms": {k: int(v) for k, v in b.platforms.items()},
        "level": int(a.level) if a is not None else 0,
        "kind": a.kind if a is not None else None,
        "signals": _floats(a.signals) if a is not None else None,
    }


def _floats(values: dict[str, float]) -> dict[str, float]:
    # detectors may hand over numpy scalars, which the JSON encoder does not know
    return {str(k): float(v) for k, v in values.items()}
