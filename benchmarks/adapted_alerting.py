"""Do the alerts survive staff corrections? The whole pipeline replayed with adapted models.

Usage (from the repository root, about 10 minutes):
    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/adapted_alerting.py [--corrections 50 200 1000] [--seeds 2]

`benchmarks/correction_drift.py` measures the mean P(negative) of a simulated storm; this runs what a deployment
runs. The bundled demo week and synthetic streams with known episodes (as in `benchmarks/detection_quality.py`)
are backtested through the full pipeline (classifier, detectors, storm levels, alert state) with:
- the shipped model;
- the adapted model after n polarity corrections drawn in random order from GermEval 2017 dev (Deutsche Bahn
  posts: another kind of text than the streams; the labels are GermEval 2017's, so this is staff of a
  deployment teaching another convention on another topic), with the familiarity gate (format v4);
- the same corrections without the gate (format v3: `gated = False`), for comparison.
Per stream it reports episodes detected, with the right kind, minutes from onset to the first alert, and false
alerts, as detection_quality.py does.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.detection_quality import _scope_weeks, score  # noqa: E402
from detectors.classifier import POLARITY_LABELS, TextClassifier  # noqa: E402
from detectors.datasets import load_dataset  # noqa: E402
from detectors.feedback import AdaptiveClassifier  # noqa: E402
from monitor.config import load_settings  # noqa: E402
from monitor.demo.generate import episodes, synthetic_episodes, synthetic_stream, write_jsonl  # noqa: E402
from monitor.replay import run_backtest  # noqa: E402

GE2017_DEV = ROOT.parent / "shared" / "data" / "germeval2017" / "dev.tsv"


def adapted_models(base: TextClassifier, n_corrections: list[int], directory: Path, seed: int) -> dict[str, Path]:
    """Saves, per checkpoint, the gated and the ungated adapted model after the first n shuffled corrections."""
    data = load_dataset(GE2017_DEV, "germeval2017", "polarity")
    order = np.random.default_rng(seed).permutation(len(data.texts))
    out = {}
    for gated in (True, False):
        model, fed = AdaptiveClassifier(base), 0
        model.gated = gated
        for n in sorted(n_corrections):
            for i in order[fed:n]:
                model.learn_one(data.texts[i], polarity=POLARITY_LABELS[data.labels[i]])
            fed = n
            name = f"{n} corrections, {'v4 (gated)' if gated else 'v3 (ungated)'}"
            out[name] = model.save(directory / f"{n}-{'gated' if gated else 'ungated'}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corrections", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--seeds", type=int, default=2, help="synthetic streams (seeds 1..N)")
    parser.add_argument("--mentions", type=int, default=60_000)
    parser.add_argument("--scopes", type=int, default=20)
    parser.add_argument("--daily", type=float, default=150.0)
    parser.add_argument("--correction-seed", type=int, default=1, help="order of the corrections")
    args = parser.parse_args(argv)
    settings = load_settings(ROOT / "config" / "demo.yaml")
    base = TextClassifier.load(settings.classifier.model)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        streams = {"demo": (ROOT / "monitor" / "demo" / "stream.jsonl", episodes())}
        for seed in range(1, args.seeds + 1):
            options = dict(n_scopes=args.scopes, seed=seed, daily=args.daily, storms=4)
            path = tmp / f"synthetic-{seed}.jsonl"
            write_jsonl(synthetic_stream(args.mentions, **options), path)
            streams[f"synthetic seed {seed}"] = (path, synthetic_episodes(args.mentions, **options))
        models: dict[str, Path | None] = {"shipped model": None}
        models.update(adapted_models(base, args.corrections, tmp / "adapted", args.correction_seed))
        print("| model | stream | episodes | detected | right kind | minutes from onset | false alerts |")
        print("|---|---|---:|---:|---:|---|---:|")
        for model_name, directory in models.items():
            classifier = settings.classifier.model_copy(update={
                "use_corrections": directory is not None, "adapted_model": str(directory) if directory else None})
            run_settings = settings.model_copy(update={"classifier": classifier})
            for stream_name, (path, truth) in streams.items():
                out = tmp / "alerts.jsonl"
                run_backtest(run_settings, path, out, report=io.StringIO())
                events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
                r = score(events, truth, _scope_weeks(path))
                print(f"| {model_name} | {stream_name} | {r['episodes']} | {r['detected']} | {r['right_kind']} | "
                      f"{', '.join(map(str, r['minutes_from_onset']))} | {r['false_alerts']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
