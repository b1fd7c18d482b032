"""Enrichment stage: the text classifier's scores on each mention, one vectorised call per batch."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Protocol, Sequence

from detectors.classifier import TextClassifier, TextScores
from monitor.adapted import load_adapted, state_stamp
from monitor.domain import Mention

# How often a running pipeline looks for a changed adapted model (one stat() call).
REFRESH_SECONDS = 30.0


class Scorer(Protocol):
    def predict(self, texts: Sequence[str]) -> TextScores: ...


class Enricher:
    """Scores mentions with the base model, or with the deployment's adapted model when corrections exist.

    Staff corrections (`stormwatch correct`) rewrite the adapted model on disk; a running pipeline picks
    the new version up within `refresh_seconds`, and falls back to the base model after a reset.
    """

    def __init__(
        self,
        classifier: TextClassifier,
        adapted_dir: Path | None = None,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.classifier = classifier
        self.adapted_dir = adapted_dir
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._stamp: tuple[int, int] | None = None
        self._checked_at = clock()
        self.scorer: Scorer = classifier
        self._reload(state_stamp(adapted_dir))

    @classmethod
    def load(cls, model_dir: str | None = None, adapted_dir: Path | None = None) -> "Enricher":
        return cls(TextClassifier.load(model_dir), adapted_dir)

    @property
    def adapted(self) -> bool:
        return self.scorer is not self.classifier

    def _reload(self, stamp: tuple[int, int] | None) -> None:
        self._stamp = stamp
        adapted = load_adapted(self.classifier, self.adapted_dir) if stamp is not None else None
        self.scorer = adapted if adapted is not None else self.classifier

    def refresh(self) -> None:
        """Reload the adapted model if its state file changed (or appeared, or was reset) since the last look."""
        if self.adapted_dir is None:
            return
        now = self._clock()
        if now - self._checked_at < self.refresh_seconds:
            return
        self._checked_at = now
        stamp = state_stamp(self.adapted_dir)
        if stamp != self._stamp:
            self._reload(stamp)

    def enrich(self, mentions: list[Mention]) -> None:
        if not mentions:
            return
        self.refresh()
        scores = self.scorer.predict([m.text for m in mentions])
        negative = scores.negative.tolist()
        neutral = scores.neutral.tolist()
        positive = scores.positive.tolist()
        toxic = scores.toxic.tolist()
        question = scores.question.tolist()
        threat = scores.kinds["threat"].tolist() if scores.kinds is not None else [0.0] * len(mentions)
        for i, mention in enumerate(mentions):
            mention.negative = negative[i]
            mention.neutral = neutral[i]
            mention.positive = positive[i]
            mention.toxic = toxic[i]
            mention.question = question[i]
            mention.threat = threat[i]
