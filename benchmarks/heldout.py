"""What the held-out benchmarks (emoji_heldout.py, topic_bias.py) share: the polarity and toxicity reports on
labelled written texts, and the command line that scores several models in turn on the same file."""
from __future__ import annotations

import argparse
import json
import pathlib
from typing import Any, Callable

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from detectors.classifier import TextClassifier, default_model_dir


def rate(hits: int, total: int) -> float | None:
    """hits / total rounded, or None where it is undefined (an empty part of a file must not read as 0)."""
    return round(hits / total, 3) if total else None


def _mean(values: np.ndarray) -> float | None:
    return round(float(values.mean()), 3) if len(values) else None


def polarity_report(labels: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Accuracy and macro-F1 of polarity labels (0/1/2 = negative/neutral/positive)."""
    if not len(labels):
        return {"n": 0}
    return {"n": int(len(labels)), "accuracy": round(float(accuracy_score(labels, predicted)), 3),
            "macro_f1": round(float(f1_score(labels, predicted, average="macro", labels=[0, 1, 2])), 3),
            # the error that fakes a storm: texts labelled neutral or positive, called negative
            "not_negative_called_negative": _mean(predicted[labels != 0] == 0)}


def toxic_report(labels: np.ndarray, is_toxic: np.ndarray, p_toxic: np.ndarray) -> dict[str, Any]:
    """Hard toxic calls (the model's stored threshold) against 0/1 labels, and the mean P(toxic) of harmless texts."""
    toxic = labels == 1
    hits = int((is_toxic & toxic).sum())
    return {"n": int(len(labels)), "n_toxic": int(toxic.sum()), "called_toxic": int(is_toxic.sum()),
            "precision": rate(hits, int(is_toxic.sum())), "recall": rate(hits, int(toxic.sum())),
            "harmless_called_toxic": _mean(is_toxic[~toxic]), "mean_p_toxic_harmless": _mean(p_toxic[~toxic])}


def run(argv: list[str] | None, doc: str, default_data: pathlib.Path, load: Callable[[str], dict],
         report_for: Callable[[TextClassifier, dict], dict]) -> int:
    """`--data FILE --model DIR ... [--abuse-terms TSV]`: one report per model on the same texts, printed as JSON;
    with --abuse-terms, each model also with that deployment's abuse terms (key "DIR + TSV")."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(default_data))
    parser.add_argument("--model", nargs="+", default=[str(default_model_dir())])
    parser.add_argument("--abuse-terms", default=None, help="also score each model with these abuse terms")
    args = parser.parse_args(argv)
    data = load(args.data)
    report = {model_dir: report_for(TextClassifier.load(model_dir), data) for model_dir in args.model}
    if args.abuse_terms:
        report.update({f"{model_dir} + {args.abuse_terms}": report_for(TextClassifier.load(model_dir, args.abuse_terms),
                                                                        data) for model_dir in args.model})
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0
