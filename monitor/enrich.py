"""Enrichment stage: the text classifier's scores on each mention, one vectorised call per batch."""

from __future__ import annotations

from detectors.classifier import TextClassifier
from monitor.domain import Mention


class Enricher:
    def __init__(self, classifier: TextClassifier):
        self.classifier = classifier

    @classmethod
    def load(cls, model_dir: str | None = None) -> "Enricher":
        return cls(TextClassifier.load(model_dir))

    def enrich(self, mentions: list[Mention]) -> None:
        if not mentions:
            return
        scores = self.classifier.predict([m.text for m in mentions])
        negative = scores.negative.tolist()
        neutral = scores.neutral.tolist()
        positive = scores.positive.tolist()
        toxic = scores.toxic.tolist()
        question = scores.question.tolist()
        for i, mention in enumerate(mentions):
            mention.negative = negative[i]
            mention.neutral = neutral[i]
            mention.positive = positive[i]
            mention.toxic = toxic[i]
            mention.question = question[i]
