"""Volume against a seasonal baseline (hour of day, hour of week) that a storm does not poison."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

# Typical share of a public authority's daily comments per hour of day (local time), relative to the daily
# mean: quiet at night, rising from 7 h, a plateau through the day and an evening peak. Used only until a
# scope has history of its own, so that the first day is not judged against a flat line.
DIURNAL_PRIOR = (
    0.25, 0.15, 0.1, 0.08, 0.08, 0.15, 0.35, 0.7, 1.05, 1.25, 1.35, 1.4,
    1.45, 1.4, 1.35, 1.3, 1.3, 1.35, 1.45, 1.55, 1.5, 1.25, 0.85, 0.5,
)  # fmt: skip


def z_to_score(z: float) -> float:
    """Map an upward z-score to 0..1: 0.5 at z = 4, 0.95 at z = 7, about 0.12 at z = 2."""
    if z <= 0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-(z - 4.0)))


class SeasonalVolume:
    """Online detector of upward deviations of a per-interval count from its seasonal baseline.

    The expected value for an interval blends three estimates, each shrunk toward the next when it has
    little evidence: the hour-of-week mean, the hour-of-day mean, and the overall mean shaped by a diurnal
    prior. Learning clips observations above `clip_z` standard deviations, so a storm raises the
    baseline only slowly and the next storm at the same hour is still seen. Only increases score.

    Parameters
    ----------
    interval_seconds: width of one observation interval (a bucket).
    halflife_days: how fast the hour-of-day baseline forgets; the hour-of-week one forgets 4x slower.
    counts: True for counts (Poisson noise plus overdispersion); False for arbitrary values (NAB series),
        where the noise is learned from the residuals.
    utc_offset_hours: shift applied before taking hour of day, so that the diurnal prior fits local time.
    diurnal_prior: shape the overall mean by DIURNAL_PRIOR until the hour has its own history.
    The options below apply to value series only (counts=False); their defaults keep the original behaviour.
    two_sided: score drops as well as rises (a failing machine's temperature falls; a count's drop is no storm).
    robust_scale: estimate the noise from the mean absolute residual instead of the mean squared one, so a
        single huge outlier does not blind the detector for hours.
    scale_halflife_hours: how fast the noise estimate forgets (default: as the hour-of-day baseline does).
    level_halflife_hours: add a short-term level (EWMA of the residuals) to the seasonal baseline, so that a
        slowly wandering series (a temperature, a CPU load) is judged against where it is now, not last week.

    >>> from datetime import datetime, timedelta, timezone
    >>> detector = SeasonalVolume(interval_seconds=3600)
    >>> start = datetime(2026, 3, 2, tzinfo=timezone.utc)
    >>> for hour in range(24 * 14):
    ...     t = start + timedelta(hours=hour)
    ...     detector.learn_one({"t": t, "value": 20 if 8 <= t.hour < 20 else 2})
    >>> quiet_night = {"t": start + timedelta(days=14, hours=3), "value": 2}
    >>> storm = {"t": start + timedelta(days=14, hours=10), "value": 120}
    >>> detector.score_one(quiet_night) < 0.05 < 0.95 < detector.score_one(storm)
    True
    """

    def __init__(
        self,
        interval_seconds: int = 300,
        halflife_days: float = 7.0,
        counts: bool = True,
        overdispersion: float = 0.05,
        clip_z: float = 3.0,
        utc_offset_hours: float = 1.0,
        diurnal_prior: bool = True,
        two_sided: bool = False,
        robust_scale: bool = False,
        scale_halflife_hours: float | None = None,
        level_halflife_hours: float | None = None,
    ):
        self.interval_seconds = interval_seconds
        self.halflife_days = halflife_days
        self.counts = counts
        self.overdispersion = overdispersion
        self.clip_z = clip_z
        self.utc_offset_hours = utc_offset_hours
        self.diurnal_prior = diurnal_prior
        generic = not counts
        self.two_sided = two_sided and generic
        self.robust_scale = robust_scale and generic
        self.scale_halflife_hours = scale_halflife_hours if generic else None
        self.level_halflife_hours = level_halflife_hours if generic else None
        self._ready = False
        self._forget()

    # -- state ----------------------------------------------------------------
    def _build(self) -> None:
        per_hour = max(3600.0 / self.interval_seconds, 1.0)
        self._per_hour = per_hour
        self._alpha_all = 1 - 0.5 ** (1 / (per_hour * 24 * self.halflife_days))
        self._alpha_day = 1 - 0.5 ** (1 / (per_hour * self.halflife_days))
        self._alpha_week = 1 - 0.5 ** (1 / (per_hour * 4))
        self._mean = 0.0
        self._n = 0
        self._day = [0.0] * 24
        self._day_n = [0] * 24
        self._week = [0.0] * 168
        self._week_n = [0] * 168
        self._resid_var = 0.0
        self._alpha_scale = self._alpha_day
        if self.scale_halflife_hours:
            self._alpha_scale = 1 - 0.5 ** (1 / (per_hour * self.scale_halflife_hours))
        self._alpha_level = 0.0
        if self.level_halflife_hours:
            self._alpha_level = 1 - 0.5 ** (1 / (per_hour * self.level_halflife_hours))
        self._abs_resid = 0.0  # mean absolute residual, for robust_scale
        self._level = 0.0  # short-term offset from the seasonal baseline, for level_halflife_hours
        self._ready = True

    # score_one and learn_one of the same bucket need the same slots and baseline; both are remembered for
    # the last time asked (the baseline only until the next learn_one changes the state). They are a cache,
    # not model state: kept in slots outside __dict__ and left out of pickles, so a pickle stays small and
    # scoring leaves the learned state (__dict__) untouched.
    __slots__ = ("__dict__", "__weakref__", "_slot_t", "_slot_pair", "_expected_t", "_expected_value")

    def _forget(self) -> None:
        self._slot_t, self._slot_pair = None, (0, 0)
        self._expected_t, self._expected_value = None, 0.0

    def __getstate__(self) -> dict:
        return self.__dict__.copy()

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._forget()

    def _slots(self, t: Any) -> tuple[int, int]:
        if t is self._slot_t:
            return self._slot_pair
        # t is a datetime (naive ones are read as UTC) or epoch seconds; utc_offset_hours then makes it local
        if isinstance(t, datetime):
            epoch = (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()
        else:
            epoch = float(t)
        local = epoch + self.utc_offset_hours * 3600
        hour_of_week = int(local // 3600 + 72) % 168  # the Unix epoch was a Thursday; +72 h makes Monday 0
        self._slot_t, self._slot_pair = t, (hour_of_week % 24, hour_of_week)
        return self._slot_pair

    @property
    def n_observations(self) -> int:
        return self._n if self._ready else 0

    # -- model ----------------------------------------------------------------
    def expected(self, t: Any) -> float:
        """The baseline for the interval at time t (mean of the value there)."""
        if not self._ready or self._n == 0:
            return 0.0
        if t is self._expected_t:
            return self._expected_value
        value = self._seasonal(t) + self._level
        self._expected_t, self._expected_value = t, value
        return value

    def _seasonal(self, t: Any) -> float:
        hour, week_slot = self._slots(t)
        prior = self._mean * (DIURNAL_PRIOR[hour] if self.diurnal_prior else 1.0)
        shrink_day = self._per_hour  # one day of evidence weighs as much as the prior
        day_n = self._day_n[hour]
        day_n = 10_000 if day_n > 10_000 else day_n  # min(), without the builtin call (this runs for every bucket)
        by_day = (day_n * self._day[hour] + shrink_day * prior) / (day_n + shrink_day)
        shrink_week = 2 * self._per_hour  # two weeks of the same weekday-hour before it dominates
        week_n = self._week_n[week_slot]
        week_n = 10_000 if week_n > 10_000 else week_n
        return (week_n * self._week[week_slot] + shrink_week * by_day) / (week_n + shrink_week)

    def variance(self, expected: float) -> float:
        if self.counts:
            return expected + self.overdispersion * expected * expected + 0.25
        floor = 1e-9 + (abs(self._mean) * 1e-3) ** 2
        if self.robust_scale:
            # for normal noise the standard deviation is sqrt(pi/2) times the mean absolute deviation
            return max(math.pi / 2 * self._abs_resid * self._abs_resid, floor)
        return max(self._resid_var, floor)

    def z(self, x: dict[str, Any]) -> float:
        if not self._ready or self._n < 2:
            return 0.0
        expected = self.expected(x["t"])
        z = (float(x["value"]) - expected) / math.sqrt(self.variance(expected))
        return abs(z) if self.two_sided else z

    def score_one(self, x: dict[str, Any]) -> float:
        return z_to_score(self.z(x))

    def learn_one(self, x: dict[str, Any]) -> None:
        """Learn x = {"t", "value"}; a caller that has just scored x may pass {"expected"} to save recomputing it."""
        self.learn_value(x["t"], x["value"], x["expected"] if "expected" in x else None)

    def learn_value(self, t: Any, value: float, expected: float | None = None) -> None:
        """learn_one without the bucket dict, for a caller (ScopeStormScorer) that has t and value at hand."""
        if not self._ready:
            self._build()
        value = float(value)
        damping = 1.0
        if self._n >= 2:
            if expected is None:
                expected = self.expected(t)
            # variance() inlined for counts, the case every scope's volume is (this runs for every bucket)
            spread = math.sqrt(expected + self.overdispersion * expected * expected + 0.25 if self.counts
                               else self.variance(expected))
            residual = value - expected
            if self.robust_scale:
                # clipped like the baseline, so an outlier moves the noise estimate by a bounded step
                self._abs_resid += self._alpha_scale * (min(abs(residual), self.clip_z * spread) - self._abs_resid)
            else:
                squared, bound = residual * residual, 100 * self._resid_var + 1e-9
                self._resid_var += self._alpha_scale * ((bound if bound < squared else squared) - self._resid_var)
            ceiling = expected + self.clip_z * spread
            floor = expected - self.clip_z * spread
            if value > ceiling:
                # an anomaly teaches the baseline a tenth as much, and only up to the ceiling: a storm barely
                # moves it, while a lasting level shift is still absorbed within days
                value, damping = ceiling, 0.1
            elif self.two_sided and value < floor:
                value, damping = floor, 0.1
            if self._alpha_level:
                self._level += damping * self._alpha_level * (value - expected)
        elif self._n == 1:
            self._resid_var = (value - self._mean) ** 2
            self._abs_resid = abs(value - self._mean)
        self._expected_t = None  # the level (above) and the means (below) change: a remembered baseline is stale
        hour, week_slot = self._slots(t)
        # below, `r if r > a else a` is max(a, r) without the builtin call (same result, ties included):
        # this runs for every bucket of every scope
        n = self._n = self._n + 1
        alpha, r = self._alpha_all, 1.0 / n
        self._mean += damping * (r if r > alpha else alpha) * (value - self._mean)
        # the hour-of-day and the hour-of-week slot, inlined: plain averaging until the EWMA window is reached,
        # so early slots are not dominated by their first value
        day_n, day = self._day_n, self._day
        n = day_n[hour] = day_n[hour] + 1
        if n == 1:
            day[hour] = value
        else:
            alpha, r = self._alpha_day, 1.0 / n
            day[hour] += damping * (r if r > alpha else alpha) * (value - day[hour])
        week_n, week = self._week_n, self._week
        n = week_n[week_slot] = week_n[week_slot] + 1
        if n == 1:
            week[week_slot] = value
        else:
            alpha, r = self._alpha_week, 1.0 / n
            week[week_slot] += damping * (r if r > alpha else alpha) * (value - week[week_slot])
