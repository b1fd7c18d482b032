"""The unit a collector hands to the pipeline: one raw record with where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class RawRecord:
    """A decoded payload (usually a dict) or, when decoding failed, the problem and the raw text kept for inspection."""

    source: str
    line: int | None
    payload: Any = None
    problem: str | None = None
    raw: str = ""
