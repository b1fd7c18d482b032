"""Can staff corrections blind the negativity signal? P(negative) on a calm week and on a storm, before and after.

Usage (from the repository root, about a minute):
    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/correction_drift.py [--seed 1] [--shape slow_build]

A simulated authority stream (monitor.demo.simulate: one scope, a calm week, then a Shitstorm) is scored by the
shipped model and by adapted models after 50 / 200 / 1,000 polarity corrections drawn in random order from
(a) GermEval 2017 dev (Deutsche Bahn texts: corrections from another domain than the stream) and (b) the
project corpus (comments like the stream's; the base model learned from them, so staff would mostly confirm it).
The detectors add up P(negative): what matters is the calm level and how far the storm rises above it.
"familiarity" is the adapted model's gate (median per group of texts): how far the scratch learner may speak for
them; "held out" are 300 texts of the same pool that were never fed as corrections (for the corpus pool they are
also among the gate's "known" texts, so theirs is low by construction).

`--ungated` measures the version 3 mixture (one scratch weight per label group, no gate) for comparison.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detectors.classifier import POLARITY_LABELS, TextClassifier  # noqa: E402
from detectors.datasets import load_dataset  # noqa: E402
from detectors.feedback import AdaptiveClassifier  # noqa: E402
from detectors.training import DEFAULT_CORPUS, load_corpus  # noqa: E402
from monitor.demo.simulate import simulate  # noqa: E402

GE2017_DEV = ROOT.parent / "shared" / "data" / "germeval2017" / "dev.tsv"
CHECKPOINTS = (0, 50, 200, 1000)


def correction_pools() -> dict[str, tuple[list[str], list[str]]]:
    ge2017 = load_dataset(GE2017_DEV, "germeval2017", "polarity")
    corpus = load_corpus(DEFAULT_CORPUS)
    return {
        "GermEval 2017 (other domain)": (ge2017.texts, [POLARITY_LABELS[i] for i in ge2017.labels]),
        "project corpus (same domain)": (corpus["texts"], [POLARITY_LABELS[int(i)] for i in corpus["polarity"]]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="simulation seed; also the correction order")
    parser.add_argument("--shape", default="slow_build")
    parser.add_argument("--ungated", action="store_true", help="without the familiarity gate (format v3)")
    args = parser.parse_args(argv)
    mentions, truth = simulate(args.shape, seed=args.seed)
    episode = next(e for e in truth if e["kind"] == "shitstorm")
    calm = [m["text"] for m in mentions if m["created_at"] < "2026-03-09"]  # the first (warm-up) week
    storm = [m["text"] for m in mentions if episode["peak"] <= m["created_at"] <= episode["end"]]
    base = TextClassifier.load()
    print(f"{args.shape}, seed {args.seed}: {len(calm)} calm texts (week 1), {len(storm)} texts from the storm's "
          f"peak to its end")
    print("| corrections from | corrections | calm P(negative) | storm P(negative) | storm / calm | scratch weight | "
          "familiarity: held out / calm / storm |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (texts, labels) in correction_pools().items():
        order = np.random.default_rng(args.seed).permutation(len(texts))
        model, fed = AdaptiveClassifier(base), 0
        model.gated = not args.ungated
        held_out = [texts[i] for i in order[max(CHECKPOINTS):max(CHECKPOINTS) + 300]]
        for n in CHECKPOINTS:
            for i in order[fed:n]:
                model.learn_one(texts[i], polarity=labels[i])
            fed = n
            c, s = float(model.predict(calm).negative.mean()), float(model.predict(storm).negative.mean())
            familiar = "/".join(f"{np.median(model.familiarity(group)):.2f}" for group in (held_out, calm, storm))
            print(f"| {name} | {n:,} | {c:.3f} | {s:.3f} | {s / c:.2f} | {model.scratch_weight('polarity'):.2f} | "
                  f"{familiar if n else '-'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
