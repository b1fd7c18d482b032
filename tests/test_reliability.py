"""Calibration metrics: they must find miscalibration where it is and not where it is not."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import detectors.reliability
from detectors.reliability import (brier_score, calibration_report, cross_fitted, expected_calibration_error,
                                   log_loss, reliability_bins)


def _draw(n: int, seed: int, distort=lambda p: p):
    """Labels drawn from true probabilities p; the forecast is distort(p)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, n)
    return distort(p), (rng.uniform(0, 1, n) < p).astype(int)


def test_calibrated_forecasts_have_a_small_error_and_distorted_ones_a_large_one() -> None:
    calibrated, y = _draw(20000, 1)
    assert expected_calibration_error(calibrated, y) < 0.02
    assert expected_calibration_error(calibrated, y, strategy="quantile") < 0.02
    overconfident, y2 = _draw(20000, 1, lambda p: np.clip(0.5 + 1.8 * (p - 0.5), 0, 1))
    assert expected_calibration_error(overconfident, y2) > 0.08
    shifted, y3 = _draw(20000, 1, lambda p: np.clip(p + 0.1, 0, 1))
    report = calibration_report(shifted, y3)
    assert report["share_error"] == pytest.approx(0.1, abs=0.02)  # what a detector summing probabilities sees
    assert report["ece"] > 0.08
    assert calibration_report(calibrated, y)["brier"] < report["brier"]


def test_bins_partition_the_items() -> None:
    p, y = _draw(1001, 2)
    for strategy in ("uniform", "quantile"):
        bins = reliability_bins(p, y, 10, strategy)
        assert sum(b.n for b in bins) == 1001
        assert all(b.lo <= b.mean_predicted <= b.hi for b in bins)
    sizes = [b.n for b in reliability_bins(p, y, 10, "quantile")]
    assert len(sizes) == 10 and max(sizes) - min(sizes) <= 2
    # equal probabilities share a bin: a constant, calibrated forecast has no calibration error in either binning
    for strategy in ("uniform", "quantile"):
        assert len(reliability_bins([0.5] * 20, [0, 1] * 10, 10, strategy)) == 1
        assert expected_calibration_error([0.5] * 4, [0, 1, 1, 0], 10, strategy) == 0.0


def test_scores_against_hand_computed_values() -> None:
    assert brier_score([1.0, 0.0, 0.5], [1, 1, 0]) == pytest.approx((0 + 1 + 0.25) / 3)
    assert log_loss([0.5, 0.5], [1, 0]) == pytest.approx(np.log(2))
    assert np.isfinite(log_loss([0.0], [1]))  # clipped, not infinite


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="one 0/1 label"):
        expected_calibration_error([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="lie in"):
        brier_score([1.2], [1])
    with pytest.raises(ValueError, match="0/1"):
        log_loss([0.2], [2])
    with pytest.raises(ValueError, match="strategy"):
        reliability_bins([0.2], [1], strategy="kmeans")


def test_docstring_examples() -> None:
    assert doctest.testmod(detectors.reliability).failed == 0


def test_cross_fitting_never_calibrates_a_text_on_its_own_label() -> None:
    """A 'calibration' that memorises labels would look perfect if fitted in-sample; cross-fitted it cannot."""
    rng = np.random.default_rng(3)
    scores = rng.normal(size=200)
    y = rng.integers(0, 2, 200)
    memory = lambda s, labels: dict(zip(s.tolist(), labels.tolist()))  # noqa: E731
    recall = lambda s, m: np.array([m.get(v, 0.5) for v in s.tolist()])  # noqa: E731
    in_sample = recall(scores, memory(scores, y))
    assert expected_calibration_error(in_sample, y) == 0.0
    held_out = cross_fitted(scores, y, memory, recall, folds=5, seed=0)
    assert np.all(held_out == 0.5)  # every text's map was fitted without it
    # a real calibration map and 2-D logits (polarity) keep their shape
    logits = rng.normal(size=(200, 3))
    probs = cross_fitted(logits, rng.integers(0, 3, 200), lambda s, labels: 1.0,
                         lambda s, t: np.exp(s) / np.exp(s).sum(axis=1, keepdims=True))
    assert probs.shape == (200, 3) and np.allclose(probs.sum(axis=1), 1.0)
