"""Polarity quality against the number of staff corrections, with GermEval 2017 dev as a new deployment."""
from __future__ import annotations

import argparse
import itertools
import json
import pathlib
import statistics
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detectors.classifier import POLARITY_LABELS, TextClassifier  # noqa: E402
from detectors.feedback import AdaptiveClassifier  # noqa: E402
from detectors.reliability import expected_calibration_error  # noqa: E402
from detectors.textfeatures import Featurizer  # noqa: E402
from detectors.training import load_germeval2017  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "germeval2017" / "dev.tsv"
CHECKPOINTS = (0, 50, 200, 1000)


def scores(y_true: list[str], y_pred: list[str]) -> dict[str, float]:
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, labels=list(POLARITY_LABELS), average="macro", zero_division=0),
    }


def share_error(test_y: list[str], p_negative: np.ndarray) -> dict[str, float]:
    """What the detectors see: the mean P(negative) of the test part (probabilistic classify-and-count, as
    monitor.aggregate sums it per bucket) and how far it is from the true negative share."""
    estimate = float(np.mean(p_negative))
    truth = np.array([y == "negative" for y in test_y], dtype=int)
    return {"negative_share": estimate, "negative_share_error": abs(estimate - test_y.count("negative") / len(test_y)),
            # whether P(negative) means what it says, text by text (benchmarks/calibration.py for the base model)
            "negative_ece": expected_calibration_error(p_negative, truth)}


def adaptive_curve(base, pool_x, pool_y, test_x, test_y, seed, checkpoints, **hyper) -> dict[int, dict]:
    """Feeds one shuffled stream of corrections and evaluates at each checkpoint (nested, like a real deployment)."""
    order = np.random.default_rng(seed).permutation(len(pool_x))
    model = AdaptiveClassifier(base, **hyper)
    out, fed = {}, 0
    for n in checkpoints:
        for i in order[fed:n]:
            model.learn_one(pool_x[i], polarity=pool_y[i])
        fed = n
        predicted = model.predict(test_x)
        out[n] = {**scores(test_y, predicted.sentiment()), **share_error(test_y, predicted.negative)}
        # each expert alone, and the mixture's weight on the scratch learner: why the mixture does what it does
        adapted, scratch = model.expert_probabilities(test_x)
        for name, p in (("residual", adapted), ("scratch", scratch)):
            if p is not None:
                labels = [POLARITY_LABELS[k] for k in p[:, :3].argmax(axis=1)]
                out[n].update({f"{name}_{metric}": v for metric, v in scores(test_y, labels).items()})
        out[n]["scratch_weight"] = model.scratch_weight("polarity")
    return out


def scratch_curve(featurizer, pool_x, pool_y, test_x, test_y, seed, checkpoints) -> dict[int, dict]:
    """Reference without the base model: logistic regression trained only on the first n corrections."""
    order = np.random.default_rng(seed).permutation(len(pool_x))
    x_pool, x_test = featurizer.transform(pool_x), featurizer.transform(test_x)
    out = {}
    for n in checkpoints:
        labels = [pool_y[i] for i in order[:n]]
        if n == 0 or len(set(labels)) < 2:
            continue
        model = LogisticRegression(C=10.0, max_iter=2000).fit(x_pool[order[:n]], labels)
        probabilities = model.predict_proba(x_test)
        out[n] = {**scores(test_y, list(model.classes_[probabilities.argmax(axis=1)])),
                  **share_error(test_y, probabilities[:, list(model.classes_).index("negative")])}
    return out


def summarise(runs: list[dict[int, dict]], checkpoints) -> dict[int, dict]:
    table = {}
    for n in checkpoints:
        values = [run[n] for run in runs if n in run]
        if not values:
            continue
        table[n] = {}
        for metric in sorted(set().union(*values)):
            series = [v[metric] for v in values if metric in v]
            table[n][metric] = {"mean": statistics.fmean(series), "min": min(series), "max": max(series),
                                "sd": statistics.pstdev(series)}
    return table


