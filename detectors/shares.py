"""Share estimates for a batch of classifier probabilities: probabilistic and adjusted classify-and-count."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Below this gap between true- and false-positive rate the classifier barely separates the classes, and
# the adjustment would divide by almost nothing: noise in the mean probability would swing the estimate.
MIN_SEPARATION = 0.1


def _probabilities(probs: Any) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64).ravel()
    if p.size and (np.isnan(p).any() or p.min() < 0.0 or p.max() > 1.0):
        raise ValueError("probabilities must lie in [0, 1]")
    return p


def classify_and_count(probs: Any, threshold: float = 0.5) -> float:
    """Share of items whose probability reaches the threshold (CC); 0.0 for an empty batch.

    >>> classify_and_count([0.9, 0.6, 0.2, 0.1])
    0.5
    """
    p = _probabilities(probs)
    return float((p >= threshold).mean()) if p.size else 0.0


def probabilistic_share(probs: Any) -> float:
    """Probabilistic classify-and-count (PCC): the mean probability, what monitor.aggregate sums per bucket.

    Unbiased only if the probabilities are calibrated on the data at hand; a classifier that is
    biased on this deployment's texts shifts it.

    >>> probabilistic_share([0.9, 0.6, 0.2, 0.1])
    0.45
    """
    p = _probabilities(probs)
    return float(p.mean()) if p.size else 0.0


@dataclass(frozen=True)
class AdjustedShare:
    """Adjusted (probabilistic) classify-and-count: corrects the mean probability for known error rates.

    With tpr = E[p | positive] and fpr = E[p | negative], measured on labelled data the classifier
    did not learn from, the mean probability of a batch with true share s is s*tpr + (1-s)*fpr, so
    s = (mean - fpr) / (tpr - fpr), clipped to [0, 1]. With threshold=None the rates are mean
    probabilities (PACC); with a threshold they are hit rates of thresholded decisions (ACC).

    >>> est = AdjustedShare.fit([0.8, 0.7, 0.9, 0.3, 0.2, 0.4, 0.1, 0.3], [1, 1, 1, 0, 0, 0, 0, 0])
    >>> round(est.tpr, 3), round(est.fpr, 3)
    (0.8, 0.26)
    >>> round(est.estimate([0.8, 0.3, 0.3, 0.2]), 3)  # naive mean says 0.4
    0.259
    >>> est.estimate([0.05, 0.1]), est.estimate([0.99, 0.95])  # clipped to [0, 1]
    (0.0, 1.0)
    >>> AdjustedShare.from_dict(est.to_dict()) == est
    True
    """

    tpr: float
    fpr: float
    threshold: float | None = None
    n_positive: int = 0
    n_negative: int = 0

    def __post_init__(self) -> None:
        if not (0.0 <= self.fpr <= 1.0 and 0.0 <= self.tpr <= 1.0):
            raise ValueError("tpr and fpr must lie in [0, 1]")
        if self.tpr - self.fpr < MIN_SEPARATION:
            raise ValueError(
                f"tpr {self.tpr:.3f} - fpr {self.fpr:.3f} < {MIN_SEPARATION}: the classifier separates the classes "
                "too little for an adjusted share; use probabilistic_share"
            )

    @classmethod
    def fit(cls, probs: Any, labels: Any, threshold: float | None = None) -> "AdjustedShare":
        """Estimate the error rates from held-out (or cross-validated) probabilities and true 0/1 labels."""
        p = _probabilities(probs)
        y = np.asarray(labels).ravel()
        if y.shape != p.shape or not np.isin(y, (0, 1)).all():
            raise ValueError("labels must be 0/1, one per probability")
        y = y.astype(bool)
        if y.all() or not y.any():
            raise ValueError("error rates need both positive and negative labelled examples")
        scores = p if threshold is None else (p >= threshold).astype(np.float64)
        return cls(tpr=float(scores[y].mean()), fpr=float(scores[~y].mean()), threshold=threshold,
                   n_positive=int(y.sum()), n_negative=int((~y).sum()))

    def estimate(self, probs: Any) -> float:
        """The adjusted share of positives in a batch, in [0, 1]; 0.0 for an empty batch."""
        p = _probabilities(probs)
        if not p.size:
            return 0.0
        observed = p.mean() if self.threshold is None else (p >= self.threshold).mean()
        return float(np.clip((observed - self.fpr) / (self.tpr - self.fpr), 0.0, 1.0))

    def estimate_count(self, probs: Any) -> float:
        """The adjusted number of positives, comparable to the probability sums monitor.aggregate keeps."""
        return self.estimate(probs) * len(_probabilities(probs))

    def to_dict(self) -> dict[str, Any]:
        return {"tpr": self.tpr, "fpr": self.fpr, "threshold": self.threshold,
                "n_positive": self.n_positive, "n_negative": self.n_negative}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AdjustedShare":
        threshold = data.get("threshold")
        return cls(tpr=float(data["tpr"]), fpr=float(data["fpr"]),
                   threshold=None if threshold is None else float(threshold),
                   n_positive=int(data.get("n_positive", 0)), n_negative=int(data.get("n_negative", 0)))
