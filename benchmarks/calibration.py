"""Are the shipped model's probabilities calibrated? Reliability, calibration error and share error per head.

Usage (from the repository root, about 80 s: the kind heads' CV gives the threat term's out-of-fold logits):
    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/calibration.py [--seed 0] [--svg benchmarks/calibration.svg]
The table it prints is the one in benchmarks/CALIBRATION_RESULTS.md.

In domain: the out-of-fold scores of the shipped model's own cross-validation (train_default_model's folds,
GermEval 2018 + project corpus), calibrated *cross-fitted*: the temperature (polarity) or Platt scaling
(toxicity, question) that scores a text is fitted on the other calibration folds only, so no probability was
calibrated on its own label. Out of domain: the shipped model as it is on GermEval 2017 dev (polarity) and
GermEval 2021 (toxicity), which it never saw. share_error = mean probability - true share is what a detector
adding up probabilities (detectors/shares.py) would be off by on such a stream.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any

import numpy as np

BENCHMARKS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS.parent))
sys.path.insert(0, str(BENCHMARKS))

from eval_classifier import GE2017_DEV, GE2021, shipped_oof  # noqa: E402

from detectors import training  # noqa: E402
from detectors.classifier import TextClassifier, default_model_dir, softmax  # noqa: E402
from detectors.datasets import load_dataset  # noqa: E402
from detectors.reliability import calibration_report, cross_fitted  # noqa: E402


def _platt(scores: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    return cross_fitted(scores, y, training.fit_platt, training._platt_predict, seed=seed)


def _toxic(oof: dict[str, np.ndarray], corpus: dict[str, Any], yg: np.ndarray,
           folds: int, seed: int) -> np.ndarray:
    """P(toxic) as model 0.5.1 computes it: the toxicity head's scores plus the threat term, the three
    parameters cross-fitted. The threat logits are the kind CV's out-of-fold scores under the threat head's own
    Platt map, which is fitted on all of them (two parameters; not cross-fitted)."""
    from detectors.textfeatures import Featurizer

    featurizer = Featurizer(training.feature_settings())
    kind_cv = training.cross_validate_toxic_kinds(featurizer, training.DEFAULT_GERMEVAL2018, corpus,
                                                  training.DEFAULT_THREATS, seed, folds)
    x = np.column_stack([np.concatenate([oof["toxic_germeval"], oof["toxic_corpus"]]),
                         np.concatenate([kind_cv.threat_logits("germeval2018"), kind_cv.threat_logits("corpus")])])
    return cross_fitted(x, np.concatenate([yg, corpus["toxic"]]),
                        lambda xs, y: training.fit_toxic_with_threat(xs[:, 0], xs[:, 1], y),
                        lambda xs, cal: training.toxic_probability(xs[:, 0], cal, xs[:, 1]), seed=seed)


def in_domain(corpus_path: pathlib.Path, folds: int, seed: int) -> list[dict[str, Any]]:
    oof, corpus, yg, corpus_sha = shipped_oof(corpus_path, folds, seed)
    yc = corpus["polarity"]
    polarity = cross_fitted(oof["polarity"], yc, training.fit_temperature, lambda z, t: softmax(z / t), seed=seed)
    toxic = _toxic(oof, corpus, yg, folds, seed)
    question = _platt(oof["question"], corpus["question"], seed)
    protocol = f"{folds}-fold CV of the shipped pipeline, seed {seed}, calibration cross-fitted"
    rows = [
        ("polarity: negative", "project corpus", polarity[:, 0], yc == 0),
        ("polarity: positive", "project corpus", polarity[:, 2], yc == 2),
        ("toxicity", "GermEval 2018 folds", toxic[:len(yg)], yg),
        ("toxicity", "project corpus", toxic[len(yg):], corpus["toxic"]),
        ("question", "project corpus", question, corpus["question"]),
    ]
    return [{"head": head, "data": data, "protocol": protocol, "corpus_sha256": corpus_sha,
             **calibration_report(p, y)} for head, data, p, y in rows]


def out_of_domain(model_dir: pathlib.Path) -> list[dict[str, Any]]:
    model = TextClassifier.load(model_dir)
    ge2017 = load_dataset(GE2017_DEV, "germeval2017", "polarity")
    scores = model.predict(ge2017.texts)
    ge2021 = load_dataset(GE2021, "germeval2021", "toxicity")
    toxic = model.predict(ge2021.texts).toxic
    protocol = f"model {model_dir.name} as shipped, never trained on this data"
    rows = [
        ("polarity: negative", "GermEval 2017 dev", scores.negative, ge2017.labels == 0),
        ("polarity: positive", "GermEval 2017 dev", scores.positive, ge2017.labels == 2),
        ("toxicity", "GermEval 2021 train", toxic, ge2021.labels),
    ]
    return [{"head": head, "data": data, "protocol": protocol, **calibration_report(p, y)} for head, data, p, y in rows]


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| head | data | n | true share | mean probability | share error | ECE | ECE (equal mass) | Brier "
             "(constant forecast) | log loss |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['head']} | {r['data']} | {r['n']} | {r['true_share']:.3f} | {r['mean_predicted']:.3f} | "
                     f"{r['share_error']:+.3f} | {r['ece']:.3f} | {r['ece_equal_mass']:.3f} | {r['brier']:.3f} "
                     f"({r['brier_climatology']:.3f}) | {r['log_loss']:.3f} |")
    return "\n".join(lines)


COLOURS = ("#1b6ca8", "#2e8b57", "#c0392b", "#e67e22", "#8e44ad")


def svg_reliability(panels: list[tuple[str, list[dict[str, Any]]]], path: pathlib.Path) -> None:
    """One reliability diagram per panel: observed share against mean probability in equal-mass bins."""
    size, pad, gap = 300, 48, 140  # the gap leaves room for the legend lines under each panel
    width = len(panels) * (size + pad + gap) + pad
    height = size + 2 * pad + 20 * max(len(rows) for _, rows in panels)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             'font-size="11">', f'<rect width="{width}" height="{height}" fill="white"/>']
    for k, (title, rows) in enumerate(panels):
        x0, y0 = pad + k * (size + pad + gap), pad
        sx = lambda v: x0 + v * size  # noqa: E731
        sy = lambda v: y0 + size - v * size  # noqa: E731
        parts.append(f'<text x="{x0}" y="{y0 - 14}" font-size="13" font-weight="bold">{title}</text>')
        parts.append(f'<rect x="{x0}" y="{y0}" width="{size}" height="{size}" fill="none" stroke="#888"/>')
        parts.append(f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(1)}" y2="{sy(1)}" stroke="#bbb" stroke-dasharray="4 3"/>')
        for t in (0.0, 0.5, 1.0):
            parts.append(f'<text x="{sx(t)}" y="{y0 + size + 14}" text-anchor="middle">{t:g}</text>')
            parts.append(f'<text x="{x0 - 6}" y="{sy(t) + 4}" text-anchor="end">{t:g}</text>')
        parts.append(f'<text x="{x0 + size / 2}" y="{y0 + size + 30}" text-anchor="middle">mean predicted probability</text>')
        parts.append(f'<text x="{x0 - 34}" y="{y0 + size / 2}" text-anchor="middle" '
                     f'transform="rotate(-90 {x0 - 34} {y0 + size / 2})">observed share</text>')
        for i, row in enumerate(rows):
            colour = COLOURS[i % len(COLOURS)]
            points = " ".join(f"{sx(b['mean_predicted']):.1f},{sy(b['observed']):.1f}" for b in row["bins"])
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
            parts.extend(f'<circle cx="{sx(b["mean_predicted"]):.1f}" cy="{sy(b["observed"]):.1f}" r="2.5" '
                         f'fill="{colour}"/>' for b in row["bins"])
            parts.append(f'<text x="{x0}" y="{y0 + size + 52 + 20 * i}" fill="{colour}">{row["head"]}, {row["data"]}: '
                         f'ECE {row["ece"]:.3f}, share error {row["share_error"]:+.3f}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=str(default_model_dir()))
    parser.add_argument("--corpus", default=str(training.DEFAULT_CORPUS))
    parser.add_argument("--svg", default=str(BENCHMARKS / "calibration.svg"), help="'' to skip the chart")
    args = parser.parse_args(argv)
    inside = in_domain(pathlib.Path(args.corpus), args.folds, args.seed)
    outside = out_of_domain(pathlib.Path(args.model))
    for row in inside + outside:
        print(json.dumps(row, ensure_ascii=False))
    print(markdown(inside + outside))
    if args.svg:
        svg_reliability([("In domain (cross-validated)", inside), ("Out of domain (shipped model)", outside)],
                        pathlib.Path(args.svg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
