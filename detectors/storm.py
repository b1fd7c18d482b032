"""Storm level on the Shitstorm-Skala (0-6): per-scope signals from buckets and the documented mapping to a level."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from detectors.seasonal import SeasonalVolume


@dataclass(frozen=True)
class StormThresholds:
    """The mapping from measurements to levels; see docs/storm-levels.md for why each number is what it is."""

    min_count: int = 10
    volume_ratio_levels: tuple[float, ...] = (1.5, 2.0, 3.0, 5.0, 8.0, 12.0)
    min_z: float = 4.0
    negative_share_min: float = 0.50
    negative_share_lift: float = 0.15
    majority_share: float = 0.6
    toxic_share_hurricane: float = 0.25
    question_share_min: float = 0.40
    positive_share_min: float = 0.50
    kind_share_lift: float = 0.20
    kind_share_z: float = 3.0
    min_platforms_for_level_4: int = 2


@dataclass(frozen=True)
class StormReading:
    """The level of one scope at the end of one bucket, the kind of surge, and the numbers behind it."""

    level: int
    kind: str
    signals: dict[str, float]
    reason: str
    bucket_expected: float = 0.0  # the baseline of the scored bucket, so learning need not compute it again


def _surprising(share: float, usual: float, count: float, min_z: float) -> bool:
    """Is the share above the usual one by more than chance allows for this many mentions (binomial z)?

    A burst of 15 comments under one friendly post is 55 % positive by chance far more often than a wave of
    200 is; without this, small bursts in small scopes open Candystorm and question-surge alerts.
    """
    p = min(max(usual, 0.02), 0.98)
    return (share - p) * count >= min_z * math.sqrt(count * p * (1 - p))


def storm_level(s: dict[str, float], th: StormThresholds) -> tuple[int, str, str]:
    """Pure mapping from window signals to (level, kind, reason).

    Volume alone is at most level 1: a Shitstorm needs a surge *and* a negative share above both an absolute
    floor and the scope's usual share. Question surges and Candystorms are classified before hostility is
    judged on volume, so they get their own playbooks instead of a Shitstorm alert.
    """
    count, ratio, z = s["count"], s["volume_ratio"], s["volume_z"]
    negative, usual_negative = s["negative_share"], s["usual_negative_share"]
    hostile = negative >= max(th.negative_share_min, usual_negative + th.negative_share_lift)
    surge = count >= th.min_count and z >= th.min_z and ratio >= th.volume_ratio_levels[0]
    if not surge:
        if hostile and count >= max(2, th.min_count // 2):
            return 1, "calm", "Kritik gehäuft, Menge unter der Sturmschwelle"
        return 0, "calm", "ruhig"
    size = sum(1 for r in th.volume_ratio_levels if ratio >= r)
    if not hostile:
        usual_questions = s.get("usual_question_share", 0.0)
        usual_positive = s.get("usual_positive_share", 0.0)
        if s["question_share"] >= max(th.question_share_min, usual_questions + th.kind_share_lift) and _surprising(
            s["question_share"], usual_questions, count, th.kind_share_z
        ):
            return size, "question_surge", "Welle von Fragen: Informationsbedarf, keine feindselige Stimmung"
        if s["positive_share"] >= max(th.positive_share_min, usual_positive + th.kind_share_lift) and _surprising(
            s["positive_share"], usual_positive, count, th.kind_share_z
        ):
            return size, "candystorm", "Welle von Zuspruch (Candystorm)"
        return 1, "surge", "mehr Beiträge als üblich, Stimmung nicht auffällig: kein Shitstorm"
    level = size
    caps = []
    if s["platforms"] < th.min_platforms_for_level_4 and level > 3:
        level, caps = 3, caps + ["nur auf einer Plattform"]
    if negative < th.majority_share and level > 4:
        level, caps = 4, caps + ["Kritiker nicht in der Mehrheit"]
    if s["toxic_share"] < th.toxic_share_hurricane and level > 5:
        level, caps = 5, caps + ["Ton nicht überwiegend aggressiv"]
    reason = "feindselige Welle: deutlich mehr Beiträge als üblich und deutlich negativer"
    if caps:
        reason += " (Stufe begrenzt: " + ", ".join(caps) + ")"
    return level, "shitstorm", reason


_NO_PLATFORMS: frozenset[str] = frozenset()


class _WindowEntry(NamedTuple):
    count: int
    expected: float
    negative: float
    positive: float
    toxic: float
    questions: float
    new_authors: int
    platforms: frozenset[str]


@dataclass
class ShareBaseline:
    """The scope's usual share of some label, learned from calm buckets only, weighted by their counts."""

    prior: float
    halflife_mentions: float = 2000.0
    _weight: float = field(default=0.0, init=False)
    _share: float = field(default=0.0, init=False)

    @property
    def share(self) -> float:
        # shrink toward the prior until ~100 mentions were seen, so a quiet new scope has a sane baseline
        strength = 100.0
        return (self._weight * self._share + strength * self.prior) / (self._weight + strength)

    def learn(self, hits: float, count: int) -> None:
        if count <= 0:
            return
        decay = 0.5 ** (count / self.halflife_mentions)
        self._share = (self._weight * decay * self._share + hits) / (self._weight * decay + count)
        self._weight = self._weight * decay + count


