"""Detector speed and memory: bucket updates per second (score_one + learn_one) per detector and for the set.

Usage: python benchmarks/detector_speed.py [--buckets 20000] [--runs 5] [--scopes 10000] [--json]
One process, one core. Prints a table (median of --runs) and the memory per scope; record it in DETECTOR_SPEED.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import random
import statistics
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from detectors.copypaste import CopyPasteCampaign  # noqa: E402
from detectors.seasonal import SeasonalVolume  # noqa: E402
from detectors.shares_surprise import NewAuthorSurge, ShareSet, ShareSurprise  # noqa: E402
from detectors.spread import PlatformSpread  # noqa: E402
from detectors.storm import ScopeStormScorer  # noqa: E402
from monitor.demo.sampling import poisson  # noqa: E402

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)
WORDS = (
    "Amt Stadt Bus Bahn Straße heute morgen wann warum wie danke gut schlecht Bürger Rat Schule Kita Park "
    "Baustelle Müll Termin Antrag Formular Ampel Radweg Parkplatz Bürgermeister Sitzung Frage Antwort bitte"
).split()

# The per-bucket set the lead would run per scope; CopyPasteCampaign is measured per text, separately.
DETECTORS = {
    "SeasonalVolume": lambda: SeasonalVolume(interval_seconds=300),
    "ShareSurprise(negative)": lambda: ShareSurprise("negative", prior=0.25),
    "ShareSurprise(toxic)": lambda: ShareSurprise("toxic", prior=0.03),
    "ShareSurprise(questions)": lambda: ShareSurprise("questions", prior=0.15),
    "ShareSurprise(positive)": lambda: ShareSurprise("positive", prior=0.2),
    "NewAuthorSurge": NewAuthorSurge,
    "PlatformSpread": PlatformSpread,
    "ShareSet (6 shares)": ShareSet,
}
# The separate detectors one by one (before the wiring, the "whole set" row ran these side by side).
SEPARATE = [name for name in DETECTORS if name != "ShareSet (6 shares)"]
WHOLE_SET = "ScopeStormScorer (whole set)"


def make_stream(n: int, busy: bool, seed: int = 1) -> list[dict]:
    """5-minute buckets of one scope: a day-night rhythm (many empty night buckets), or always busy."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = T0 + timedelta(minutes=5 * i)
        lam = 25.0 if busy else (6.0 if 8 <= t.hour < 21 else 0.4)
        count = poisson(rng, lam)
        fb = sum(rng.random() < 0.6 for _ in range(count))
        ig = sum(rng.random() < 0.6 for _ in range(count - fb))
        platforms = {name: c for name, c in (("facebook", fb), ("instagram", ig), ("x", count - fb - ig)) if c}
        out.append({
            "t": t, "value": count, "count": count,
            "negative": count * rng.uniform(0.15, 0.35), "toxic": count * rng.uniform(0.0, 0.06),
            "questions": count * rng.uniform(0.1, 0.2), "positive": count * rng.uniform(0.1, 0.3),
            "new_authors": float(sum(rng.random() < 0.35 for _ in range(count))), "platforms": platforms,
            "duplicates": float(sum(rng.random() < 0.05 for _ in range(count))),
        })  # fmt: skip
    return out


def _run(detectors: list, stream: list[dict]) -> float:
    start = time.perf_counter()
    for x in stream:
        for d in detectors:
            d.score_one(x)
            d.learn_one(x)
    return time.perf_counter() - start


def _run_scorer(stream: list[dict]) -> float:
    """The whole detector set as the pipeline drives it (monitor.detect): empty buckets take process_empty,
    the others score_one then learn_one with the reading; volume, the six shares, spread and the level."""
    scorer = ScopeStormScorer(bucket_seconds=300)
    start = time.perf_counter()
    for x in stream:
        if x["count"]:
            scorer.learn_one(x, scorer.score_one(x))
        else:
            scorer.process_empty(x["t"])
    return time.perf_counter() - start


