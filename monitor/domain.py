"""The domain records that flow through the pipeline: mention, bucket, storm assessment, alert event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from detectors.storm import SignalExplanation

SENTIMENTS = ("negative", "neutral", "positive")


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a trailing Z, the one time format stormwatch writes."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class Mention:
    """One comment, reply, post or article that concerns the authority.

    `author` is already pseudonymised when a Mention exists: collectors hand raw
    payloads to `monitor.normalise`, which never lets a clear-text author through.
    Scores are filled in by the enrichment stage.
    """

    platform: str
    external_id: str
    created_at: datetime
    text: str
    scope: str
    kind: str = "comment"
    author: str | None = None
    parent_id: str | None = None
    url: str | None = None
    metrics: dict[str, int] = field(default_factory=dict)
    language: str | None = None
    text_hash: int = 0
    negative: float = 0.0
    neutral: float = 1.0
    positive: float = 0.0
    toxic: float = 0.0
    question: float = 0.0
    # P(the text threatens or calls for violence) from the model's kind heads; 0 with a model without them.
    threat: float = 0.0

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.external_id)

    @property
    def sentiment(self) -> str:
        scores = (self.negative, self.neutral, self.positive)
        return SENTIMENTS[scores.index(max(scores))]


@dataclass(slots=True)
class Bucket:
    """The aggregate of one scope over one fixed interval [start, end).

    Negative, positive, toxic and question are expected counts (sums of the
    classifier's probabilities), not counts of hard labels: a classifier that
    leans one way then shifts every bucket alike instead of flipping at a threshold.
    """

    scope: str
    start: datetime
    end: datetime
    count: int = 0
    negative: float = 0.0
    positive: float = 0.0
    toxic: float = 0.0
    questions: float = 0.0
    unique_authors: int = 0
    new_authors: int = 0
    duplicates: int = 0
    reach: int = 0
    platforms: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Sample:
    """A short excerpt of a mention, quoted in alerts; never carries the author."""

    platform: str
    text: str
    url: str | None
    negative: float
    toxic: float
    # the classifier reads it as a likely threat (detect.THREAT_PROBABILITY): the alert marks it for checking
    possible_threat: bool = False


@dataclass(slots=True)
class Explanation:
    """Why a level: every signal against its baseline and whether it fired.

    The top terms and sample mentions that complete the explanation are the assessment's and the alert
    event's own fields, kept once: retention erases sample quotes there, and a second copy would outlive it.
    """

    signals: list[SignalExplanation] = field(default_factory=list)

    @property
    def fired(self) -> list[SignalExplanation]:
        return [s for s in self.signals if s.fired]

    def to_json(self) -> dict[str, Any]:
        return {
            "fired": [s.name for s in self.fired],
            "signals": [s.to_json() for s in self.signals],
        }


@dataclass(slots=True)
class StormAssessment:
    """What the detectors concluded about one closed bucket of one scope."""

    scope: str
    at: datetime
    level: int
    kind: str  # shitstorm | question_surge | candystorm | calm
    signals: dict[str, float]
    reason: str
    top_terms: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    explanation: Explanation | None = None  # filled for levels >= 2, where an alert may follow


@dataclass(slots=True)
class AlertEvent:
    """One transition of an alert; the unit that is notified, logged and written by backtest."""

    event: str  # opened | updated | escalated | resolved
    alert_id: str
    at: datetime
    scope: str
    kind: str
    level: int
    peak_level: int
    playbook: str
    playbook_url: str
    owners: list[str]
    reason: str
    signals: dict[str, float]
    top_terms: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    opened_at: datetime | None = None
    explanation: Explanation | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "alert_id": self.alert_id,
            "at": utc_iso(self.at),
            "scope": self.scope,
            "kind": self.kind,
            "level": self.level,
            "peak_level": self.peak_level,
            "playbook": self.playbook,
            "playbook_url": self.playbook_url,
            "owners": list(self.owners),
            "reason": self.reason,
            "signals": {k: round(float(v), 4) for k, v in self.signals.items()},
            "top_terms": list(self.top_terms),
            "samples": [s.text for s in self.samples],
            # positions in "samples" of likely threats (indices, so the quotes exist once and expire once)
            "threat_samples": [i for i, s in enumerate(self.samples) if s.possible_threat],
            "opened_at": utc_iso(self.opened_at) if self.opened_at else None,
            "explanation": self.explanation.to_json() if self.explanation else None,
        }


@dataclass(slots=True)
class NotificationRecord:
    """One delivery attempt chain of one alert event to one target, with the reason it went out."""

    alert_id: str
    event: str
    target_id: str
    target: str  # masked Apprise URL, never with secrets
    at: datetime
    success: bool
    attempts: int
    reason: str
    error: str | None = None


@dataclass(slots=True)
class RejectedInput:
    """Input that could not be used, kept for inspection instead of being dropped."""

    source: str
    line: int | None
    problem: str
    raw: str
