"""Share estimators: the adjusted estimate tracks known true negative shares on labelled data, naive counting does not."""

from __future__ import annotations

import doctest
import pathlib

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split

import detectors.shares
from detectors.classifier import TextClassifier
from detectors.shares import AdjustedShare, classify_and_count, probabilistic_share
from detectors.textfeatures import DEFAULT_FEATURES, Featurizer
from detectors.training import load_corpus

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "detectors" / "data" / "comments_de.tsv"
TRUE_SHARES = np.round(np.arange(0.1, 0.81, 0.1), 2)
BATCH, REPEATS = 200, 30


def resampled_errors(probs: np.ndarray, labels: np.ndarray, estimator: AdjustedShare, seed: int = 0):
    """Absolute errors of PCC and PACC over batches drawn (with replacement) at known true shares."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    naive, adjusted = [], []
    for share in TRUE_SHARES:
        k = int(round(share * BATCH))
        for _ in range(REPEATS):
            idx = np.concatenate([rng.choice(pos, k), rng.choice(neg, BATCH - k)])
            truth = k / BATCH
            naive.append(abs(probabilistic_share(probs[idx]) - truth))
            adjusted.append(abs(estimator.estimate(probs[idx]) - truth))
    return float(np.mean(naive)), float(np.mean(adjusted))


@pytest.fixture(scope="module")
def corpus_split():
    corpus = load_corpus(CORPUS)
    texts = np.array(corpus["texts"], dtype=object)
    negative = (corpus["polarity"] == 0).astype(int)
    # the estimator's parameters come from split A only; batches are drawn from split B only
    a, b = train_test_split(np.arange(len(texts)), test_size=0.5, stratify=negative, random_state=0)
    # a smaller hashed space than the shipped model's keeps the five-fold fits fast; the method does not care
    small = {**DEFAULT_FEATURES, "word": {**DEFAULT_FEATURES["word"], "n_features": 2**16},
             "char": {**DEFAULT_FEATURES["char"], "n_features": 2**16}}
    features = Featurizer(small).transform(list(texts))
    return features, negative, a, b, list(texts)


def _held_out_probabilities(corpus_split, class_weight):
    """Cross-fitted on A: five fold models, error rates from their out-of-fold probabilities on A, and B scored by
    the mean of the same five models, so the rates describe the models that score B. Before session 12 one model
    refitted on all of A scored B with the rates of the 80 % fold models: on the 4,739-row corpus of model 0.5.3 its
    mean probability on B's negative texts was 0.657 against a rate of 0.602, and the adjusted share came out too
    high (cross-fitted: 0.636 against 0.602; the rest is the luck of this split)."""
    x, y, a, b, _ = corpus_split
    oof, probs_b = np.zeros(len(a)), np.zeros(len(b))
    for fit, held in StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(a, y[a]):
        model = LogisticRegression(C=10.0, solver="liblinear", class_weight=class_weight).fit(x[a][fit], y[a][fit])
        oof[held] = model.predict_proba(x[a][held])[:, 1]
        probs_b += model.predict_proba(x[b])[:, 1] / 5
    return AdjustedShare.fit(oof, y[a]), probs_b, y[b]


def test_adjusted_share_tracks_true_share_out_of_sample(corpus_split):
    estimator, probs, labels = _held_out_probabilities(corpus_split, None)
    naive, adjusted = resampled_errors(probs, labels, estimator)
    # PCC is pulled toward the training prevalence (36% negative); the adjustment removes that pull
    assert adjusted < 0.06, (naive, adjusted)
    assert adjusted <= naive, (naive, adjusted)


def test_adjusted_share_corrects_a_biased_classifier(corpus_split):
    # weighting negatives 4:1 in training makes a classifier that systematically over-calls negativity
    estimator, probs, labels = _held_out_probabilities(corpus_split, {0: 1.0, 1: 4.0})
    naive, adjusted = resampled_errors(probs, labels, estimator)
    assert naive > 0.08, "the bias this test relies on is gone"
    assert adjusted < 0.06, (naive, adjusted)
    assert adjusted < naive / 2, (naive, adjusted)


def test_shipped_model_negative_share_on_corpus(corpus_split):
    # The shipped model was trained on this corpus, so its error rates here are in-sample and optimistic;
    # the test still checks that parameters estimated on A transfer to batches drawn from B.
    _, y, a, b, texts = corpus_split
    probs = TextClassifier.load().predict(texts).negative.astype(np.float64)
    estimator = AdjustedShare.fit(probs[a], y[a])
    naive, adjusted = resampled_errors(probs[b], y[b], estimator)
    assert adjusted < 0.05, (naive, adjusted)
    assert adjusted <= naive + 0.005, (naive, adjusted)


def test_clipping_empty_batches_and_counts():
    est = AdjustedShare(tpr=0.7, fpr=0.2)
    assert est.estimate([0.0, 0.05]) == 0.0
    assert est.estimate([1.0, 0.95]) == 1.0
    assert est.estimate([]) == probabilistic_share([]) == classify_and_count([]) == 0.0
    assert est.estimate_count([0.45] * 10) == pytest.approx(5.0)


def test_thresholded_acc_uses_hit_rates():
    est = AdjustedShare.fit([0.9, 0.8, 0.4, 0.6, 0.1, 0.2], [1, 1, 1, 0, 0, 0], threshold=0.5)
    assert (est.tpr, est.fpr) == pytest.approx((2 / 3, 1 / 3))
    assert est.estimate([0.9, 0.1, 0.1]) == pytest.approx(0.0)  # observed CC 1/3 equals the false-positive rate


def test_refuses_what_it_cannot_estimate():
    with pytest.raises(ValueError, match="separates"):
        AdjustedShare(tpr=0.55, fpr=0.5)
    with pytest.raises(ValueError, match="both positive and negative"):
        AdjustedShare.fit([0.2, 0.9], [1, 1])
    with pytest.raises(ValueError, match="0/1"):
        AdjustedShare.fit([0.2, 0.9], [1, 2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        probabilistic_share([0.2, 1.5])


def test_parameters_round_trip():
    est = AdjustedShare(tpr=0.81, fpr=0.12, threshold=None, n_positive=10, n_negative=30)
    assert AdjustedShare.from_dict(est.to_dict()) == est


def test_docstring_examples():
    assert doctest.testmod(detectors.shares).failed == 0