def updates_per_second(names: list[str], stream: list[dict], runs: int) -> float:
    if names == [WHOLE_SET]:
        return len(stream) / statistics.median(_run_scorer(stream) for _ in range(runs))
    times = [_run([DETECTORS[name]() for name in names], stream) for _ in range(runs)]
    return len(stream) / statistics.median(times)


def copy_paste_texts_per_second(runs: int, buckets: int = 300, per_bucket: int = 20) -> float:
    rng = random.Random(2)
    stream = [{"texts": [" ".join(rng.choices(WORDS, k=rng.randint(5, 25))) for _ in range(per_bucket)]} for _ in range(buckets)]
    times = [_run([CopyPasteCampaign()], stream) for _ in range(runs)]
    return buckets * per_bucket / statistics.median(times)


def memory(stream: list[dict], scopes: int, per_scope_buckets: int) -> dict[str, float]:
    """Pickle size per detector after the long stream, and tracemalloc'd bytes for `scopes` full detector sets."""
    sizes = {}
    for name, make in DETECTORS.items():
        d = make()
        for x in stream:
            d.learn_one(x)
        sizes[name] = len(pickle.dumps(d))
    cp = CopyPasteCampaign()
    rng = random.Random(3)
    for _ in range(200):
        cp.learn_one({"texts": [" ".join(rng.choices(WORDS, k=10)) for _ in range(20)]})
    sizes["CopyPasteCampaign"] = len(pickle.dumps(cp))
    scorer = ScopeStormScorer(bucket_seconds=300)
    for x in stream:
        scorer.learn_one(x)
    sizes[WHOLE_SET] = len(pickle.dumps(scorer))
    warm = stream[12 * 12 : 12 * 12 + per_scope_buckets]  # daytime buckets, so every platform has been seen
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fleet = []
    for _ in range(scopes):
        # what monitor.detect keeps per scope: one ScopeStormScorer (volume, ShareSet, spread, window)
        one = ScopeStormScorer(bucket_seconds=300)
        for x in warm:
            one.learn_one(x)
        fleet.append(one)
    total = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return {"pickle_bytes": sizes, "scopes": scopes, "tracemalloc_bytes_total": total, "bytes_per_scope": total / scopes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buckets", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scopes", type=int, default=10000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict = {"python": platform.python_version(), "machine": platform.machine(), "buckets": args.buckets, "runs": args.runs}
    for label, busy in (("day_night", False), ("busy", True)):
        stream = make_stream(args.buckets, busy)
        per = {name: updates_per_second([name], stream, args.runs) for name in DETECTORS}
        per["separate detectors side by side"] = updates_per_second(SEPARATE, stream, args.runs)
        per[WHOLE_SET] = updates_per_second([WHOLE_SET], stream, args.runs)
        result[label] = per
    result["copy_paste_texts_per_second"] = copy_paste_texts_per_second(args.runs)
    result["memory"] = memory(make_stream(args.buckets, False), args.scopes, 48)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"Python {result['python']} on {result['machine']}, {args.buckets} buckets, median of {args.runs} runs")
    print(f"{'detector':28} {'day/night upd/s':>16} {'busy upd/s':>12} {'pickle B':>9}")
    for name in list(DETECTORS) + ["separate detectors side by side", WHOLE_SET]:
        size = result["memory"]["pickle_bytes"].get(name, sum(result["memory"]["pickle_bytes"][n] for n in SEPARATE))
        print(f"{name:28} {result['day_night'][name]:16,.0f} {result['busy'][name]:12,.0f} {size:9,d}")
    print(f"CopyPasteCampaign: {result['copy_paste_texts_per_second']:,.0f} texts/s (score+learn, 20 texts per bucket), "
          f"pickle {result['memory']['pickle_bytes']['CopyPasteCampaign']} B")
    m = result["memory"]
    print(f"{m['scopes']:,} scopes, one ScopeStormScorer each: {m['tracemalloc_bytes_total'] / 2**20:,.1f} MiB (tracemalloc), "
          f"{m['bytes_per_scope']:,.0f} B per scope")


if __name__ == "__main__":
    main()
