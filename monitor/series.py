"""`detect-series`: the volume detector run online, point by point, over a NAB-style timestamp,value CSV."""

from __future__ import annotations

import csv
import math
from collections import deque
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


# Settings for arbitrary value series, chosen once, globally, by benchmarks/nab_tune.py (protocol and in-sample
# and held-out scores in benchmarks/NAB_RESULTS.md); never per file.
# The seasonal detector: two-sided because a value series fails downward too; a 24 h noise memory and a 12 h
# short-term level follow a wandering series; clip_z 5 lets the baseline learn ordinary bumps.
SERIES_SETTINGS: dict = {
    "two_sided": True, "scale_halflife_hours": 24.0, "level_halflife_hours": 12.0, "clip_z": 5.0,
}
# The score stage (SeriesScorer): spike |z| >= 4, burst (RMS z, ~2 h at 5 minutes) >= 2.5, shift >= 3 long-term
# deviations, each bar raised to 1.35 x the median of the last 7 daily maxima of its statistic.
SCORE_SETTINGS: dict = {
    "z_alert": 4.0, "peak_ratio": 1.35, "peak_days": 7, "peak_stat": "median",
    "burst_alert": 2.5, "burst_points": 24, "shift_alert": 3.0, "shift_points": 12, "shift_long_days": 7.0,
}
ALERT_SCORE = 0.5  # the threshold detect-series' scores are meant to be read with (0.5 = at a bar)
REFRACTORY_SECONDS = 24 * 3600.0  # after an alert, further alerts are held back this long


PEAK_GROWTH = 1.5


class PeakGate:
    """Scores a non-negative statistic against max(floor, ratio x a summary of its recent daily maxima).

    The daily maxima say what an ordinary day's worst moment looks like in this stream: a spiky or
    heavy-tailed stream raises its own bar, a calm one keeps the floor. 0.5 exactly at the bar. The summary
    is the median (`peak_stat="median"`) or the largest (`"max"`) of the last `days` daily maxima; with the
    largest, and ratio 1, a stream of alike days alerts on about one day in days + 1 whatever its noise.
    A day's maximum enters the memory at most at PEAK_GROWTH x the bar, so one huge anomaly does not hide
    the next one for `days` days, while a stream that is truly spikier than its floor still raises the bar
    within a few days.
    """

    def __init__(self, floor: float, ratio: float, days: int, points_per_day: int, peak_stat: str = "median"):
        self.floor = floor
        self.ratio = ratio
        self._summary = self._max if peak_stat == "max" else self._median
        self._peaks: deque[float] = deque(maxlen=max(days, 1))
        self._block_points = max(points_per_day, 1)
        self._block_max = 0.0
        self._block_fill = 0
        self._bar = floor

    def _max(self, peaks) -> float:
        return self.ratio * max(peaks)

    def _median(self, peaks) -> float:
        return self.ratio * median(peaks)

    def step(self, stat: float) -> float:
        score = 1.0 / (1.0 + math.exp(-min(max(4.0 * (stat / self._bar - 1.0), -50.0), 50.0)))
        self._block_max = max(self._block_max, min(stat, PEAK_GROWTH * self._bar))
        self._block_fill += 1
        if self._block_fill >= self._block_points:
            self._peaks.append(self._block_max)
            self._block_max, self._block_fill = 0.0, 0
            if self.ratio:
                self._bar = max(self.floor, self._summary(self._peaks))
        return score


class SeriesScorer:
    """Turns the seasonal detector's z of each point (and the value) into a 0..1 anomaly score, online.

    Up to three views, the largest score wins, each judged by a PeakGate:
    * spike: the point's own |z| (floor z_alert);
    * burst: the root mean square of z over the last ~`burst_points` points (EWMA), so that a run of
      moderately unusual points (denser spikes, more noise) stands out even if none is extreme alone;
    * shift: how far a short EWMA of the value (`shift_points`) is from a long one (`shift_long_days`), in
      long-term (clipped mean absolute) deviations, for level shifts and drifts the seasonal baseline slowly
      absorbs; measured on the points before the current one.
    A view is off when its floor is 0. Windows are in points (`points_per_day` points make a "day").
    """

    def __init__(self, z_alert: float = 4.0, peak_ratio: float = 0.0, peak_days: int = 7,
                 burst_alert: float = 0.0, burst_points: int = 12, shift_alert: float = 0.0,
                 shift_points: int = 12, shift_long_days: float = 7.0, peak_stat: str = "median",
                 points_per_day: int = 288):
        def gate(floor):
            return PeakGate(floor, peak_ratio, peak_days, points_per_day, peak_stat) if floor > 0 else None
        self._spike, self._burst, self._shift = gate(z_alert), gate(burst_alert), gate(shift_alert)
        self._a_burst = 1 - 0.5 ** (1 / max(burst_points, 1))
        self._a_short = 1 - 0.5 ** (1 / max(shift_points, 1))
        self._a_long = 1 - 0.5 ** (1 / max(shift_long_days * points_per_day, 1))
        self._z2 = 0.0
        self._short = self._long = self._long_dev = 0.0
        self._n = 0

    def step(self, z: float, value: float) -> float:
        score = self._spike.step(abs(z)) if self._spike else 0.0
        if self._burst:
            self._z2 += self._a_burst * (min(z * z, 100.0) - self._z2)
            score = max(score, self._burst.step(math.sqrt(self._z2)))
        if self._shift:
            score = max(score, self._shift.step(self._shift_stat(value)))
        return score

    def _shift_stat(self, value: float) -> float:
        self._n += 1
        if self._n == 1:
            self._short = self._long = value
            return 0.0
        spread = 1.25 * self._long_dev  # mean absolute deviation -> standard deviation for normal noise
        stat = abs(self._short - self._long) / spread if spread > 0 else 0.0
        rate = max(self._a_long, 1.0 / self._n)
        deviation = abs(value - self._long)
        if spread > 0:
            # clipped, so a failure (a drop to zero) does not inflate the yardstick for the next one
            deviation = min(deviation, 5.0 * spread)
        self._long_dev += rate * (deviation - self._long_dev)
        self._long += rate * (value - self._long)
        self._short += max(self._a_short, 1.0 / self._n) * (value - self._short)
        return stat


def detect_series(
    rows: list[tuple[str, datetime, float]], refractory_seconds: float | None = None,
    score_settings: dict | None = None, **settings
) -> Iterator[tuple[str, float, float]]:
    """Score each point before learning it; the interval is inferred from the timestamps (NAB series vary).

    After a point reaches ALERT_SCORE, the scores of the next `refractory_seconds` are capped just below it:
    one event should raise one alert, and NAB likewise rewards only the first detection in a window.
    """
    interval = infer_interval([t for _, t, _ in rows[:500]])
    options = {"counts": False, "diurnal_prior": False, "utc_offset_hours": 0.0, **SERIES_SETTINGS, **settings}
    detector = SeasonalVolume(interval_seconds=interval, **options)
    scorer = SeriesScorer(points_per_day=round(86400 / interval), **{**SCORE_SETTINGS, **(score_settings or {})})
    refractory = REFRACTORY_SECONDS if refractory_seconds is None else refractory_seconds
    quiet_until = None
    for stamp, moment, value in rows:
        x = {"t": moment, "value": value}
        score = scorer.step(detector.z(x), value)
        detector.learn_one(x)
        if quiet_until is not None and moment < quiet_until:
            score = min(score, ALERT_SCORE - 0.001)
        elif score >= ALERT_SCORE and refractory > 0:
            quiet_until = moment + timedelta(seconds=refractory)
        yield stamp, value, score
