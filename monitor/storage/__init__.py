"""Persistence of mentions, buckets, alerts and logs in SQLite or PostgreSQL, with the schema managed by Alembic."""

from monitor.storage.engine import StorageError
from monitor.storage.store import Store

__all__ = ["StorageError", "Store"]
