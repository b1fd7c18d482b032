"""Time parsing and clocks: everything inside stormwatch is an aware UTC datetime."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def parse_utc(value: str) -> datetime:
    """Parse ISO 8601 (with Z or an offset, or a naive time taken as UTC) into an aware UTC datetime.

    >>> parse_utc("2026-03-14T08:49:01Z").isoformat()
    '2026-03-14T08:49:01+00:00'
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)

