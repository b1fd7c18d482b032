"""`detect-series`: the volume detector run online, point by point, over a NAB-style timestamp,value CSV."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
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


# Settings of the volume detector for arbitrary value series. Chosen once, globally, on the shared NAB
# categories (benchmarks/NAB_RESULTS.md): in-sample for NAB, never per file.
# Two-sided because a value series fails downward too; a 24 h noise memory and a 12 h level follow a wandering
# series; clip_z 5 lets the baseline learn ordinary bumps instead of re-alerting on them.
SERIES_SETTINGS: dict = {
    "two_sided": True, "scale_halflife_hours": 24.0, "level_halflife_hours": 12.0, "clip_z": 5.0,
}
ALERT_SCORE = 0.5  # z = 4: the threshold detect-series' scores are meant to be read with
REFRACTORY_SECONDS = 12 * 3600.0  # after an alert, further alerts are held back this long


def detect_series(
    rows: list[tuple[str, datetime, float]], refractory_seconds: float | None = None, **settings
) -> Iterator[tuple[str, float, float]]:
    """Score each point before learning it; the interval is inferred from the timestamps (NAB series vary).

    After a point reaches ALERT_SCORE, the scores of the next `refractory_seconds` are capped just below it:
    one event should raise one alert, and NAB likewise rewards only the first detection in a window.
    """
    interval = infer_interval([t for _, t, _ in rows[:500]])
    options = {"counts": False, "diurnal_prior": False, "utc_offset_hours": 0.0, **SERIES_SETTINGS, **settings}
    detector = SeasonalVolume(interval_seconds=interval, **options)
    refractory = REFRACTORY_SECONDS if refractory_seconds is None else refractory_seconds
    quiet_until = None
    for stamp, moment, value in rows:
        x = {"t": moment, "value": value}
        score = detector.score_one(x)
        detector.learn_one(x)
        if quiet_until is not None and moment < quiet_until:
            score = min(score, ALERT_SCORE - 0.001)
        elif score >= ALERT_SCORE and refractory > 0:
            quiet_until = moment + timedelta(seconds=refractory)
        yield stamp, value, score
