"""Staff corrections of mention labels: add, list and erase them on an Engine or inside a caller's Connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import Connection, Engine, func, select, update

from monitor.storage.schema import corrections, mentions
from monitor.storage.text import clean_text

POLARITIES = ("negative", "neutral", "positive")


@contextmanager
def _connection(bind: Engine | Connection) -> Iterator[Connection]:
    # An Engine gets its own transaction; a Connection belongs to a caller who decides when to commit.
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            yield connection
    else:
        yield bind


def add_correction(
    bind: Engine | Connection,
    *,
    platform: str,
    external_id: str,
    text: str | None = None,
    polarity: str | None = None,
    toxic: bool | None = None,
    question: bool | None = None,
    threat: bool | None = None,
    corrected_by: str | None = None,
    at: datetime | None = None,
) -> int:
    """Store one correction and return its id; heads left as None were not corrected."""
    if not platform or not external_id:
        raise ValueError("a correction needs the mention's platform and external id")
    if polarity is not None and polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    if polarity is None and toxic is None and question is None and threat is None:
        raise ValueError("a correction needs at least one of polarity, toxic, question, threat")
    row = {
        "platform": platform, "external_id": external_id,
        "text": clean_text(text) if text is not None else None,
        "polarity": polarity,
        "toxic": None if toxic is None else bool(toxic),
        "question": None if question is None else bool(question),
        "threat": None if threat is None else bool(threat),
        "corrected_by": corrected_by or None,
        "at": at or datetime.now(timezone.utc),
    }
    with _connection(bind) as conn:
        return int(conn.execute(corrections.insert().returning(corrections.c.id), row).scalar_one())


def list_corrections(
    bind: Engine | Connection, *, platform: str | None = None, external_id: str | None = None, limit: int | None = None
) -> list[dict]:
    """Corrections oldest first (the order an online learner must replay them in), optionally for one mention."""
    stmt = select(corrections).order_by(corrections.c.at, corrections.c.id)
    if platform is not None:
        stmt = stmt.where(corrections.c.platform == platform)
    if external_id is not None:
        stmt = stmt.where(corrections.c.external_id == external_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    with _connection(bind) as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def withdraw_corrections(bind: Engine | Connection, at: datetime) -> tuple[int, int]:
    """`stormwatch correct --reset`: mark every correction not yet withdrawn as withdrawn at `at`, so that no
    relearning brings back what staff reset away. Returns (corrections withdrawn now, highest correction id)."""
    with _connection(bind) as conn:
        withdrawn = conn.execute(update(corrections).where(corrections.c.withdrawn_at.is_(None))
                                 .values(withdrawn_at=at)).rowcount or 0
        return int(withdrawn), last_correction_id(conn)


def last_correction_id(bind: Engine | Connection) -> int:
    """The highest correction id so far (0 without any)."""
    with _connection(bind) as conn:
        return int(conn.execute(select(func.max(corrections.c.id))).scalar_one() or 0)


def count_corrections(bind: Engine | Connection) -> int:
    with _connection(bind) as conn:
        return int(conn.execute(select(func.count()).select_from(corrections)).scalar_one())


def mention_text(bind: Engine | Connection, platform: str, external_id: str) -> tuple[bool, str | None]:
    """(mention exists, its text); the text is None when retention has erased it."""
    stmt = select(mentions.c.text).where(mentions.c.platform == platform, mentions.c.external_id == external_id)
    with _connection(bind) as conn:
        row = conn.execute(stmt).first()
    return (row is not None, row[0] if row is not None else None)


def erase_texts_before(bind: Engine | Connection, cutoff: datetime) -> int:
    """Erase the texts of corrections made before `cutoff` (retention); the labels stay. Returns rows changed."""
    stmt = update(corrections).where(corrections.c.at < cutoff, corrections.c.text.is_not(None)).values(text=None)
    with _connection(bind) as conn:
        return int(conn.execute(stmt).rowcount or 0)
