"""How well a fixed model does on a deployment's labelled sample: decisions, and whether its probabilities hold.

The shipped model is calibrated on comments like its training data and not elsewhere
(benchmarks/CALIBRATION_RESULTS.md), so a deployment should check it on a sample of its own stream before it
trusts absolute shares. Nothing is fitted here: the sample is held out by construction.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from detectors.classifier import POLARITY_LABELS, TextScores
from detectors.reliability import calibration_report
from detectors.training import germeval_macro_f1, task_metrics

# Above this share error (mean probability - true share, absolute) a summed share on this stream is off by more than
# the shipped model's worst head in its own domain (1.6 points, CALIBRATION_RESULTS.md) several times over.
SHARE_ERROR_WARNING = 0.05


def probability_columns(task: str, scores: TextScores) -> dict[str, tuple[np.ndarray, int]]:
    """The probabilities a task's labels are judged against, one per class the detectors add up, with the label
    index of that class in the dataset's encoding."""
    if task == "polarity":
        return {"negative": (scores.negative, 0), "positive": (scores.positive, 2)}
    return {"toxic": (scores.toxic, 1)} if task == "toxicity" else {"question": (scores.question, 1)}


def hard_labels(task: str, scores: TextScores, threshold: float) -> np.ndarray:
    """Label indices as the dataset encodes them (polarity: negative/neutral/positive; binary: 0/1)."""
    if task == "polarity":
        return np.array([POLARITY_LABELS.index(s) for s in scores.sentiment()], dtype=np.int64)
    p = scores.toxic if task == "toxicity" else scores.question
    return (p > threshold).astype(np.int64)


def evaluate_scores(task: str, scores: TextScores, labels: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    """Metrics of a model's scores against true labels: the task's decision metrics, the majority baseline and,
    per class the detectors add up, the calibration (ECE, share error, Brier) with a warning where the summed
    share would be off by more than SHARE_ERROR_WARNING."""
    labels = np.asarray(labels)
    if len(labels) != len(scores):
        raise ValueError(f"{len(scores)} scores for {len(labels)} labels")
    predicted = hard_labels(task, scores, threshold)
    majority = np.full_like(labels, np.bincount(labels).argmax())
    out: dict[str, Any] = {**task_metrics(labels, predicted),
                           "majority_germeval_macro_f1": round(germeval_macro_f1(labels, majority), 4),
                           "majority_accuracy": round(float(np.mean(majority == labels)), 4),
                           "threshold": None if task == "polarity" else threshold, "calibration": {}}
    warnings = []
    for name, (p, label) in probability_columns(task, scores).items():
        truth = (labels == label).astype(int)
        report = calibration_report(np.asarray(p, dtype=np.float64), truth)
        report.pop("bins")
        # ranking quality, apart from calibration: 0.5 = no better than chance (None: one class missing)
        report["auc"] = round(float(roc_auc_score(truth, p)), 4) if 0 < truth.sum() < len(truth) else None
        out["calibration"][name] = report
        if abs(report["share_error"]) > SHARE_ERROR_WARNING:
            warnings.append(f"P({name}) sums to {report['mean_predicted']:.1%} of this sample, the true share is "
                            f"{report['true_share']:.1%}: absolute shares on such a stream are off by "
                            f"{report['share_error']:+.1%}")
        if report["brier"] > report["brier_climatology"]:
            warnings.append(f"P({name}) is a worse forecast (Brier {report['brier']:.3f}) than the sample's share "
                            f"for every text ({report['brier_climatology']:.3f}): miscalibrated here; what it still "
                            f"tells is its ranking (AUC {report['auc']})")
    if out["accuracy"] < out["majority_accuracy"]:
        warnings.append(f"accuracy {out['accuracy']:.3f} is below always answering the most frequent label "
                        f"({out['majority_accuracy']:.3f}); train on labelled data like this "
                        "(`stormwatch train`) or correct mentions (`stormwatch correct`)")
    out["warnings"] = warnings
    return out
