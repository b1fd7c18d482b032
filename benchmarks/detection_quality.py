"""Detection quality on replayed streams: recall per episode, lead time, false alerts per scope-week.

Usage: python benchmarks/detection_quality.py [--seeds 3] [--mentions 60000] [--daily 150]
Runs the whole pipeline (backtest) on the bundled demo week and on synthetic streams with known episodes
(monitor.demo.generate), and matches every opened alert against the ground truth.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_settings  # noqa: E402
from monitor.demo.generate import episodes, synthetic_episodes, synthetic_stream, write_jsonl  # noqa: E402
from monitor.replay import run_backtest  # noqa: E402
from monitor.timeutil import parse_utc  # noqa: E402

GRACE = timedelta(hours=2)  # an alert this long after an episode's end still belongs to it


def score(events: list[dict], truth: list[dict], scope_weeks: float) -> dict:
    opened = [e for e in events if e["event"] == "opened"]
    matched: set[int] = set()
    found, leads, kinds_ok = 0, [], 0
    for episode in truth:
        onset, end = parse_utc(episode["onset"]), parse_utc(episode["end"])
        hits = [
            (i, e) for i, e in enumerate(opened)
            if e["scope"] == episode["scope"] and onset <= parse_utc(e["at"]) <= end + GRACE
        ]
        matched.update(i for i, _ in hits)
        if hits:
            found += 1
            first = hits[0][1]
            leads.append((parse_utc(first["at"]) - onset).total_seconds() / 60)
            kinds_ok += first["kind"] == episode["kind"]
    false_alerts = len(opened) - len(matched)
    return {
        "episodes": len(truth),
        "detected": found,
        "right_kind": kinds_ok,
        "minutes_from_onset": sorted(round(x) for x in leads),
        "false_alerts": false_alerts,
        "false_alerts_per_scope_week": round(false_alerts / scope_weeks, 3) if scope_weeks else None,
        "alerts_opened": len(opened),
    }


def _scope_weeks(rows_path: Path) -> float:
    first = last = None
    scopes = set()
    with rows_path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            scopes.add(row.get("scope"))
            t = parse_utc(row["created_at"])
            first = t if first is None or t < first else first
            last = t if last is None or t > last else last
    return len(scopes) * ((last - first).total_seconds() / (7 * 86400)) if first else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--mentions", type=int, default=60_000)
    parser.add_argument("--scopes", type=int, default=20)
    parser.add_argument("--daily", type=float, default=150.0)
    args = parser.parse_args()
    settings = load_settings(ROOT / "config" / "demo.yaml")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "alerts.jsonl"
        demo = ROOT / "monitor" / "demo" / "stream.jsonl"
        run_backtest(settings, demo, out)
        events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        results["demo"] = score(events, episodes(), _scope_weeks(demo))
        for seed in range(1, args.seeds + 1):
            stream = Path(tmp) / f"synthetic-{seed}.jsonl"
            options = dict(n_scopes=args.scopes, seed=seed, daily=args.daily, storms=4)
            write_jsonl(synthetic_stream(args.mentions, **options), stream)
            run_backtest(settings, stream, out)
            events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
            results[f"synthetic seed {seed}"] = score(
                events, synthetic_episodes(args.mentions, **options), _scope_weeks(stream)
            )
    for name, result in results.items():
        print(json.dumps({"stream": name, **result}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