class ScopeStormScorer:
    """All detector state of one scope: seasonal volume, usual shares, and a short window of recent buckets.

    `score_one` reads a closed bucket and the window ending with it and returns a StormReading without
    changing state; `learn_one` then adds the bucket. Shares are learned only from buckets that were not
    part of a storm, and the volume baseline clips what it learns, so a storm does not become the norm.

    >>> from datetime import datetime, timedelta, timezone
    >>> scorer = ScopeStormScorer(bucket_seconds=300)
    >>> t0 = datetime(2026, 3, 2, tzinfo=timezone.utc)
    >>> calm = {"count": 2, "negative": 0.4, "positive": 0.6, "toxic": 0.0, "questions": 0.2,
    ...         "new_authors": 0, "platforms": ["facebook"]}
    >>> for i in range(12 * 24 * 3):
    ...     scorer.learn_one({**calm, "t": t0 + timedelta(minutes=5 * i)})
    >>> storm = {"t": t0 + timedelta(days=3, hours=12), "count": 60, "negative": 48, "positive": 2,
    ...          "toxic": 18, "questions": 5, "new_authors": 40, "platforms": ["facebook", "instagram"]}
    >>> reading = scorer.score_one(storm)
    >>> reading.kind, reading.level >= 4
    ('shitstorm', True)
    """

    def __init__(
        self,
        bucket_seconds: int = 300,
        window_buckets: int = 3,
        thresholds: StormThresholds | None = None,
        halflife_days: float = 7.0,
        warmup_hours: float = 12.0,
        utc_offset_hours: float = 1.0,
    ):
        self.bucket_seconds = bucket_seconds
        self.window_buckets = window_buckets
        self.thresholds = thresholds or StormThresholds()
        self.halflife_days = halflife_days
        self.warmup_hours = warmup_hours
        self.volume = SeasonalVolume(
            interval_seconds=bucket_seconds, halflife_days=halflife_days, utc_offset_hours=utc_offset_hours
        )
        self.negative = ShareBaseline(prior=0.25)
        self.toxic = ShareBaseline(prior=0.03)
        self.questions = ShareBaseline(prior=0.15)
        self.positive = ShareBaseline(prior=0.2)
        self._window: deque[_WindowEntry] = deque(maxlen=window_buckets)
        self._buckets_seen = 0
        # below this many mentions in the window neither a surge nor raised negativity can give a level
        self._quiet_below = min(self.thresholds.min_count, max(2, self.thresholds.min_count // 2))

    def _entry(self, x: dict[str, Any], expected: float) -> _WindowEntry:
        return _WindowEntry(
            int(x["count"]),
            expected,
            float(x.get("negative", 0.0)),
            float(x.get("positive", 0.0)),
            float(x.get("toxic", 0.0)),
            float(x.get("questions", 0.0)),
            int(x.get("new_authors", 0)),
            frozenset(x.get("platforms", ())),
        )

    def _current(self, x: dict[str, Any]) -> _WindowEntry:
        # a planned event (council live stream, election night) raises what is expected, not what is learned
        factor = x.get("planned_factor", 1.0)
        return self._entry(x, factor * self.volume.expected(x["t"]) if self.volume.n_observations else 0.0)

    def _signals(self, window: list[_WindowEntry]) -> dict[str, float]:
        count = 0
        expected = variance = negative = positive = toxic = questions = 0.0
        new_authors = 0
        platforms: set[str] = set()
        volume = self.volume
        for e in window:
            count += e.count
            expected += e.expected
            variance += volume.variance(e.expected)
            negative += e.negative
            positive += e.positive
            toxic += e.toxic
            questions += e.questions
            new_authors += e.new_authors
            platforms.update(e.platforms)
        per = 1.0 / count if count else 0.0
        return {
            "count": float(count),
            "expected": expected,
            "volume_ratio": count / max(expected, 0.5),
            "volume_z": (count - expected) / math.sqrt(variance) if volume.n_observations >= 2 else 0.0,
            "negative_share": negative * per,
            "usual_negative_share": self.negative.share,
            "toxic_share": toxic * per,
            "usual_toxic_share": self.toxic.share,
            "question_share": questions * per,
            "usual_question_share": self.questions.share,
            "positive_share": positive * per,
            "usual_positive_share": self.positive.share,
            "new_author_share": new_authors * per,
            "platforms": float(len(platforms)),
            "bucket_count": float(window[-1].count),
            "window_buckets": float(len(window)),
            "window_minutes": len(window) * self.bucket_seconds / 60.0,
        }

    def _window_with(self, current: _WindowEntry, size: int) -> list[_WindowEntry]:
        window = list(self._window)[-(size - 1) :] if size > 1 else []
        window.append(current)
        return window

    def signals(self, x: dict[str, Any], window_buckets: int | None = None) -> dict[str, float]:
        """The signals over bucket x and the `window_buckets - 1` buckets learned before it."""
        size = self.window_buckets if window_buckets is None else window_buckets
        return self._signals(self._window_with(self._current(x), size))

    def warmed_up(self) -> bool:
        return self._buckets_seen * self.bucket_seconds >= self.warmup_hours * 3600

    def score_one(self, x: dict[str, Any]) -> StormReading:
        """The more severe of two views: the last bucket alone (fast onset) and the window (small counts)."""
        current = self._current(x)
        window = self._window_with(current, self.window_buckets)
        count = sum(e.count for e in window)
        if count < self._quiet_below:
            # most buckets are quiet (nights, small scopes): no level is possible, skip the full signal set
            expected = sum(e.expected for e in window)
            quiet = {"count": float(count), "expected": expected, "volume_ratio": count / max(expected, 0.5)}
            return StormReading(0, "calm", quiet, "ruhig", current.expected)
        windowed = self._signals(window)
        if not self.warmed_up():
            return StormReading(0, "calm", windowed, "Einlernphase", current.expected)
        factor = x.get("planned_factor", 1.0)
        best = self._reading(windowed, current.expected, factor)
        if self.window_buckets > 1 and current.count >= self.thresholds.min_count:
            candidate = self._reading(self._signals([current]), current.expected, factor)
            if candidate.level > best.level:
                best = candidate
        return best

    def process_empty(self, t: Any, planned_factor: float = 1.0) -> StormReading:
        """score_one then learn_one for a bucket without mentions, without building the bucket dict.

        Empty buckets are most buckets (nights, small scopes), so this path is worth its few lines;
        a test holds it to giving exactly what score_one + learn_one give.
        """
        expected = planned_factor * self.volume.expected(t) if self.volume.n_observations else 0.0
        window = self._window
        previous = list(window)[-(self.window_buckets - 1) :] if self.window_buckets > 1 else []
        count = sum(e.count for e in previous)
        entry = _WindowEntry(0, expected, 0.0, 0.0, 0.0, 0.0, 0, _NO_PLATFORMS)
        if count < self._quiet_below:
            total = sum(e.expected for e in previous) + expected
            quiet = {"count": float(count), "expected": total, "volume_ratio": count / max(total, 0.5)}
            reading = StormReading(0, "calm", quiet, "ruhig", expected)
        else:
            reading = self.score_one({"t": t, "count": 0, "planned_factor": planned_factor})
        self.volume.learn_one({"t": t, "value": 0, "expected": expected / planned_factor})
        window.append(entry)
        self._buckets_seen += 1
        return reading

    def _reading(self, s: dict[str, float], bucket_expected: float, planned_factor: float = 1.0) -> StormReading:
        level, kind, reason = storm_level(s, self.thresholds)
        if planned_factor != 1.0:
            s["planned_factor"] = planned_factor
            reason += f" (geplantes Ereignis: {planned_factor:g}-faches Volumen erwartet)"
        return StormReading(level, kind, s, reason, bucket_expected)

    def learn_one(self, x: dict[str, Any], reading: StormReading | None = None) -> None:
        if reading is not None and self.volume.n_observations:
            entry = self._entry(x, reading.bucket_expected)
        else:
            entry = self._current(x)
        factor = x.get("planned_factor", 1.0)
        # the baseline learns the planned event's volume scaled back to a normal day, so the next
        # live stream is still judged against its own plan and an ordinary evening stays ordinary
        self.volume.learn_one({"t": x["t"], "value": entry.count / factor, "expected": entry.expected / factor})
        self._window.append(entry)
        self._buckets_seen += 1
        stormy = reading is not None and reading.level >= 2
        if not stormy and entry.count and factor == 1.0:
            self.negative.learn(entry.negative, entry.count)
            self.toxic.learn(entry.toxic, entry.count)
            self.questions.learn(entry.questions, entry.count)
            self.positive.learn(entry.positive, entry.count)
