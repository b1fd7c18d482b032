"""The threat head on texts it was never trained on: AUC and, at P(threat) >= 0.5 (the alert's count), precision,
recall and the share of harmless texts flagged; and how many threats and harmless texts P(toxic) calls toxic (at
the model's stored threshold; since model 0.5.1 P(toxic) takes the threat term). Several models are scored in turn
on the same texts.

Usage: PYTHONPATH=. python benchmarks/threat_heldout.py [--data TSV] [--model DIR ...]

benchmarks/data/threats_heldout_de.tsv (the format of threats_de.tsv, every row `new`; our own writing, CC BY 4.0) was written in
session 9 together with the third round of detectors/data/threats_de.tsv, by the same writer and on the same
brief (officials addressed by title or name, meetings and contact, short fragments, and threats phrased that way)
but with other names, topics and wordings, and is never trained on (tests/test_toxic_kinds.py checks that no text
is in the training file). Same writer, same brief: it measures whether the round generalised beyond its own
sentences, not how the head does on real citizens' posts.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detectors.classifier import TextClassifier, default_model_dir  # noqa: E402
from detectors.toxic_kinds import load_threats  # noqa: E402
from monitor.detect import THREAT_PROBABILITY  # noqa: E402

HELDOUT = ROOT / "benchmarks" / "data" / "threats_heldout_de.tsv"


def threat_report(probability: np.ndarray, labels: np.ndarray, threshold: float = THREAT_PROBABILITY) -> dict:
    flagged = probability >= threshold
    hits = int((flagged & (labels == 1)).sum())
    return {"texts": int(len(labels)), "threats": int(labels.sum()),
            "auc": round(float(roc_auc_score(labels, probability)), 3), "flagged": int(flagged.sum()),
            "precision": round(hits / max(int(flagged.sum()), 1), 3),
            "recall": round(hits / max(int(labels.sum()), 1), 3),
            "harmless_flagged": round(float(flagged[labels == 0].mean()), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(HELDOUT))
    parser.add_argument("--model", nargs="+", default=[str(default_model_dir())])
    args = parser.parse_args(argv)
    heldout = load_threats(args.data, corpus_texts=[])  # `new` rows only: no corpus line to check against
    texts, labels = heldout.texts, heldout.labels
    report = {}
    for model_dir in args.model:
        model = TextClassifier.load(model_dir)
        if not model.has_kinds:
            print(f"{model_dir}: model has no kind heads", file=sys.stderr)
            return 2
        scores = model.predict(texts)
        toxic = scores.is_toxic()
        report[model_dir] = {"version": model.info.get("version"), **threat_report(scores.kinds["threat"], labels),
                             "threats_called_toxic": round(float(toxic[labels == 1].mean()), 3),
                             "harmless_called_toxic": round(float(toxic[labels == 0].mean()), 3)}
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