# The grid --tune searches (version 3): the scratch learner and the mixture. The residual and replay settings
# (learning_rate 0.5, bias_learning_rate 0.05, replay 8, reservoir 2,000) were chosen by the version 2 grid
# (learning rate 0.5/1/2 x bias 0.05/0.2/0.5 x replay 0/4/8/16 x reservoir 250/2,000, FEEDBACK_RESULTS.md) and
# are unchanged: the residual learns exactly as before, the mixture only decides how much to trust it.
TUNE_GRID = {
    "scratch_learning_rate": (0.5, 1.0, 2.0),
    "scratch_bias_learning_rate": (0.05, 0.2, 0.5),
    "mixture_discount": (0.98, 0.995, 1.0),
    "scratch_prior": (0.0, 3.0),
}


def tune(base, pool_x, pool_y, seeds, confirm_seeds=(), confirm_top: int = 4) -> list[tuple]:
    """Hyperparameter grid on an inner split of the correction pool only; the test part is never looked at."""
    inner_x, val_x, inner_y, val_y = train_test_split(pool_x, pool_y, test_size=0.4, stratify=pool_y, random_state=1)
    checkpoints = (0, 50, 200, min(800, len(inner_x)))
    rows = []
    for values in itertools.product(*TUNE_GRID.values()):
        hyper = dict(zip(TUNE_GRID, values))
        runs = [adaptive_curve(base, inner_x, inner_y, val_x, val_y, s, checkpoints, **hyper) for s in seeds]
        table = summarise(runs, checkpoints)
        f1 = {n: round(table[n]["macro_f1"]["mean"], 4) for n in checkpoints}
        acc = {n: round(table[n]["accuracy"]["mean"], 4) for n in checkpoints}
        rows.append((hyper, f1, acc))
        print(" ".join(f"{k}={v}" for k, v in hyper.items()) + f" macro-F1 {f1} accuracy {acc}", flush=True)
    # Selection rule (version 3): highest mean of accuracy and macro-F1 over the non-zero checkpoints. The goal
    # is to be at least as good as a model of the corrections alone in both; macro-F1 alone (the version 2 rule)
    # picked a row 0.03-0.05 below that model's accuracy, accuracy alone would reward predicting "neutral"
    # everywhere (70 % of this corpus). Two seeds are noisy, so the top rows of the grid are re-run with all
    # confirm_seeds before choosing; ties go to the earlier row.
    def score(row: tuple) -> float:
        return statistics.fmean((row[1][n] + row[2][n]) / 2 for n in checkpoints if n)

    top = sorted(rows, key=lambda row: -score(row))[:confirm_top]
    confirmed = []
    for hyper, _f1, _acc in top:
        table = summarise([adaptive_curve(base, inner_x, inner_y, val_x, val_y, s, checkpoints, **hyper)
                           for s in confirm_seeds], checkpoints)
        f1 = {n: round(table[n]["macro_f1"]["mean"], 4) for n in checkpoints}
        acc = {n: round(table[n]["accuracy"]["mean"], 4) for n in checkpoints}
        confirmed.append((hyper, f1, acc))
        print(f"confirm with seeds {list(confirm_seeds)}: {hyper} macro-F1 {f1} accuracy {acc} "
              f"(score {score(confirmed[-1]):.4f})", flush=True)
    featurizer = Featurizer(base.info["features"])
    reference = summarise([scratch_curve(featurizer, inner_x, inner_y, val_x, val_y, s, checkpoints)
                           for s in confirm_seeds], checkpoints)
    print("LR on corrections only, same split and seeds: " + ", ".join(
        f"{n}: accuracy {reference[n]['accuracy']['mean']:.4f} macro-F1 {reference[n]['macro_f1']['mean']:.4f}"
        for n in reference))
    best = max(confirmed, key=score)
    print(f"chosen: {best[0]}")
    return rows


