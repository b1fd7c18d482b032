"""Backtest throughput: mentions per second through the whole chain (parse, normalise, classify, store, detect).

Usage: python benchmarks/throughput.py [--mentions 100000] [--runs 3] [--daily 150] [--database sqlite://]
Prints one JSON line per run and a summary with the median; record the summary in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_settings  # noqa: E402
from monitor.demo.generate import synthetic_stream, write_jsonl  # noqa: E402
from monitor.replay import run_backtest  # noqa: E402


def _stage_profile(path: Path, n: int) -> dict[str, float]:
    """Seconds per stage on the first n records, to see where the time goes (one pass, not a median)."""
    from monitor.collectors import read_records
    from monitor.enrich import Enricher
    from monitor.normalise import Pseudonymiser, normalise
    from monitor.storage import Store

    t = time.perf_counter()
    records = [r for _, r in zip(range(n), read_records(path))]
    read = time.perf_counter() - t
    pseudo = Pseudonymiser(b"benchmark-key-0123456789")
    t = time.perf_counter()
    mentions = [normalise(r.payload, pseudonymiser=pseudo, default_scope="default") for r in records]
    norm = time.perf_counter() - t
    enricher = Enricher.load()
    t = time.perf_counter()
    enricher.enrich(mentions)
    classify = time.perf_counter() - t
    store = Store.open("sqlite://")
    t = time.perf_counter()
    for i in range(0, len(mentions), 5000):
        store.insert_mentions(mentions[i : i + 5000])
    insert = time.perf_counter() - t
    store.close()
    return {"read_json": read, "normalise": norm, "classify": classify, "store": insert}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scopes", type=int, default=20)
    parser.add_argument("--daily", type=float, default=150.0,
                        help="calm mentions per scope and day: 150 = small accounts (about two empty 5-minute "
                             "buckets per mention), 2000 = busy accounts")
    parser.add_argument("--database", default="sqlite://", help="SQLAlchemy URL (default: in-memory SQLite)")
    parser.add_argument("--config", default=str(ROOT / "config" / "demo.yaml"))
    args = parser.parse_args()

    settings = load_settings(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "stream.jsonl"
        write_jsonl(synthetic_stream(args.mentions, n_scopes=args.scopes, seed=1, daily=args.daily), stream)
        rates = []
        for run in range(args.runs):
            database = args.database
            if database == "sqlite-file":
                database = f"sqlite:///{tmp}/run{run}.db"
            result = run_backtest(settings, stream, Path(tmp) / "alerts.jsonl", database_url=database)
            events = sum(1 for _ in open(Path(tmp) / "alerts.jsonl", encoding="utf-8"))
            rates.append(result.mentions_per_second)
            print(json.dumps({"run": run, "mentions": result.stats.records, "seconds": round(result.seconds, 2),
                              "mentions_per_second": round(result.mentions_per_second), "alert_events": events}))
        stages = _stage_profile(stream, min(args.mentions, 20_000))
    summary = {
        "mentions": args.mentions,
        "scopes": args.scopes,
        "daily_per_scope": args.daily,
        "database": args.database,
        "runs": args.runs,
        "median_mentions_per_second": round(statistics.median(rates)),
        "min": round(min(rates)),
        "max": round(max(rates)),
        "stage_seconds_per_20k": {k: round(v, 3) for k, v in stages.items()},
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
