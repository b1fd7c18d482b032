"""SeasonalVolume: the faster implementation gives exactly the outputs of the original one.

The original class (as of commit b6b9f6c) is kept below verbatim as the oracle. Both run the same simulated
streams (the pipeline's counts mode with storms, and the generic mode of detect-series); every score,
baseline, variance and z must be bit-identical, with and without the caller passing "expected", and after a
pickle round trip in the middle of the stream.
"""

import math
import pickle
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from detectors.seasonal import DIURNAL_PRIOR, SeasonalVolume

# ---- oracle: the original implementation ---------------------------------------------------------------------

def _ref_z_to_score(z: float) -> float:
    """Map an upward z-score to 0..1: 0.5 at z = 4, 0.95 at z = 7, about 0.12 at z = 2."""
    if z <= 0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-(z - 4.0)))


def _ref_epoch(t: Any) -> float:
    if isinstance(t, datetime):
        return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()
    return float(t)


class ReferenceSeasonalVolume:
    """SeasonalVolume as it was before the speed-up (commit b6b9f6c), kept verbatim as the oracle."""

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

    def _slots(self, t: Any) -> tuple[int, int]:
        local = _ref_epoch(t) + self.utc_offset_hours * 3600
        hour_of_week = int(local // 3600 + 72) % 168  # the Unix epoch was a Thursday; +72 h makes Monday 0
        return hour_of_week % 24, hour_of_week

    @property
    def n_observations(self) -> int:
        return self._n if self._ready else 0

    # -- model ----------------------------------------------------------------
    def expected(self, t: Any) -> float:
        """The baseline for the interval at time t (mean of the value there)."""
        if not self._ready or self._n == 0:
            return 0.0
        return self._seasonal(t) + self._level

    def _seasonal(self, t: Any) -> float:
        if not self._ready or self._n == 0:
            return 0.0
        hour, week_slot = self._slots(t)
        prior = self._mean * (DIURNAL_PRIOR[hour] if self.diurnal_prior else 1.0)
        shrink_day = self._per_hour  # one day of evidence weighs as much as the prior
        day_n = min(self._day_n[hour], 10_000)
        by_day = (day_n * self._day[hour] + shrink_day * prior) / (day_n + shrink_day)
        shrink_week = 2 * self._per_hour  # two weeks of the same weekday-hour before it dominates
        week_n = min(self._week_n[week_slot], 10_000)
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
        return _ref_z_to_score(self.z(x))

    def learn_one(self, x: dict[str, Any]) -> None:
        """Learn x = {"t", "value"}; a caller that has just scored x may pass {"expected"} to save recomputing it."""
        if not self._ready:
            self._build()
        value = float(x["value"])
        damping = 1.0
        if self._n >= 2:
            expected = x["expected"] if "expected" in x else self.expected(x["t"])
            spread = math.sqrt(self.variance(expected))
            residual = value - expected
            if self.robust_scale:
                # clipped like the baseline, so an outlier moves the noise estimate by a bounded step
                self._abs_resid += self._alpha_scale * (min(abs(residual), self.clip_z * spread) - self._abs_resid)
            else:
                self._resid_var += self._alpha_scale * (
                    min(residual * residual, 100 * self._resid_var + 1e-9) - self._resid_var)
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
        hour, week_slot = self._slots(x["t"])
        self._n += 1
        self._mean += damping * max(self._alpha_all, 1.0 / self._n) * (value - self._mean)
        self._update_slot(self._day, self._day_n, hour, value, self._alpha_day, damping)
        self._update_slot(self._week, self._week_n, week_slot, value, self._alpha_week, damping)

    @staticmethod
    def _update_slot(means: list[float], counts: list[int], slot: int, value: float, alpha: float, damping: float) -> None:
        # plain averaging until the EWMA window is reached, so early slots are not dominated by their first value
        counts[slot] += 1
        if counts[slot] == 1:
            means[slot] = value
            return
        rate = max(alpha, 1.0 / counts[slot])
        means[slot] += damping * rate * (value - means[slot])


# ---- tests ---------------------------------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)


def _stream(n: int, seed: int, counts: bool = True, epoch_floats: bool = False) -> list[dict]:
    """5-minute buckets: a day-night rhythm, weekday/weekend levels, storms (x5-x20 for 1-3 h), gaps."""
    rng = random.Random(seed)
    out, i = [], 0
    while len(out) < n:
        t = T0 + timedelta(minutes=5 * i)
        i += 1 if rng.random() > 0.02 else rng.randrange(2, 300)  # occasional gaps, like a quiet scope
        base = 8.0 if 8 <= t.hour < 21 else 0.5
        base *= 0.6 if t.weekday() >= 5 else 1.0
        if rng.random() < 0.003:
            base *= rng.uniform(5, 20)
        value = float(sum(rng.random() < base / 20 for _ in range(20))) if counts else base + rng.gauss(0, 1.5)
        out.append({"t": t.timestamp() if epoch_floats else t, "value": value})
    return out


OPTIONS = [
    {},  # the pipeline's counts mode, defaults
    {"interval_seconds": 600, "halflife_days": 3.0, "utc_offset_hours": 2.0, "clip_z": 4.0},
    {"counts": False, "diurnal_prior": False, "utc_offset_hours": 0.0, "two_sided": True,
     "scale_halflife_hours": 24.0, "level_halflife_hours": 12.0, "clip_z": 5.0},
    {"counts": False, "robust_scale": True, "two_sided": True},
]


def _run(detector, stream, pass_expected: bool, pickle_at: int | None = None) -> list[tuple]:
    trace = []
    for i, x in enumerate(stream):
        if pickle_at is not None and i == pickle_at:
            detector = pickle.loads(pickle.dumps(detector))
        score = detector.score_one(x)
        expected = detector.expected(x["t"])
        variance = detector.variance(expected) if detector.n_observations else None
        trace.append((score, detector.z(x), expected, variance, detector.n_observations))
        learn = {**x, "expected": expected} if pass_expected else x
        detector.learn_one(learn)
    return trace


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("pass_expected", [False, True])
def test_identical_outputs_to_the_original(options, pass_expected):
    counts = options.get("counts", True)
    stream = _stream(6000, seed=7, counts=counts)
    old = _run(ReferenceSeasonalVolume(**options), stream, pass_expected)
    new = _run(SeasonalVolume(**options), stream, pass_expected)
    assert new == old  # exact equality: same arithmetic in the same order
    assert max(t[0] for t in new) > 0.95  # the storms are seen: the comparison is not between two zeros


def test_identical_with_epoch_seconds_and_after_a_pickle_round_trip():
    stream = _stream(4000, seed=3, epoch_floats=True)
    old = _run(ReferenceSeasonalVolume(), stream, False)
    assert _run(SeasonalVolume(), stream, False, pickle_at=2500) == old


def test_a_baseline_remembered_for_scoring_is_not_reused_after_learning():
    # the same time object scored, learned, and scored again: the second score must see the new state
    detector, reference = SeasonalVolume(), ReferenceSeasonalVolume()
    t = T0 + timedelta(hours=10)
    for value in (5.0, 7.0, 40.0, 6.0, 90.0):
        x = {"t": t, "value": value}
        assert detector.score_one(x) == reference.score_one(x)
        assert detector.expected(t) == reference.expected(t)
        detector.learn_one(x)
        reference.learn_one(x)
    assert detector.expected(t) == reference.expected(t) != 0.0


def test_the_remembered_values_stay_out_of_the_state_and_the_pickle():
    detector = SeasonalVolume()
    for x in _stream(500, seed=1):
        detector.score_one(x)
        detector.learn_one(x)
    x = _stream(501, seed=1)[-1]
    detector.score_one(x)  # fills the cache
    assert detector._expected_t is x["t"]
    assert not {"_slot_t", "_slot_pair", "_expected_t", "_expected_value"} & set(detector.__dict__)
    copy = pickle.loads(pickle.dumps(detector))
    assert copy._expected_t is None and copy.__dict__ == detector.__dict__
    assert copy.score_one(x) == detector.score_one(x)
