"""Storm level on the Shitstorm-Skala (0-6): per-scope signals from buckets and the documented mapping to a level.

The signals come from the online detectors (detectors.seasonal, detectors.shares_surprise, detectors.spread);
`storm_level` is a pure function of the readings they produce, and `explain` says, just as purely, which of
them fired. docs/storm-levels.md documents the mapping and why.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from detectors.seasonal import SeasonalVolume
from detectors.shares_surprise import ShareSet, upward_share_z
from detectors.spread import PlatformSpread


@dataclass(frozen=True)
class StormThresholds:
    """The mapping from measurements to levels; see docs/storm-levels.md for why each number is what it is."""

    min_count: int = 10
    volume_ratio_levels: tuple[float, ...] = (1.5, 2.0, 3.0, 5.0, 8.0, 12.0)
    min_z: float = 4.0
    negative_share_min: float = 0.50
    negative_share_lift: float = 0.15
    negative_z: float = 1.0  # the raised negative share must also be beyond chance for this many mentions
    majority_share: float = 0.6
    toxic_share_hurricane: float = 0.25
    question_share_min: float = 0.40
    positive_share_min: float = 0.50
    kind_share_lift: float = 0.20
    kind_share_z: float = 3.0
    # a corroborating signal (new authors, copy-paste, spread) fires at this z; so does the toxic signal in
    # explain(), though the level reads toxicity only through toxic_share_hurricane (the cap of level 6)
    signal_z: float = 3.0
    min_platforms_for_level_4: int = 2


@dataclass(frozen=True)
class SignalExplanation:
    """One signal behind a level: its value against the scope's baseline, how surprising, and whether it fired.

    `value` and `baseline` are in the signal's own unit (mentions for volume and spread, shares for the rest);
    `score` is the z-score (normal-equivalent deviation) the mapping reads.
    """

    name: str  # volume | negative | toxic | questions | positive | new_authors | copy_paste | spread
    value: float
    baseline: float
    score: float
    fired: bool

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("value", "baseline", "score"):
            out[key] = round(float(out[key]), 4)
        return out


@dataclass(frozen=True)
class StormReading:
    """The level of one scope at the end of one bucket, the kind of surge, and the numbers behind it."""

    level: int
    kind: str
    signals: dict[str, float]
    reason: str
    bucket_expected: float = 0.0  # the baseline of the scored bucket, so learning need not compute it again
    entry: Any = field(default=None, repr=False, compare=False)  # the scored bucket, so learning need not rebuild it


def _z(s: dict[str, float], name: str, share: float, usual: float) -> float:
    """The share's z-score from the readings, or (for hand-made readings without one) the plain binomial one."""
    z = s.get(name + "_z")
    if z is not None:
        return z
    count = s["count"]
    return upward_share_z(share * count, count, usual, 1.0)


def _surge(s: dict[str, float], th: StormThresholds) -> bool:
    return s["count"] >= th.min_count and s["volume_z"] >= th.min_z and s["volume_ratio"] >= th.volume_ratio_levels[0]


def _hostile(s: dict[str, float], th: StormThresholds) -> bool:
    negative, usual = s["negative_share"], s["usual_negative_share"]
    return negative >= max(th.negative_share_min, usual + th.negative_share_lift) and _z(
        s, "negative", negative, usual
    ) >= th.negative_z


def _kind_raised(s: dict[str, float], th: StormThresholds, name: str, floor: float) -> bool:
    share, usual = s.get(name + "_share", 0.0), s.get("usual_" + name + "_share", 0.0)
    return share >= max(floor, usual + th.kind_share_lift) and _z(s, name, share, usual) >= th.kind_share_z


def _questions(s: dict[str, float], th: StormThresholds) -> bool:
    return _kind_raised(s, th, "question", th.question_share_min)


def _positive(s: dict[str, float], th: StormThresholds) -> bool:
    return _kind_raised(s, th, "positive", th.positive_share_min)


CORROBORATING = ("copy_paste", "new_author", "spread")


def corroborating(s: dict[str, float], th: StormThresholds) -> list[str]:
    """The corroborating signals that fired: copy-paste campaign, new-author surge, spread to other platforms."""
    return [name for name in CORROBORATING if s.get(name + "_z", 0.0) >= th.signal_z]