def svg_chart(adaptive: dict, scratch: dict, majority: float, path: pathlib.Path, title: str) -> None:
    """A dependency-free line chart: mean over seeds, whiskers from min to max; x is categorical."""
    width, height, left, right, top, bottom = 760, 360, 60, 20, 40, 60
    panels = (("accuracy", "Accuracy"), ("macro_f1", "Macro-F1"))
    panel_w = (width - left - right - 40) / 2
    xs = list(CHECKPOINTS)
    lo, hi = 0.0, 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    residual = {n: {m: row[f"residual_{m}"] for m in ("accuracy", "macro_f1")} for n, row in adaptive.items()}
    series = (("adapted (mixture)", adaptive, "#c0392b"), ("base + gated residual alone", residual, "#e59866"),
              ("LR on corrections only", scratch, "#2471a3"))
    for p, (metric, label) in enumerate(panels):
        x0 = left + p * (panel_w + 40)
        plot_h = height - top - bottom

        def px(i: int) -> float:
            return x0 + 20 + i * (panel_w - 40) / (len(xs) - 1)

        def py(v: float) -> float:
            return top + plot_h * (1 - (v - lo) / (hi - lo))

        parts.append(f'<rect x="{x0}" y="{top}" width="{panel_w}" height="{plot_h}" fill="none" stroke="#888"/>')
        for tick in np.arange(0.0, 1.01, 0.2):
            parts.append(f'<line x1="{x0}" x2="{x0 + panel_w}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" stroke="#eee"/>')
            parts.append(f'<text x="{x0 - 5}" y="{py(tick) + 4:.1f}" text-anchor="end">{tick:.1f}</text>')
        for i, n in enumerate(xs):
            parts.append(f'<text x="{px(i):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{n}</text>')
        parts.append(f'<text x="{x0 + panel_w / 2}" y="{top + plot_h + 36}" text-anchor="middle">'
                     f'corrections fed ({label})</text>')
        if metric == "accuracy":
            parts.append(f'<line x1="{x0}" x2="{x0 + panel_w}" y1="{py(majority):.1f}" y2="{py(majority):.1f}" '
                         f'stroke="#777" stroke-dasharray="4 3"/>')
            parts.append(f'<text x="{x0 + panel_w - 4}" y="{py(majority) - 4:.1f}" text-anchor="end" fill="#555">'
                         f'majority class</text>')
        for name, table, colour in series:
            points = [(px(i), table[n][metric]) for i, n in enumerate(xs) if n in table]
            if not points:
                continue
            parts.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                colour, " ".join(f"{x:.1f},{py(v['mean']):.1f}" for x, v in points)))
            for x, v in points:
                parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{py(v["min"]):.1f}" y2="{py(v["max"]):.1f}" '
                             f'stroke="{colour}"/>')
                parts.append(f'<circle cx="{x:.1f}" cy="{py(v["mean"]):.1f}" r="3" fill="{colour}"/>')
    for k, (name, _table, colour) in enumerate(series):
        y = height - 12
        x = left + k * 220
        parts.append(f'<line x1="{x}" x2="{x + 24}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{x + 30}" y="{y}">{name}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="GermEval 2017 dev.tsv")
    parser.add_argument("--seeds", type=int, default=5, help="correction orders to average over (seeds 0..N-1)")
    parser.add_argument("--test-size", type=float, default=0.4)
    parser.add_argument("--svg", default=str(ROOT / "benchmarks" / "feedback_curve.svg"), help="'' to skip the chart")
    parser.add_argument("--json", default="", help="also write the numbers as JSON here")
    parser.add_argument("--tune", action="store_true", help="grid-search the learning rates on an inner split of the pool")
    args = parser.parse_args(argv)

    texts, labels = load_germeval2017(args.data)
    pool_x, test_x, pool_y, test_y = train_test_split(
        texts, labels, test_size=args.test_size, stratify=labels, random_state=0)
    base = TextClassifier.load()
    seeds = list(range(args.seeds))
    print(f"GermEval 2017 dev: {len(texts)} documents, pool {len(pool_x)}, test {len(test_x)} "
          f"(stratified, seed 0); class shares in test: "
          + ", ".join(f"{c} {test_y.count(c) / len(test_y):.3f}" for c in POLARITY_LABELS))
    if args.tune:
        tune(base, pool_x, pool_y, seeds[:2], confirm_seeds=seeds)
        return 0
    if max(CHECKPOINTS) > len(pool_x):
        parser.error(f"the pool has only {len(pool_x)} documents, fewer than {max(CHECKPOINTS)} corrections")

    start = time.perf_counter()
    adaptive = summarise([adaptive_curve(base, pool_x, pool_y, test_x, test_y, s, CHECKPOINTS) for s in seeds],
                         CHECKPOINTS)
    seconds = time.perf_counter() - start
    featurizer = Featurizer(base.info["features"])
    scratch = summarise([scratch_curve(featurizer, pool_x, pool_y, test_x, test_y, s, CHECKPOINTS) for s in seeds],
                        CHECKPOINTS)
    majority = max(test_y.count(c) for c in POLARITY_LABELS) / len(test_y)

    print(f"\nseeds {seeds}; mean (min-max) over seeds; majority-class accuracy {majority:.3f}")
    print(f"{'corrections':>11} | {'adapted acc':>20} | {'adapted macro-F1':>20} | {'LR-only acc':>12} | {'LR-only F1':>10}")
    for n in CHECKPOINTS:
        a = adaptive[n]
        s = scratch.get(n)
        print(f"{n:>11} | {a['accuracy']['mean']:.3f} ({a['accuracy']['min']:.3f}-{a['accuracy']['max']:.3f}) | "
              f"{a['macro_f1']['mean']:.3f} ({a['macro_f1']['min']:.3f}-{a['macro_f1']['max']:.3f}) | "
              + (f"{s['accuracy']['mean']:>12.3f} | {s['macro_f1']['mean']:>10.3f}" if s else f"{'-':>12} | {'-':>10}"))
    print(f"\n{'corrections':>11} | {'residual alone acc':>18} | {'F1':>5} | {'scratch alone acc':>17} | {'F1':>5} | "
          f"{'scratch weight':>14}")
    for n in CHECKPOINTS:
        a = adaptive[n]
        alone = [a.get(k, {}).get("mean", float("nan")) for k in
                 ("residual_accuracy", "residual_macro_f1", "scratch_accuracy", "scratch_macro_f1", "scratch_weight")]
        print(f"{n:>11} | {alone[0]:>18.3f} | {alone[1]:>5.3f} | {alone[2]:>17.3f} | {alone[3]:>5.3f} | {alone[4]:>14.3f}")
    print(f"\nnegative share of the test part {test_y.count('negative') / len(test_y):.3f}; estimated as the mean "
          f"P(negative), mean |error| (max) over seeds")
    print(f"{'corrections':>11} | {'adapted estimate':>16} | {'adapted error':>15} | {'adapted ECE':>11} | "
          f"{'LR-only estimate':>16} | {'LR-only error':>15} | {'LR-only ECE':>11}")
    for n in CHECKPOINTS:
        a, s = adaptive[n], scratch.get(n)
        print(f"{n:>11} | {a['negative_share']['mean']:>16.3f} | "
              f"{a['negative_share_error']['mean']:.3f} ({a['negative_share_error']['max']:.3f}) | "
              f"{a['negative_ece']['mean']:>11.3f} | "
              + (f"{s['negative_share']['mean']:>16.3f} | {s['negative_share_error']['mean']:.3f} "
                 f"({s['negative_share_error']['max']:.3f}) | {s['negative_ece']['mean']:>11.3f}" if s
                 else f"{'-':>16} | {'-':>15} | {'-':>11}"))
    print(f"\nadaptive runs: {seconds:.1f} s for {len(seeds)} x {max(CHECKPOINTS)} corrections and "
          f"{len(CHECKPOINTS) * len(seeds)} evaluations")
    if args.svg:
        svg_chart(adaptive, scratch, majority, pathlib.Path(args.svg),
                  f"GermEval 2017 dev polarity vs. corrections (test n={len(test_x)}, {len(seeds)} seeds)")
        print(f"chart: {args.svg}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"adaptive": adaptive, "scratch": scratch,
                                                       "majority": majority}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
