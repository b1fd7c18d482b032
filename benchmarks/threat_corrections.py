"""Staff correcting threat flags (`stormwatch correct --threat 0|1`): what the adapted model then flags.

Usage: PYTHONPATH=. python benchmarks/threat_corrections.py [--seeds 10] [--model DIR]

Texts: benchmarks/data/threats_heldout_de.tsv (140 texts, 40 threats, 100 harmless look-alikes such as
resignation demands that name an official; never trained on). Per seed they are split in halves, stratified by
label: the deployment's *stream*, on which staff correct, and an *evaluation* half of the same kind that nobody
corrects. Two ways staff work:

- `flags`: staff review only what an alert marked "mögliche Drohung" (P(threat) >= 0.5 by the base model) on
  the stream half and correct each flag with its true label: clearing false alarms, confirming threats;
- `errors`: staff correct every mistake of the base model on the stream half: they clear each false flag and
  report each threat that was not flagged (the most a team could give; a correct label nobody needs to change is
  not a correction).

The corrections are fed one by one, in random order, to `AdaptiveClassifier` with its default settings. Reported on
the evaluation half, base model against adapted model, with the report of benchmarks/threat_heldout.py (AUC;
precision, recall and harmless texts flagged at P >= 0.5). And what must not move: the demo's texts
(monitor/demo/texts_de.yaml, our own writing, unlike the held-out texts): false alarms in the pools without
threats, and the threats of the toxic pool that are found (labels as in benchmarks/threat_flags.py), plus the
largest change of P(toxic) on any demo text (threat corrections must not move it; `--threat 1` stores toxic=1
too, which this benchmark does not feed). Medians over the seeds, with the range.

Same writer for the held-out texts and the training rounds: this measures how far corrections of one kind of
look-alike carry to others of that kind, not performance on real citizens' posts.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import numpy as np
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.threat_flags import NO_THREATS_BY_CONSTRUCTION, THREATS_IN_TOXIC_POOL  # noqa: E402
from benchmarks.threat_heldout import HELDOUT, threat_report  # noqa: E402
from detectors.classifier import TextClassifier  # noqa: E402
from detectors.feedback import AdaptiveClassifier  # noqa: E402
from detectors.toxic_kinds import load_threats  # noqa: E402
from monitor.detect import THREAT_PROBABILITY  # noqa: E402


def halves(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stream and evaluation indices, each holding half of every label."""
    rng = np.random.default_rng(seed)
    stream, evaluation = [], []
    for value in (0, 1):
        idx = rng.permutation(np.flatnonzero(labels == value))
        stream.extend(idx[: len(idx) // 2])
        evaluation.extend(idx[len(idx) // 2:])
    return np.array(sorted(stream)), np.array(sorted(evaluation))


def demo_texts() -> tuple[list[str], list[str]]:
    """(harmless demo texts, threats of the demo's toxic pool)."""
    pools = yaml.safe_load((ROOT / "monitor" / "demo" / "texts_de.yaml").read_text(encoding="utf-8"))
    harmless = [str(t) for name in NO_THREATS_BY_CONSTRUCTION for t in pools[name]]
    return harmless, sorted(THREATS_IN_TOXIC_POOL)


def side_effects(scorer, harmless: list[str], threats: list[str]) -> dict:
    h, t = scorer.predict(harmless), scorer.predict(threats)
    return {"demo_harmless_flagged": int((h.kinds["threat"] >= THREAT_PROBABILITY).sum()),
            "demo_threats_found": int((t.kinds["threat"] >= THREAT_PROBABILITY).sum()),
            "toxic": np.concatenate([h.toxic, t.toxic])}


def run_seed(base: TextClassifier, texts: list[str], labels: np.ndarray, seed: int, mode: str,
             demo: tuple[list[str], list[str]]) -> dict:
    stream, evaluation = halves(labels, seed)
    base_threat = base.predict([texts[i] for i in stream]).kinds["threat"]
    flagged = base_threat >= THREAT_PROBABILITY
    chosen = stream[flagged] if mode == "flags" else stream[flagged != (labels[stream] == 1)]
    order = np.random.default_rng([seed, 1]).permutation(chosen)
    model = AdaptiveClassifier(base)
    for i in order:
        model.learn_one(texts[i], threat=int(labels[i]))
    eval_texts = [texts[i] for i in evaluation]
    before = threat_report(base.predict(eval_texts).kinds["threat"], labels[evaluation])
    after = threat_report(model.predict(eval_texts).kinds["threat"], labels[evaluation])
    side_base, side_model = side_effects(base, *demo), side_effects(model, *demo)
    return {"corrections": len(order), "cleared": int((labels[order] == 0).sum()),
            "before": before, "after": after,
            "demo_before": {k: v for k, v in side_base.items() if k != "toxic"},
            "demo_after": {k: v for k, v in side_model.items() if k != "toxic"},
            "demo_toxic_max_change": float(np.abs(side_model["toxic"] - side_base["toxic"]).max())}


def summary(runs: list[dict]) -> dict:
    def stat(values) -> dict:
        values = np.asarray(values, dtype=float)
        return {"median": round(float(np.median(values)), 3), "min": round(float(values.min()), 3),
                "max": round(float(values.max()), 3)}

    out = {"corrections": stat([r["corrections"] for r in runs]), "cleared": stat([r["cleared"] for r in runs])}
    for when in ("before", "after"):
        for metric in ("auc", "precision", "recall", "harmless_flagged"):
            out[f"{metric}_{when}"] = stat([r[when][metric] for r in runs])
        for metric in ("demo_harmless_flagged", "demo_threats_found"):
            out[f"{metric}_{when}"] = stat([r[f"demo_{when}"][metric] for r in runs])
    out["demo_toxic_max_change"] = stat([r["demo_toxic_max_change"] for r in runs])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--model", default=None, help="base model directory (default: the shipped model)")
    parser.add_argument("--data", default=str(HELDOUT))
    args = parser.parse_args(argv)
    base = TextClassifier.load(args.model)
    if not base.has_kinds:
        print("the base model has no threat head", file=sys.stderr)
        return 2
    heldout = load_threats(args.data, corpus_texts=[])
    demo = demo_texts()
    result = {"model": base.info.get("version"), "texts": len(heldout.texts), "threats": int(heldout.labels.sum()),
              "seeds": args.seeds, "threshold": THREAT_PROBABILITY,
              "demo_texts": {"harmless": len(demo[0]), "threats": len(demo[1])}}
    for mode in ("flags", "errors"):
        runs = [run_seed(base, heldout.texts, heldout.labels, seed, mode, demo) for seed in range(args.seeds)]
        result[mode] = summary(runs)
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
