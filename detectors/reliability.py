"""How well predicted probabilities match observed frequencies: reliability bins, calibration error, Brier score.

The detectors add up probabilities per bucket (probabilistic classify-and-count, detectors/shares.py), which is
unbiased only where the probabilities are calibrated. These functions measure that on labelled data.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
from sklearn.model_selection import StratifiedKFold

# Probabilities are clipped this far from 0 and 1 for the log loss, so one confident miss costs a lot but not inf.
EPSILON = 1e-6


@dataclass(frozen=True)
class Bin:
    lo: float  # probability range of the bin (the last bin includes 1.0)
    hi: float
    n: int
    mean_predicted: float
    observed: float  # share of positives among the bin's items


def _checked(probs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if p.shape != y.shape or not p.size:
        raise ValueError("need one 0/1 label per probability, and at least one")
    if np.isnan(p).any() or p.min() < 0.0 or p.max() > 1.0:
        raise ValueError("probabilities must lie in [0, 1]")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0/1")
    return p, y.astype(np.float64)


def reliability_bins(probs: Any, labels: Any, n_bins: int = 10, strategy: str = "uniform") -> list[Bin]:
    """Non-empty bins of equal width ("uniform") or of about equal size ("quantile": cut at the quantiles of the
    probabilities, so equal probabilities share a bin and a constant forecast is one bin, not n_bins).

    >>> [(b.n, round(b.mean_predicted, 3), b.observed) for b in reliability_bins([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 0], 2)]
    [(2, 0.15, 0.0), (2, 0.85, 0.5)]
    """
    p, y = _checked(probs, labels)
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    if strategy == "uniform":
        index = np.minimum((p * n_bins).astype(int), n_bins - 1)
    elif strategy == "quantile":
        inner_edges = np.quantile(p, np.arange(1, n_bins) / n_bins)
        index = np.searchsorted(inner_edges, p, side="left")
    else:
        raise ValueError(f"unknown strategy {strategy!r}, expected uniform or quantile")
    bins = []
    for b in range(n_bins):
        member = index == b
        if member.any():
            lo, hi = (b / n_bins, (b + 1) / n_bins) if strategy == "uniform" else (p[member].min(), p[member].max())
            bins.append(Bin(float(lo), float(hi), int(member.sum()), float(p[member].mean()), float(y[member].mean())))
    return bins


def expected_calibration_error(probs: Any, labels: Any, n_bins: int = 10, strategy: str = "uniform") -> float:
    """Mean |predicted - observed| over the bins, weighted by their size (0 = perfectly calibrated in these bins).

    >>> round(expected_calibration_error([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 0], 2), 6)  # (2 * 0.15 + 2 * 0.35) / 4
    0.25
    """
    bins = reliability_bins(probs, labels, n_bins, strategy)
    n = sum(b.n for b in bins)
    return float(sum(b.n * abs(b.mean_predicted - b.observed) for b in bins) / n)


def brier_score(probs: Any, labels: Any) -> float:
    p, y = _checked(probs, labels)
    return float(np.mean((p - y) ** 2))


def log_loss(probs: Any, labels: Any) -> float:
    p, y = _checked(probs, labels)
    p = np.clip(p, EPSILON, 1.0 - EPSILON)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def calibration_report(probs: Any, labels: Any, n_bins: int = 10) -> dict[str, Any]:
    """Everything the calibration benchmark prints for one probability column against its 0/1 labels.

    share_error is what a detector would see: the mean probability (the share it adds up) minus the true share.
    """
    p, y = _checked(probs, labels)
    r = lambda v: round(float(v), 4)  # noqa: E731
    return {
        "n": int(len(p)), "true_share": r(y.mean()), "mean_predicted": r(p.mean()), "share_error": r(p.mean() - y.mean()),
        "ece": r(expected_calibration_error(p, y, n_bins)),
        "ece_equal_mass": r(expected_calibration_error(p, y, n_bins, "quantile")),
        "brier": r(brier_score(p, y)),
        # a constant forecast of the true share: the Brier score to beat without any text at all
        "brier_climatology": r(y.mean() * (1.0 - y.mean())),
        "log_loss": r(log_loss(p, y)),
        "bins": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(b).items()}
                 for b in reliability_bins(p, y, n_bins, "quantile")],
    }


def cross_fitted(scores: np.ndarray, labels: np.ndarray, fit: Callable, apply: Callable, *, folds: int = 5,
                 seed: int = 0) -> np.ndarray:
    """Probabilities of out-of-fold scores whose calibration map (fit(scores, labels) -> params, then
    apply(scores, params)) was fitted on the other folds only, so no text is calibrated on its own label.

    Calibration fitted on the very scores it is judged on looks better than it is; this is the honest way to
    measure it. Rows of `scores` are texts (1-D scores or 2-D logits); folds are stratified by label.
    """
    out = None
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(scores, labels):
        part = np.asarray(apply(scores[test], fit(scores[train], labels[train])), dtype=np.float64)
        if out is None:
            out = np.zeros((len(scores),) + part.shape[1:])
        out[test] = part
    return out
