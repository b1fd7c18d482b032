"""False alarms of detect-series on synthetic mention-count series (a stand-in for NAB's held-out realTweets).

Usage: PYTHONPATH=. python benchmarks/nab_synthetic_counts.py [--streams 12] [--weeks 8]

Each stream: 5-minute counts with a day-night rhythm, weekday/weekend levels, slow drift of the level and
overdispersed (gamma-Poisson) noise, at volumes from ~1 to ~200 mentions per bucket. Half the streams get one
burst (x4-x10 the expected count for 1-3 hours) per two weeks. Reported: false alarms per stream-week
outside bursts (after NAB's probation), and the share of bursts detected within 2 hours of their start.
Not used to choose any setting; a sanity check of how the NAB-chosen settings behave on count-like data.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.nab import probation_length  # noqa: E402
from monitor.series import ALERT_SCORE, detect_series  # noqa: E402
from monitor.demo.sampling import poisson  # noqa: E402

T0 = datetime(2015, 2, 26, tzinfo=timezone.utc)


def make_stream(seed: int, weeks: int, bursts: bool):
    rng = random.Random(seed)
    base = math.exp(rng.uniform(math.log(1.0), math.log(200.0)))
    shape = rng.uniform(2.0, 20.0)  # gamma shape: smaller = more overdispersed
    n = weeks * 7 * 288
    burst_at = set()
    starts = []
    if bursts:
        for start in range(2 * 288 * 7 // 2, n, 288 * 14):
            s = start + rng.randrange(0, 288 * 7)
            length = rng.randrange(12, 37)
            starts.append(s)
            burst_at.update(range(s, min(s + length, n)))
    rows, drift = [], 0.0
    for i in range(n):
        t = T0 + timedelta(minutes=5 * i)
        drift += rng.gauss(0, 0.002)
        day = 0.35 + 0.65 * math.sin(math.pi * ((t.hour * 60 + t.minute) / 1440)) ** 2
        week = 0.7 if t.weekday() >= 5 else 1.0
        lam = base * day * week * math.exp(drift)
        if i in burst_at:
            lam *= rng.uniform(4.0, 10.0)
        lam *= rng.gammavariate(shape, 1.0 / shape)
        rows.append((t.strftime("%Y-%m-%d %H:%M:%S"), t, float(poisson(rng, lam))))
    return rows, burst_at, starts


_STREAMS: dict[tuple[int, int], list] = {}


def streams(count: int, weeks: int) -> list:
    key = (count, weeks)
    if key not in _STREAMS:
        _STREAMS[key] = [make_stream(seed, weeks, bursts=seed % 2 == 1) for seed in range(count)]
    return _STREAMS[key]


def evaluate(config: dict, count: int = 12, weeks: int = 8) -> dict:
    """False alarms per scored stream-week and bursts found within 2 h, for one detect-series configuration."""
    refractory = config["refractory_hours"] * 3600 if "refractory_hours" in config else None
    fps, scored_weeks, found, total = 0, 0.0, 0, 0
    for rows, _burst_at, starts in streams(count, weeks):
        hits = [score >= ALERT_SCORE for _, _, score in detect_series(
            rows, refractory, score_settings=config.get("scoring"), **config.get("seasonal", {}))]
        probation = probation_length(len(rows))
        near = set()
        for s in starts:
            near.update(range(s, s + 24 + 36))  # the burst and 2 h after it: not a false alarm
        fps += sum(1 for i in range(probation, len(rows)) if hits[i] and i not in near)
        scored_weeks += (len(rows) - probation) / (288 * 7)
        for s in starts:
            if s >= probation:
                total += 1
                found += any(hits[s:s + 24])
    return {"false_alarms": fps, "weeks": scored_weeks, "fp_per_week": fps / scored_weeks,
            "bursts_found": found, "bursts": total}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=12)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--config", type=json.loads, default={},
                        help="settings to try instead of the shipped ones, as printed by nab_tune.py")
    args = parser.parse_args(argv)
    r = evaluate(args.config, args.streams, args.weeks)
    print(f"{args.streams} streams, {r['weeks']:.1f} scored stream-weeks: {r['false_alarms']} false alarms "
          f"({r['fp_per_week']:.2f} per stream-week); bursts detected within 2 h: {r['bursts_found']}/{r['bursts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
