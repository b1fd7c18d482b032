"""`detect-series`: the volume detector run online, point by point, over a NAB-style timestamp,value CSV."""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from statistics import median
from typing import IO, Iterator

from detectors.seasonal import SeasonalVolume


class SeriesError(ValueError):
    pass


def _parse_time(text: str) -> datetime:
    value = text.strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def read_series(handle: IO[str], source: str) -> Iterator[tuple[int, str, datetime, float] | tuple[int, str]]:
    """Yield (line, timestamp text, time, value) per good row, or (line, problem) per bad one."""
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise SeriesError(f"{source}: empty file")
    names = [h.strip().lower() for h in header]
    if "timestamp" not in names or "value" not in names:
        raise SeriesError(f"{source}: line 1: expected a header with 'timestamp' and 'value', got {header[:5]}")
    ti, vi = names.index("timestamp"), names.index("value")
    for row in reader:
        line = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        try:
            stamp = row[ti]
            yield line, stamp, _parse_time(stamp), float(row[vi])
        except (IndexError, ValueError) as exc:
            yield line, f"{source}: line {line}: {exc}"


def infer_interval(times: list[datetime]) -> int:
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:]) if b > a]
    return max(int(median(gaps)), 1) if gaps else 300


def detect_series(rows: list[tuple[str, datetime, float]]) -> Iterator[tuple[str, float, float]]:
    """Score each point before learning it; the interval is inferred from the timestamps (NAB series vary)."""
    interval = infer_interval([t for _, t, _ in rows[:500]])
    detector = SeasonalVolume(interval_seconds=interval, counts=False, diurnal_prior=False, utc_offset_hours=0.0)
    for stamp, moment, value in rows:
        x = {"t": moment, "value": value}
        score = detector.score_one(x)
        detector.learn_one(x)
        yield stamp, value, score
