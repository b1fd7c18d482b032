"""Spread across platforms: the same scope heating up on several platforms at once."""

from __future__ import annotations

import math
from typing import Any

from detectors.seasonal import z_to_score

_CAP = 10_000  # counters stop here, so the pickled state stops growing


class PlatformSpread:
    """Online detector of a scope whose mentions rise on two or more platforms in the same bucket.

    x is ``{"platforms": {"facebook": 30, "instagram": 12}}`` (mentions per platform in the bucket; a
    platform seen before and missing from x had 0). Each platform keeps an EWMA of its count and of the
    squared residual, with no seasonal profile: the half-life of a day makes the day-night swing part of
    the learned noise, so an ordinary morning does not look like a spread, while a storm is many times
    that noise. A platform is raised by its upward z-score; the score is that of the *second* most
    raised platform, so one platform's spike (a single viral post) stays low and an echo on several
    channels scores high. Values above `clip_z` teach a tenth as much and only up to the ceiling, so a
    storm does not become the norm. State: three numbers per platform (mean, residual variance, buckets
    seen), at most `max_platforms` platforms.

    Parameters
    ----------
    halflife_buckets: how fast a platform's baseline forgets, in buckets (288 = one day of 5-minute buckets).
    min_count: a platform with fewer mentions in the bucket is not raised, whatever its z-score.
    overdispersion: Poisson noise plus this times the squared mean is the least noise assumed.
    clip_z: learning ceiling in noise units.
    warmup_buckets: a platform must have been seen this many buckets before it can be raised.
    max_platforms: platforms beyond this many are ignored (bounds the state against odd input).

    >>> detector = PlatformSpread()
    >>> for i in range(500):
    ...     detector.learn_one({"platforms": {"facebook": 4 + i % 3, "instagram": 2 + i % 2, "x": 1}})
    >>> one = detector.score_one({"platforms": {"facebook": 60, "instagram": 3, "x": 1}})
    >>> two = detector.score_one({"platforms": {"facebook": 60, "instagram": 30, "x": 2}})
    >>> one < 0.05 < 0.95 < two
    True
    """

    def __init__(
        self,
        halflife_buckets: float = 288.0,
        min_count: float = 5.0,
        overdispersion: float = 0.05,
        clip_z: float = 3.0,
        warmup_buckets: int = 12,
        max_platforms: int = 16,
    ):
        self.halflife_buckets = halflife_buckets
        self.min_count = min_count
        self.overdispersion = overdispersion
        self.clip_z = clip_z
        self.warmup_buckets = warmup_buckets
        self.max_platforms = max_platforms
        self._platforms: dict[str, list[float]] | None = None  # name -> [mean, residual variance, buckets seen]

    def _noise(self, mean: float, resid_var: float) -> float:
        return math.sqrt(max(resid_var, mean + self.overdispersion * mean * mean + 0.25))

    def platform_z(self, x: dict[str, Any]) -> dict[str, float]:
        """The upward z-score of every platform in x that has a baseline (0 when not raised)."""
        known = self._platforms or {}
        out: dict[str, float] = {}
        for name, value in (x.get("platforms") or {}).items():
            state = known.get(name)
            count = float(value)
            if state is None or state[2] < self.warmup_buckets or count < self.min_count:
                out[name] = 0.0
                continue
            out[name] = max((count - state[0]) / self._noise(state[0], state[1]), 0.0)
        return out

    def score_one(self, x: dict[str, Any]) -> float:
        return z_to_score(self.second(x.get("platforms") or {})[0])

    def second(self, counts: dict[str, float], buckets: int = 1) -> tuple[float, float, float]:
        """(z, count, expected count) of the *second* most raised platform in `counts`.

        `buckets` > 1 says the counts sum that many buckets (a window): the baseline and its noise are
        scaled to the window, as for independent buckets. This is what the storm level reads: the echo,
        not the loudest channel.
        """
        known = self._platforms
        best = second = (0.0, 0.0, 0.0)
        if not known:
            return second
        for name, value in counts.items():
            state = known.get(name)
            count = float(value)
            if state is None or state[2] < self.warmup_buckets or count < self.min_count:
                continue
            mean = state[0] * buckets
            z = (count - mean) / (self._noise(state[0], state[1]) * math.sqrt(buckets))
            if z > best[0]:
                best, second = (z, count, mean), best
            elif z > second[0]:
                second = (z, count, mean)
        return second

    def learn_one(self, x: dict[str, Any]) -> None:
        self.learn_counts(x.get("platforms") or {})

    def learn_counts(self, counts: dict[str, float]) -> None:
        """learn_one for a caller (ScopeStormScorer) that has the bucket's mentions per platform at hand."""
        platforms = self._platforms
        if platforms is None:
            platforms = self._platforms = {}
            self._alpha = 1.0 - 0.5 ** (1.0 / self.halflife_buckets)
        for name in counts:
            if name not in platforms and len(platforms) < self.max_platforms:
                platforms[name] = [0.0, 0.0, 0]
        # this loop runs for every platform in every bucket of every scope: hence locals, no helper calls,
        # and conditionals instead of the builtins min/max (same results, including ties)
        alpha, clip_z, warmup, over = self._alpha, self.clip_z, self.warmup_buckets, self.overdispersion
        get = counts.get
        for name, state in platforms.items():
            value = float(get(name, 0) or 0) if counts else 0.0
            mean, resid_var, seen = state
            if seen < _CAP:
                seen += 1
            if seen == 1:
                state[0], state[2] = value, seen
                continue
            if not value and not mean and not resid_var:
                # nothing seen yet and nothing now (a platform named without mentions): the update below
                # would leave mean and variance at exactly 0.0, so only the count moves
                state[2] = seen
                continue
            # plain averaging until the EWMA window is reached, so a new platform is not stuck on its first value
            rate = alpha if alpha * seen >= 1.0 else 1.0 / seen
            residual = value - mean
            damping = 1.0
            if residual > 0.0 and seen > warmup:
                # _noise inlined
                floor = mean + over * mean * mean + 0.25
                ceiling = clip_z * math.sqrt(floor if resid_var < floor else resid_var)
                if residual > ceiling:
                    residual, damping = ceiling, 0.1
            state[0] = mean + damping * rate * residual
            squared, bound = residual * residual, 100.0 * resid_var + 1.0
            state[1] = resid_var + rate * ((bound if bound < squared else squared) - resid_var)
            state[2] = seen
