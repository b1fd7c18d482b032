"""Detection stage: runs each scope's storm scorer on closed buckets and explains the result."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from detectors.storm import ScopeStormScorer, StormThresholds
from detectors.terms import TermBaseline
from monitor.aggregate import ClosedBucket
from monitor.config import DetectionSettings, Settings
from monitor.domain import Explanation, Mention, Sample, StormAssessment

SAMPLE_CHARS = 140


def thresholds_from(settings: DetectionSettings) -> StormThresholds:
    return StormThresholds(
        min_count=settings.min_count,
        min_z=settings.min_z,
        volume_ratio_levels=tuple(settings.volume_ratio_levels),
        negative_share_min=settings.negative_share_min,
        negative_share_lift=settings.negative_share_lift,
        toxic_share_hurricane=settings.toxic_share_hurricane,
        question_share_min=settings.question_share_min,
        positive_share_min=settings.positive_share_min,
        kind_share_lift=settings.kind_share_lift,
        kind_share_z=settings.kind_share_z,
        negative_z=settings.negative_z,
        signal_z=settings.signal_z,
    )


def _short(text: str) -> str:
    return text if len(text) <= SAMPLE_CHARS else text[: SAMPLE_CHARS - 1].rstrip() + "…"


# A post counts as a likely threat from this calibrated probability on. Counted, not summed: over a large calm
# window, a sum of small probabilities would announce threats that no single post makes.
THREAT_PROBABILITY = 0.5


def count_threats(mentions: list[Mention]) -> int:
    """Posts in the window that likely threaten or call for violence (distinct texts: a copied threat counts once)."""
    return len({m.text_hash or id(m) for m in mentions if m.threat >= THREAT_PROBABILITY})


def pick_samples(mentions: list[Mention], kind: str, k: int = 3) -> list[Sample]:
    """The k mentions that show the kind best, distinct texts only; authors are never part of a sample."""
    if kind == "question_surge":
        key = lambda m: m.question  # noqa: E731
    elif kind == "candystorm":
        key = lambda m: m.positive  # noqa: E731
    else:
        # likely threats come first, however strong the insults around them: the alert counts them, so the
        # on-call person must be able to read and judge them
        key = lambda m: (m.threat >= THREAT_PROBABILITY, m.negative + m.toxic + m.threat)  # noqa: E731
    chosen: list[Sample] = []
    seen: set[int] = set()
    for mention in sorted((m for m in mentions if m.text), key=key, reverse=True):
        if mention.text_hash in seen:
            continue
        seen.add(mention.text_hash)
        chosen.append(Sample(mention.platform, _short(mention.text), mention.url, mention.negative, mention.toxic,
                             possible_threat=mention.threat >= THREAT_PROBABILITY))
        if len(chosen) == k:
            break
    return chosen


@dataclass
class _ScopeState:
    scorer: ScopeStormScorer
    terms: TermBaseline = field(default_factory=TermBaseline)
    recent: deque[list[Mention]] = field(default_factory=deque)


class StormDetection:
    """Per-scope detector state; `assess` scores a closed bucket, then learns from it (never the other way round)."""

    def __init__(self, settings: Settings, window_buckets: int = 3):
        self.settings = settings
        self.window_buckets = window_buckets
        self._scopes: dict[str, _ScopeState] = {}
        self._zone = settings.zone
        self._offsets: dict[int, float] = {}
        self._planned = bool(settings.planned_events)
        self._bucket_seconds = settings.detection.bucket_minutes * 60

    def _state(self, scope: str) -> _ScopeState:
        state = self._scopes.get(scope)
        if state is None:
            detection = self.settings.detection_for(scope)
            scorer = ScopeStormScorer(
                bucket_seconds=self._bucket_seconds,
                window_buckets=self.window_buckets,
                thresholds=thresholds_from(detection),
                halflife_days=detection.baseline_halflife_days,
                warmup_hours=detection.warmup_hours,
                utc_offset_hours=0.0,  # assess() passes local wall-clock time, so DST needs no special case
            )
            state = self._scopes[scope] = _ScopeState(scorer, recent=deque(maxlen=self.window_buckets))
        return state

    def _local_epoch(self, moment: datetime) -> float:
        """Wall-clock seconds in the configured zone (as if it were UTC), so hour slots follow local time and DST."""
        epoch = moment.timestamp()
        hour = int(epoch // 3600)
        offset = self._offsets.get(hour)
        if offset is None:
            if len(self._offsets) > 50_000:
                self._offsets.clear()
            delta = moment.astimezone(self._zone).utcoffset()
            offset = self._offsets[hour] = delta.total_seconds() if delta else 0.0
        return epoch + offset

    @staticmethod
    def _explained(state, reading) -> tuple[list[str], list[Sample], Explanation, dict[str, float]]:
        """Top terms, sample mentions, the explanation of a stormy reading and its signals, from the window's
        mentions: the signals gain the number of posts that likely threaten someone, when there are any."""
        window = [m for mentions in state.recent for m in mentions]
        top_terms = state.terms.top_terms([m.text for m in window], k=5)
        samples = pick_samples(window, reading.kind)
        signals = reading.signals
        threats = count_threats(window)
        if threats:
            signals = {**signals, "threats": float(threats)}
        return top_terms, samples, Explanation(list(state.scorer.explain(reading))), signals

    def assess(self, closed: ClosedBucket) -> StormAssessment:
        bucket = closed.bucket
        state = self._state(bucket.scope)
        factor = self.settings.planned_factor(bucket.scope, bucket.start, bucket.end) if self._planned else 1.0
        if not bucket.count:
            reading = state.scorer.process_empty(self._local_epoch(bucket.start), factor)
            state.recent.append(closed.mentions)
            if reading.level < 2:
                return StormAssessment(bucket.scope, bucket.end, reading.level, reading.kind, reading.signals,
                                       reading.reason)
            # a quiet bucket inside a stormy window keeps the window's level; its alert text needs the
            # window's terms and voices just the same
            top_terms, samples, explanation, signals = self._explained(state, reading)
            return StormAssessment(bucket.scope, bucket.end, reading.level, reading.kind, signals,
                                   reading.reason, top_terms=top_terms, samples=samples, explanation=explanation)
        x = {
            "t": self._local_epoch(bucket.start),
            "count": bucket.count,
            "negative": bucket.negative,
            "positive": bucket.positive,
            "toxic": bucket.toxic,
            "questions": bucket.questions,
            "new_authors": bucket.new_authors,
            "duplicates": bucket.duplicates,
            "platforms": bucket.platforms,
            "planned_factor": factor,
        }
        reading = state.scorer.score_one(x)
        state.recent.append(closed.mentions)
        top_terms: list[str] = []
        samples: list[Sample] = []
        explanation = None
        signals = reading.signals
        if reading.level >= 2:
            top_terms, samples, explanation, signals = self._explained(state, reading)
        elif closed.mentions:
            state.terms.learn(m.text for m in closed.mentions)
        state.scorer.learn_one(x, reading)
        return StormAssessment(
            scope=bucket.scope,
            at=bucket.end,
            level=reading.level,
            kind=reading.kind,
            signals=signals,
            reason=reading.reason,
            top_terms=top_terms,
            samples=samples,
            explanation=explanation,
        )
