"""Classifier speed: texts per second of `TextClassifier.predict` and of `stormwatch classify` end to end.

Usage: python benchmarks/classify_speed.py [--texts 50000] [--runs 5] [--core 0] [--model DIR ...]

Three measurements, each a median over --runs on one pinned core:
  predict      the vectorised model call on batches of 4,096 texts (what the pipeline does per batch)
  classify     `classify_stream` in-process: JSONL in, JSON lines out (parsing and output included)
  cli          `stormwatch classify --jsonl` as a subprocess on a file (interpreter start and model load included)
Texts: the project's own demo and synthetic mentions (short comments) and, if ../shared is there, GermEval 2018
training tweets (longer texts) -- read only for timing, never stored.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detectors.classifier import TextClassifier  # noqa: E402
from monitor.classify_cmd import classify_stream  # noqa: E402
from monitor.demo.generate import synthetic_stream  # noqa: E402

GERMEVAL2018 = ROOT.parent / "shared" / "data" / "germeval2018" / "germeval2018.training.txt"
BATCH = 4096


def _comments(n: int) -> list[str]:
    return [record["text"] for record in synthetic_stream(n_mentions=n, seed=7)]  # exactly n rows


def _tweets(n: int) -> list[str] | None:
    if not GERMEVAL2018.exists():
        return None
    with open(GERMEVAL2018, encoding="utf-8") as handle:
        texts = [line.split("\t", 1)[0].replace("|LBR|", " ") for line in handle]
    return (texts * (n // len(texts) + 1))[:n]


def _rate(n: int, seconds: list[float]) -> dict[str, float]:
    rates = sorted(n / s for s in seconds)
    return {"median": round(statistics.median(rates)), "min": round(rates[0]), "max": round(rates[-1])}


def _time_predict(model: TextClassifier, texts: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for i in range(0, len(texts), BATCH):
            model.predict(texts[i:i + BATCH])
        times.append(time.perf_counter() - start)
    return times


def _time_classify(texts: list[str], runs: int, model_dir: str | None) -> list[float]:
    lines = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    times = []
    for _ in range(runs):
        out, err = io.StringIO(), io.StringIO()
        start = time.perf_counter()
        code = classify_stream(io.StringIO(lines), out, err, model_dir=model_dir, jsonl=True)
        times.append(time.perf_counter() - start)
        if code != 0 or out.getvalue().count("\n") != len(texts):
            raise SystemExit(f"classify_stream failed: {err.getvalue()[:300]}")
    return times


def _time_cli(texts: list[str], runs: int, core: int | None, model_dir: str | None) -> list[float]:
    exe = Path(sys.executable).with_name("stormwatch")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "monitor.cli"]
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "texts.jsonl"
        source.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
        for _ in range(runs):
            with open(source, encoding="utf-8") as stdin:
                start = time.perf_counter()
                model = ["--model", model_dir] if model_dir else []
                done = subprocess.run([*command, "classify", "--jsonl", *model], stdin=stdin, capture_output=True, cwd=ROOT,
                                      env=dict(os.environ, PYTHONPATH=str(ROOT)), check=False)
                times.append(time.perf_counter() - start)
            if done.returncode != 0 or done.stdout.count(b"\n") != len(texts):
                raise SystemExit(f"stormwatch classify failed: {done.stderr.decode()[:300]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--core", type=int, default=0, help="pin to this CPU core (-1: don't pin)")
    parser.add_argument("--model", nargs="+", default=[None],
                        help="model directories to compare (default: the shipped model)")
    args = parser.parse_args()
    core = None if args.core < 0 else args.core
    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})

    corpora = {"comments": _comments(args.texts)}
    tweets = _tweets(args.texts)
    if tweets is not None:
        corpora["germeval2018_tweets"] = tweets
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "texts": args.texts, "runs": args.runs, "core": core, "models": {},
    }
    # Several models are measured in turn within each corpus, so a machine that gets busier halfway through
    # slows all of them alike and the ratio between them stays meaningful.
    loaded = {}
    for model_dir in args.model:
        start = time.perf_counter()
        model = TextClassifier.load(model_dir)
        loaded[model_dir] = model
        results["models"][model_dir or "shipped"] = {"load_seconds": round(time.perf_counter() - start, 3),
                                                     "version": model.info.get("version"),
                                                     "kind_heads": model.has_kinds}
        model.predict(corpora["comments"][:BATCH])  # warm-up
    for name, texts in corpora.items():
        results[name] = {"mean_chars": round(statistics.fmean(len(t) for t in texts), 1)}
        for model_dir, model in loaded.items():
            results[name][model_dir or "shipped"] = {
                "predict_texts_per_s": _rate(len(texts), _time_predict(model, texts, args.runs)),
                "classify_texts_per_s": _rate(len(texts), _time_classify(texts, args.runs, model_dir)),
                "cli_texts_per_s": _rate(len(texts), _time_cli(texts, max(1, args.runs // 2), core, model_dir)),
            }
        print(json.dumps({name: results[name]}, ensure_ascii=False), flush=True)
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
