"""SeasonalVolume (counts mode) speed: the current class against the original one kept in tests/test_seasonal.py.

Usage: PYTHONPATH=. python benchmarks/nab_seasonal_speed.py [--buckets 20000] [--runs 5]

Same streams and the same update as benchmarks/detector_speed.py (score_one, then learn_one, per 5-minute
bucket of one scope, fresh detector per run). Old and new runs alternate, so machine noise hits both alike;
reports the median of --runs updates per second for each. (Named nab_* only for the file ownership rules.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.detector_speed import make_stream  # noqa: E402
from detectors.seasonal import SeasonalVolume  # noqa: E402
from test_seasonal import ReferenceSeasonalVolume  # noqa: E402


def _seconds(cls, stream: list[dict]) -> float:
    detector = cls(interval_seconds=300)
    started = time.perf_counter()
    for x in stream:
        detector.score_one(x)
        detector.learn_one(x)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--buckets", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    for label, busy in (("day/night", False), ("busy", True)):
        stream = make_stream(args.buckets, busy)
        old, new = [], []
        for _ in range(args.runs):
            old.append(_seconds(ReferenceSeasonalVolume, stream))
            new.append(_seconds(SeasonalVolume, stream))
        o, n = len(stream) / statistics.median(old), len(stream) / statistics.median(new)
        print(f"{label}: original {o:,.0f} updates/s, now {n:,.0f} updates/s (x{n / o:.2f}), "
              f"median of {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
