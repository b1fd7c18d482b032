"""The classifier on comments in which emoji matter, texts it was never trained on: polarity (accuracy and
macro-F1, on all rows and on the emoji-only ones), toxicity at the model's stored threshold (precision, recall, the
share of harmless rows called toxic) and question F1. Several models are scored in turn on the same texts.

Usage: PYTHONPATH=. python benchmarks/emoji_heldout.py [--data TSV] [--model DIR ...]

benchmarks/data/emoji_heldout_de.tsv (the corpus format; our own writing, CC BY 4.0) was written in session 11,
at the same time as corpus round 8 and on a similar brief (the labelling convention and a mix of kinds: emoji-only
replies, friend tags, emoji that carry or flip the tone, toxic and rough-but-harmless rows, notices and questions),
by a separate writer that saw neither the corpus nor round 8. Rows identical to a corpus row were dropped from it
(4: "👍", "👀", "❤️❤️❤️", "😡😡😡"), and from round 8 the 33 rows identical to a row of this file or of the corpus
(mostly single emoji), before any model was trained on round 8; a review then found 2 more that equal a corpus row
once normalised ("😍😍" = "😍😍😍", "🔥🔥" = "🔥🔥🔥": runs of 3 are squashed to 2), dropped too (200 → 194 rows).
tests/test_classifier.py checks that no normalised text is in the corpus.
The texts share their emoji with the training rows, which is unavoidable: a lone "🙄" is a lone "🙄". Written
texts, one annotator per row, not real posts: it measures the model on the kinds of text the brief describes.
"""
from __future__ import annotations

import pathlib
import re
import sys

import numpy as np
from sklearn.metrics import f1_score

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.heldout import polarity_report, run, toxic_report  # noqa: E402
from detectors.classifier import POLARITY_LABELS, TextClassifier  # noqa: E402
from detectors.corpus import load_corpus  # noqa: E402

HELDOUT = ROOT / "benchmarks" / "data" / "emoji_heldout_de.tsv"
_WORD = re.compile(r"\w")


def emoji_only(texts: list[str]) -> np.ndarray:
    """Rows without a letter or digit (emoji, maybe punctuation)."""
    return np.array([not _WORD.search(t) for t in texts])


def report_for(model: TextClassifier, data: dict) -> dict:
    scores = model.predict(data["texts"])
    predicted = np.array([POLARITY_LABELS.index(s) for s in scores.sentiment()])
    only = emoji_only(data["texts"])
    return {"version": model.info.get("version"),
            "polarity": polarity_report(data["polarity"], predicted),
            "polarity_emoji_only": polarity_report(data["polarity"][only], predicted[only]),
            "polarity_with_words": polarity_report(data["polarity"][~only], predicted[~only]),
            "toxic": toxic_report(data["toxic"], scores.is_toxic(), scores.toxic),
            "question_f1": round(float(f1_score(data["question"], scores.question >= 0.5)), 3)}


def main(argv: list[str] | None = None) -> int:
    return run(argv, __doc__, HELDOUT, load_corpus, report_for)

if __name__ == "__main__":
    sys.exit(main())
