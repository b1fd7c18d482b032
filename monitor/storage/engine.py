"""Opening a database: URL handling, SQLite and PostgreSQL connection setup, Alembic migrations, error wrapping."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]+:)[^@/]*@")
# any constant works; it only has to be the same for every stormwatch process sharing a database
_MIGRATION_LOCK_ID = 0x53544F524D


class StorageError(Exception):
    """A database problem, naming the database (URL without password) and what went wrong."""

    def __init__(self, url_masked: str, problem: str):
        self.url_masked = url_masked
        self.problem = problem
        super().__init__(f"database {url_masked}: {problem}")


def mask_url(url: str | URL) -> str:
    """The URL as it may be printed: the password replaced by ***."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return _PASSWORD_IN_URL.sub(r"\1***@", url)


def describe(exc: BaseException, url: URL | None) -> str:
    """A one-line problem description that never repeats the password."""
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    line = message[0] if message else type(exc).__name__
    if url is not None and url.password:
        line = line.replace(str(url.password), "***")
    return line


def parse_url(url: str) -> URL:
    """Parse a SQLAlchemy URL; plain postgresql:// means psycopg 3, the driver stormwatch ships with."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    )


def build_engine(url: URL) -> Engine:
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        connect_args = {"options": "-c timezone=UTC", "connect_timeout": 10, "application_name": "stormwatch"}
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: URL) -> Engine:
    memory = is_memory_sqlite(url)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if memory:
        # one shared connection: a second connection would see a different, empty database
        kwargs["poolclass"] = StaticPool
    else:
        Path(url.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect(memory))
    # pysqlite's own implicit transactions skip DDL and SAVEPOINT; let SQLAlchemy emit BEGIN itself
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
    return engine


def _sqlite_on_connect(memory: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if not memory:
            # WAL lets the web pages read while the pipeline writes; NORMAL sync is durable
            # against crashes of the process, and in WAL mode never corrupts the file
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def alembic_config(url: URL | None = None) -> Config:
    """An Alembic configuration without an ini file, so migrations run from an installed package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` inside one transaction on the engine's own connection."""
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # several workers starting at once must not race to create the same tables
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