def storm_level(s: dict[str, float], th: StormThresholds) -> tuple[int, str, str]:
    """Pure mapping from window signals to (level, kind, reason).

    Volume alone is at most level 1: a Shitstorm needs a surge *and* a negative share above both an absolute
    floor and the scope's usual share, by more than chance allows for the number of mentions. Question surges
    and Candystorms are classified before hostility is judged on volume, so they get their own playbooks
    instead of a Shitstorm alert. A hostile surge of at least level 2 gains one level when a copy-paste
    campaign, or two of (new-author surge, spread to another platform), corroborate it; then the scale's
    words cap the level (level 4 needs two platforms, 5 a negative majority, 6 an aggressive tone).
    """
    count, ratio = s["count"], s["volume_ratio"]
    hostile = _hostile(s, th)
    if not _surge(s, th):
        if hostile and count >= max(2, th.min_count // 2):
            return 1, "calm", "Kritik gehäuft, Menge unter der Sturmschwelle"
        return 0, "calm", "ruhig"
    size = sum(1 for r in th.volume_ratio_levels if ratio >= r)
    if not hostile:
        if _questions(s, th):
            return size, "question_surge", "Welle von Fragen: Informationsbedarf, keine feindselige Stimmung"
        if _positive(s, th):
            return size, "candystorm", "Welle von Zuspruch (Candystorm)"
        return 1, "surge", "mehr Beiträge als üblich, Stimmung nicht auffällig: kein Shitstorm"
    level = size
    reason = "feindselige Welle: deutlich mehr Beiträge als üblich und deutlich negativer"
    fired = corroborating(s, th)
    if level >= 2 and ("copy_paste" in fired or len(fired) >= 2):
        level = min(level + 1, 6)
        words = {"copy_paste": "Copy-Paste-Kampagne", "new_author": "viele neue Absender",
                 "spread": "Ausbreitung auf weitere Plattformen"}
        reason += " (Stufe erhöht: " + ", ".join(words[f] for f in fired) + ")"
    caps = []
    if s["platforms"] < th.min_platforms_for_level_4 and level > 3:
        level, caps = 3, caps + ["nur auf einer Plattform"]
    if s["negative_share"] < th.majority_share and level > 4:
        level, caps = 4, caps + ["Kritiker nicht in der Mehrheit"]
    if s["toxic_share"] < th.toxic_share_hurricane and level > 5:
        level, caps = 5, caps + ["Ton nicht überwiegend aggressiv"]
    if caps:
        reason += " (Stufe begrenzt: " + ", ".join(caps) + ")"
    return level, "shitstorm", reason


def explain(s: dict[str, float], th: StormThresholds) -> tuple[SignalExplanation, ...]:
    """Every signal present in the readings with value, baseline, z-score and whether it fired (pure).

    `fired` uses the very tests storm_level uses (volume, negative, questions, positive and the corroborating
    signals), so the explanation cannot disagree with the level. The toxic signal is the exception: storm_level
    reads toxicity only as a share (the level-6 cap), so toxic fires on its z-score alone, as information.
    """
    out = []
    if "volume_z" in s:
        out.append(SignalExplanation("volume", s["count"], s["expected"], s["volume_z"], _surge(s, th)))
    if "negative_share" in s:
        z = _z(s, "negative", s["negative_share"], s["usual_negative_share"])
        out.append(SignalExplanation("negative", s["negative_share"], s["usual_negative_share"], z, _hostile(s, th)))
    if "toxic_z" in s:
        fired = s["toxic_z"] >= th.signal_z
        out.append(SignalExplanation("toxic", s["toxic_share"], s["usual_toxic_share"], s["toxic_z"], fired))
    if "question_z" in s:
        out.append(SignalExplanation("questions", s["question_share"], s["usual_question_share"], s["question_z"],
                                     _questions(s, th)))
    if "positive_z" in s:
        out.append(SignalExplanation("positive", s["positive_share"], s["usual_positive_share"], s["positive_z"],
                                     _positive(s, th)))
    for name, share, usual in (("new_author", "new_author_share", "usual_new_author_share"),
                               ("copy_paste", "duplicate_share", "usual_duplicate_share")):
        if name + "_z" in s:
            z = s[name + "_z"]
            out.append(SignalExplanation(name, s[share], s[usual], z, z >= th.signal_z))
    if "spread_z" in s:
        z = s["spread_z"]
        out.append(SignalExplanation("spread", s["spread_count"], s["spread_expected"], z, z >= th.signal_z))
    return tuple(out)


_NO_PLATFORMS: dict[str, int] = {}
_new_tuple = tuple.__new__
_new_object = object.__new__


class _WindowEntry(NamedTuple):
    count: int
    expected: float
    variance: float  # of the volume at `expected`, computed once per bucket
    negative: float
    positive: float
    toxic: float
    questions: float
    new_authors: float
    duplicates: float
    platforms: dict[str, int]


# (signal prefix, window-entry field, ShareSet field) of the share signals
_SHARES = (
    ("negative", "negative", "negative"),
    ("toxic", "toxic", "toxic"),
    ("question", "questions", "questions"),
    ("positive", "positive", "positive"),
    ("new_author", "new_authors", "new_authors"),
    ("duplicate", "duplicates", "duplicates"),
)


class ScopeStormScorer:
    """All detector state of one scope: seasonal volume, the share detectors, platform spread, a short window.

    `score_one` reads a closed bucket and the window ending with it and returns a StormReading without
    changing state; `learn_one` then adds the bucket. The share detectors (ShareSet: negative, toxic,
    questions, positive, new authors, copy-paste duplicates) learn only from buckets that were not part of a
    storm, and the volume baseline clips what it learns, so a storm does not become the norm.

    Bucket dicts: ``t``, ``count``, expected counts ``negative``, ``positive``, ``toxic``, ``questions``,
    counts ``new_authors`` and ``duplicates`` (near-duplicate texts), ``platforms`` (mentions per platform,
    or a list of platform names), optional ``planned_factor``.

    >>> from datetime import datetime, timedelta, timezone
    >>> scorer = ScopeStormScorer(bucket_seconds=300)
    >>> t0 = datetime(2026, 3, 2, tzinfo=timezone.utc)
    >>> calm = {"count": 2, "negative": 0.4, "positive": 0.6, "toxic": 0.0, "questions": 0.2,
    ...         "new_authors": 0, "platforms": {"facebook": 2}}
    >>> for i in range(12 * 24 * 3):
    ...     scorer.learn_one({**calm, "t": t0 + timedelta(minutes=5 * i)})
    >>> storm = {"t": t0 + timedelta(days=3, hours=12), "count": 60, "negative": 48, "positive": 2,
    ...          "toxic": 18, "questions": 5, "new_authors": 40, "platforms": {"facebook": 40, "instagram": 20}}
    >>> reading = scorer.score_one(storm)
    >>> reading.kind, reading.level >= 4
    ('shitstorm', True)
    >>> [e.name for e in scorer.explain(reading) if e.fired]
    ['volume', 'negative', 'toxic', 'new_author']
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
        self.volume = SeasonalVolume(
            interval_seconds=bucket_seconds, halflife_days=halflife_days, utc_offset_hours=utc_offset_hours
        )
        self.shares = ShareSet()
        assert self.shares.fields == ("negative", "toxic", "questions", "positive", "new_authors", "duplicates")
        self.spread = PlatformSpread(halflife_buckets=86400 / bucket_seconds)
        self._window: deque[_WindowEntry] = deque(maxlen=window_buckets)
        self._buckets_seen = 0
        # below this many mentions in the window neither a surge nor raised negativity can give a level
        self._quiet_below = min(self.thresholds.min_count, max(2, self.thresholds.min_count // 2))
        self._warm_after = warmup_hours * 3600 / bucket_seconds

    # -- building window entries ---------------------------------------------------------------------
    def _entry(self, x: dict[str, Any], expected: float) -> _WindowEntry:
        get = x.get
        platforms = get("platforms") or _NO_PLATFORMS
        if not isinstance(platforms, dict):
            platforms = {name: 1 for name in platforms}  # only the names are known: one mention each
        # tuple.__new__ directly: the NamedTuple's own __new__ is one more Python call on every bucket
        return _new_tuple(_WindowEntry, (
            int(x["count"]),
            expected,
            expected + self.volume.overdispersion * expected * expected + 0.25,  # SeasonalVolume.variance, inlined
            float(get("negative", 0.0)),
            float(get("positive", 0.0)),
            float(get("toxic", 0.0)),
            float(get("questions", 0.0)),
            float(get("new_authors", 0.0)),
            float(get("duplicates", 0.0)),
            platforms,
        ))

    def _expected(self, t: Any, factor: float) -> float:
        # a planned event (council live stream, election night) raises what is expected, not what is learned
        return factor * self.volume.expected(t) if self.volume.n_observations else 0.0

    def _current(self, x: dict[str, Any]) -> _WindowEntry:
        return self._entry(x, self._expected(x["t"], x.get("planned_factor", 1.0)))

    # -- signals -----------------------------------------------------------------------------------
    def _volume(self, window: list[_WindowEntry], sums: tuple[int, float, float, float] | None = None
                ) -> dict[str, float]:
        """Volume and negativity only: enough to rule out a surge, which is what almost every bucket needs.

        `sums` is _sums(window) when the caller has it already (_score needs the count first).
        """
        count, expected, variance, negative = sums or _sums(window)
        share = negative / count if count else 0.0
        detector = self.shares.detectors["negative"]
        usual = detector.usual_share
        buckets = len(window)
        th = self.thresholds
        # the negative share's surprise is needed only where the share clears the floor and the lift
        if count and share >= max(th.negative_share_min, usual + th.negative_share_lift):
            negative_z = detector.z_of(negative, count, buckets)
        else:
            negative_z = 0.0
        return {
            "count": float(count),
            "expected": expected,
            "volume_ratio": count / (0.5 if expected < 0.5 else expected),  # max(expected, 0.5) without the call
            "volume_z": (count - expected) / math.sqrt(variance) if self.volume.n_observations >= 2 else 0.0,
            "negative_share": share,
            "usual_negative_share": usual,
            "bucket_count": float(window[-1].count),
            "window_buckets": float(buckets),
            "window_minutes": buckets * self.bucket_seconds / 60.0,
            "negative_z": negative_z,
        }

    def _full(self, window: list[_WindowEntry], s: dict[str, float]) -> dict[str, float]:
        """Add every detector's reading to the volume signals: only for windows that surge."""
        count = s["count"]
        per = 1.0 / count if count else 0.0
        buckets = len(window)
        sums = {attr: 0.0 for _, attr, _ in _SHARES}
        platforms: dict[str, int] = {}
        for e in window:
            for _, attr, _ in _SHARES:
                sums[attr] += getattr(e, attr)
            for name, n in e.platforms.items():
                platforms[name] = platforms.get(name, 0) + n
        for prefix, attr, share_field in _SHARES:
            detector = self.shares.detectors[share_field]
            s[prefix + "_share"] = sums[attr] * per
            s["usual_" + prefix + "_share"] = detector.usual_share
            s[prefix + "_z"] = detector.z_of(sums[attr], count, buckets)
        s["copy_paste_z"] = s.pop("duplicate_z")
        spread_z, spread_count, spread_expected = self.spread.second(platforms, buckets)
        s["platforms"] = float(sum(1 for n in platforms.values() if n))
        s["spread_z"], s["spread_count"], s["spread_expected"] = spread_z, spread_count, spread_expected
        return s

    def _judge(self, window: list[_WindowEntry], factor: float,
               sums: tuple[int, float, float, float] | None = None) -> StormReading:
        s = self._volume(window, sums)
        th = self.thresholds
        if (s["count"] >= th.min_count and s["volume_z"] >= th.min_z
                and s["volume_ratio"] >= th.volume_ratio_levels[0]):  # _surge(s, th), inlined
            level, kind, reason = storm_level(self._full(window, s), th)
        elif (s["negative_z"] >= th.negative_z and s["count"] >= max(2, th.min_count // 2)
              and s["negative_share"] >= max(th.negative_share_min, s["usual_negative_share"] + th.negative_share_lift)):
            # storm_level's branch below the surge (_hostile and enough mentions), inlined, cheapest test first:
            # negative_z is 0 unless the share clears floor and lift
            level, kind, reason = 1, "calm", "Kritik gehäuft, Menge unter der Sturmschwelle"
        else:
            level, kind, reason = 0, "calm", "ruhig"
        if factor != 1.0:
            s["planned_factor"] = factor
            reason += f" (geplantes Ereignis: {factor:g}-faches Volumen erwartet)"
        current = window[-1]
        return _reading(level, kind, s, reason, current.expected, current)

    def explain(self, reading: StormReading) -> tuple[SignalExplanation, ...]:
        return explain(reading.signals, self.thresholds)

    # -- the detector contract -----------------------------------------------------------------------
    def score_one(self, x: dict[str, Any]) -> StormReading:
        """The more severe of two views: the last bucket alone (fast onset) and the window (small counts)."""
        factor = x.get("planned_factor", 1.0)
        volume = self.volume
        # _expected inlined: a planned event raises what is expected, not what is learned
        expected = factor * volume.expected(x["t"]) if volume.n_observations else 0.0
        return self._score(self._entry(x, expected), factor)

    def _score(self, current: _WindowEntry, factor: float) -> StormReading:
        window = list(self._window)
        if len(window) >= self.window_buckets:  # the deque holds window_buckets entries: keep the last size - 1
            del window[: len(window) - self.window_buckets + 1]
        window.append(current)
        # the count decides first whether anything else is needed
        sums = _sums(window)
        count, expected = sums[0], sums[1]
        if count < self._quiet_below:
            # most buckets are quiet (nights, small scopes): no level is possible, skip the signal set
            quiet = {"count": float(count), "expected": expected,
                     "volume_ratio": count / (0.5 if expected < 0.5 else expected)}
            return _reading(0, "calm", quiet, "ruhig", current.expected, current)
        if self._buckets_seen < self._warm_after:  # still warming up
            return _reading(0, "calm", self._volume(window, sums), "Einlernphase", current.expected, current)
        best = self._judge(window, factor, sums)
        if self.window_buckets > 1 and self._may_beat(current, best.level):
            candidate = self._judge([current], factor)
            if candidate.level > best.level:
                best = candidate
        return best

    def _may_beat(self, current: _WindowEntry, level: int) -> bool:
        """Can the bucket alone give a higher level than the window? Not below min_count, and not when it
        neither surges (under the first volume ratio) nor reaches the negative floor: then it is level 0."""
        th = self.thresholds
        if current.count < th.min_count:
            return False
        if level > 0:
            return True
        return (current.count >= th.volume_ratio_levels[0] * max(current.expected, 0.5)
                or current.negative >= th.negative_share_min * current.count)

    def process_empty(self, t: Any, planned_factor: float = 1.0) -> StormReading:
        """score_one then learn_one for a bucket without mentions, without building the bucket dict.

        Empty buckets are most buckets (nights, small scopes), so this path is worth its few lines;
        a test holds it to giving exactly what score_one + learn_one give.
        """
        expected = self._expected(t, planned_factor)
        entry = _new_tuple(_WindowEntry, (0, expected, self.volume.variance(expected),
                                          0.0, 0.0, 0.0, 0.0, 0.0, 0.0, _NO_PLATFORMS))
        reading = self._score(entry, planned_factor)
        self._learn(t, entry, planned_factor, stormy=reading.level >= 2)
        return reading

    def learn_one(self, x: dict[str, Any], reading: StormReading | None = None) -> None:
        factor = x.get("planned_factor", 1.0)
        if reading is not None and reading.entry is not None:
            entry = reading.entry
        elif reading is not None and self.volume.n_observations:
            entry = self._entry(x, reading.bucket_expected)
        else:
            entry = self._current(x)
        self._learn(x["t"], entry, factor, stormy=reading is not None and reading.level >= 2)

    def _learn(self, t: Any, entry: _WindowEntry, factor: float, stormy: bool) -> None:
        count = entry.count
        # the baseline learns the planned event's volume scaled back to a normal day, so the next
        # live stream is still judged against its own plan and an ordinary evening stays ordinary
        self.volume.learn_value(t, count / factor, entry.expected / factor)
        self.spread.learn_counts(entry.platforms)
        self._window.append(entry)
        if self._buckets_seen < self._warm_after:  # only the warm-up needs counting: state stays bounded
            self._buckets_seen += 1
        if count and not stormy and factor == 1.0:
            # in ShareSet's field order: negative, toxic, questions, positive, new_authors, duplicates
            self.shares.add(count, (entry.negative, entry.toxic, entry.questions, entry.positive,
                                    entry.new_authors, entry.duplicates))


def _sums(window: list[_WindowEntry]) -> tuple[int, float, float, float]:
    """count, expected, variance and negative summed over the window, in window order (as the readings add them)."""
    count = 0
    expected = variance = negative = 0.0
    for e in window:
        count += e.count
        expected += e.expected
        variance += e.variance
        negative += e.negative
    return count, expected, variance, negative


def _reading(level: int, kind: str, signals: dict[str, float], reason: str, expected: float,
             entry: _WindowEntry) -> StormReading:
    """StormReading(...) without the frozen dataclass's __init__, which pays one object.__setattr__ per field;
    every bucket of every scope makes one, so the fields go straight into the instance dict."""
    reading = _new_object(StormReading)
    reading.__dict__.update(level=level, kind=kind, signals=signals, reason=reason, bucket_expected=expected,
                            entry=entry)
    return reading
