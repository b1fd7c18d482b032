"""The toxicity head on abuse built from words it may never have seen, and on harmless texts that only look rough:
texts it was never trained on. Toxic recall per kind of abuse, the share of harmless rows called toxic per kind of
look-alike, precision overall, and the polarity report. Several models are scored in turn on the same texts.

Usage: PYTHONPATH=. python benchmarks/abuse_heldout.py [--data TSV] [--model DIR ...]

benchmarks/data/abuse_heldout_de.tsv (the corpus columns plus ``kind``; our own writing, CC BY 4.0) was written
in session 13 by a writer that saw neither the corpus, nor the other held-out sets, nor the abuse lexicon
(detectors/data/abuse_de.tsv), which another writer wrote at the same time on its own brief. Kinds:
- toxic: ``slur`` (slurs against groups), ``compound`` (insulting and dehumanising compounds, many made up on the
  spot), ``insult`` (personal insults, some misspelled or obfuscated), ``dialect`` (regional insults),
  ``dehumanising`` (vermin and disease talk without swear words);
- harmless: ``profanity`` (swearing not aimed at people: not toxic by the corpus convention), ``lookalike`` (words
  that contain or look like insults: "Schweinebraten", "Zecken im Stadtpark"), ``reported`` (neutral reports of
  insults, questions about them), ``group_harmless`` (the groups slurs aim at, named properly).
A fourth file, ``literal_heldout_de.tsv`` (kinds ``remembrance``, ``animals``, ``objects``; 120 harmless texts
that use listed words literally: "Opfer der Nazis", "Ratten am Spielplatz", "Achterpack"), was written after the
review of model 0.6.0 by a writer that saw nothing of the project; it measures a known weakness, it decided nothing.
Session 14 added two sets of 250 on that weakness, each by a new writer that saw nothing of the project: 150
harmless literal uses (the three kinds above) and 100 abusive uses of the same words (``nazi_insult``: people
called Nazis; ``vermin``: people called rats, parasites, swine, lice ...). ``literal_test_de.tsv`` decided against
the first candidate and has been a development set since; ``literal_test2_de.tsv`` decided model 0.6.1; a third,
``literal_test3_de.tsv``, written after a review of 0.6.1 on a brief that named the review's patterns (questions
with "du"/"ihr", lists with "wie", vocatives), decided against a refined candidate (benchmarks/CLASSIFIER_RESULTS.md,
session 14). ``obfuscation_test_de.tsv`` (200 rows by another new writer) has abuse disguised against filters
(``masked``: "A****loch"; ``leet``: "V0ll1d10ten", also "I.d.i.o.t"; ``gendered``: "Idiot*innen") and harmless texts
full of the same marks (``gender``: "Bürger*innen"; ``codes``: "S5", "6er-Pack"; ``masked_profanity``:
"Sch***wetter"; ``markup``: "**Wichtig:**"); it decided model 0.6.2.
tests/test_abuse_lexicon.py checks that no text is a corpus text. Written texts, one annotator per row, not real
posts: it measures the model on the kinds of text the brief describes.
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.heldout import polarity_report, rate, run, toxic_report  # noqa: E402
from detectors.classifier import POLARITY_LABELS, TextClassifier  # noqa: E402
from detectors.corpus import load_corpus  # noqa: E402

HELDOUT = ROOT / "benchmarks" / "data" / "abuse_heldout_de.tsv"
TOXIC_KINDS = ("slur", "compound", "insult", "dialect", "dehumanising")
HARMLESS_KINDS = ("profanity", "lookalike", "reported", "group_harmless")
# The literal sets: harmless texts that use listed words literally (literal_heldout_de.tsv has only these), and
# in literal_test*_de.tsv abusive uses of the same words.
LITERAL_KINDS = ("remembrance", "animals", "objects")
AIMED_KINDS = ("nazi_insult", "vermin")
# obfuscation_test_de.tsv: abuse disguised against filters, and harmless texts full of stars, digits and gender marks.
DISGUISED_KINDS = ("masked", "leet", "gendered")
MARKED_KINDS = ("gender", "codes", "masked_profanity", "markup")
KINDS = TOXIC_KINDS + AIMED_KINDS + DISGUISED_KINDS + HARMLESS_KINDS + LITERAL_KINDS + MARKED_KINDS


def load(path: str | pathlib.Path) -> dict:
    """The held-out file: load_corpus's arrays plus ``kind``; a kind outside the lists, or a toxic label that
    disagrees with its kind, is refused with the line number."""
    data = load_corpus(path, extra_columns=("kind",))
    for line, (kind, toxic) in enumerate(zip(data["kind"], data["toxic"]), start=2):
        if kind not in KINDS:
            raise ValueError(f"{path}: line {line}: kind {kind!r} is not one of {KINDS}")
        if (kind in TOXIC_KINDS + AIMED_KINDS + DISGUISED_KINDS) != bool(toxic):
            raise ValueError(f"{path}: line {line}: kind {kind!r} but toxic = {toxic}")
    return data


def report_for(model: TextClassifier, data: dict) -> dict:
    scores = model.predict(data["texts"])
    predicted = np.array([POLARITY_LABELS.index(s) for s in scores.sentiment()])
    is_toxic = scores.is_toxic()
    kinds = np.array(data["kind"])
    per_kind = {}
    for kind in (k for k in KINDS if (kinds == k).any()):
        rows = kinds == kind
        called = int(is_toxic[rows].sum())
        per_kind[kind] = {"n": int(rows.sum()), "called_toxic": called, "share_called_toxic": rate(called, int(rows.sum())),
                          "mean_p_toxic": round(float(scores.toxic[rows].mean()), 3)}
    return {"version": model.info.get("version"),
            "toxic": toxic_report(data["toxic"], is_toxic, scores.toxic),
            "per_kind": per_kind,
            "polarity": polarity_report(data["polarity"], predicted)}


def main(argv: list[str] | None = None) -> int:
    return run(argv, __doc__, HELDOUT, load, report_for)


if __name__ == "__main__":
    sys.exit(main())
