"""NAB scoring (Lavin & Ahmad 2015) implemented from the paper, and stormwatch's detect-series measured with it."""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

NAB_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "nab"
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
# NAB's cost matrices (config/profiles.json); kept here too so the unit tests need no data files
DEFAULT_COSTS = {
    "standard": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11},
    "reward_low_FP_rate": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22},
    "reward_low_FN_rate": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11},
}
PROBATION_SHARE = 0.15
PROBATION_MAX_ROWS = 750  # 15 % of 5000 rows: long files do not get a longer warm-up


def scaled_sigmoid(position: float) -> float:
    """NAB's weighting of a detection by its position relative to a window's right edge.

    -1 is the window's left edge (0.987), 0 its right edge (0), positive values lie after the window and
    fall toward -1; from 3 window-lengths on it is exactly -1.
    """
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)  # a detection at the very left edge is worth exactly tpWeight after dividing by this


def probation_length(n_rows: int) -> int:
    return min(math.floor(PROBATION_SHARE * n_rows), PROBATION_MAX_ROWS)


def parse_time(text: str | datetime) -> datetime:
    if isinstance(text, datetime):
        moment = text
    else:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass
class FileScore:
    """Profile-independent parts of one file's score; `raw(profile)` applies a cost matrix."""

    name: str
    windows: int = 0  # windows that reach past the probationary period (only these are scored)
    tp_parts: list[float] = field(default_factory=list)  # per detected window: sigmoid weight / MAX_TP
    fp_parts: list[float] = field(default_factory=list)  # per false positive: unweighted (negative) sigmoid
    delays_min: list[float] = field(default_factory=list)  # window start -> first detection, minutes
    label_delays_min: list[float] = field(default_factory=list)  # labelled anomaly -> first detection
    scored_seconds: float = 0.0

    @property
    def detected(self) -> int:
        return len(self.tp_parts)

    @property
    def false_positives(self) -> int:
        return len(self.fp_parts)

    def raw(self, costs: dict[str, float]) -> float:
        missed = self.windows - self.detected
        return (costs["tpWeight"] * sum(self.tp_parts) + costs["fpWeight"] * sum(self.fp_parts)
                - costs["fnWeight"] * missed)


def score_file(
    timestamps: Sequence[str | datetime],
    detections: Sequence[bool],
    windows: Sequence[Sequence[str | datetime]],
    name: str = "",
    labels: Sequence[str | datetime] = (),
) -> FileScore:
    """Score one file's binary detections against its anomaly windows, NAB's way.

    Rows in the probationary period count for nothing (neither detections nor misses). In a window only
    the earliest detection counts, weighted by its position; outside windows every detection is a false
    positive, weighted by its distance after the preceding window (full cost before the first window).
    """
    if len(timestamps) != len(detections):
        raise ValueError("timestamps and detections differ in length")
    times = [parse_time(t) for t in timestamps]
    n = len(times)
    probation = probation_length(n)
    result = FileScore(name)
    if n > probation:
        result.scored_seconds = (times[-1] - times[probation]).total_seconds()
    # windows as row index ranges; positions are measured in rows, as in NAB, not in time
    spans = []
    for start, end in sorted((parse_time(a), parse_time(b)) for a, b in windows):
        inside = [i for i, t in enumerate(times) if start <= t <= end]
        if inside:
            spans.append((inside[0], inside[-1], start))
    label_times = sorted(parse_time(t) for t in labels)
    owner = [-1] * n
    for w, (left, right, _) in enumerate(spans):
        for i in range(left, right + 1):
            owner[i] = w
    result.windows = sum(1 for _, right, _ in spans if right >= probation)
    found = set()
    for i in range(probation, n):
        if not detections[i]:
            continue
        w = owner[i]
        if w >= 0:
            if w in found:
                continue  # later detections in the same window earn nothing and cost nothing
            found.add(w)
            left, right, start = spans[w]
            width = right - left + 1
            result.tp_parts.append(scaled_sigmoid(-(right - i + 1) / width) / MAX_TP)
            result.delays_min.append((times[i] - start).total_seconds() / 60)
            in_window = [t for t in label_times if times[left] <= t <= times[right]]
            if in_window:
                result.label_delays_min.append((times[i] - in_window[0]).total_seconds() / 60)
            continue
        before = [s for s in spans if s[1] < i]
        if not before:
            position = 3.0
        else:
            left, right, _ = before[-1]
            position = (i - right) / max(right - left, 1)  # NAB divides by (width - 1)
        result.fp_parts.append(scaled_sigmoid(position))
    return result


def normalised(scores: Sequence[FileScore], costs: dict[str, float]) -> float | None:
    """100 * (raw - null) / (perfect - null) over a set of files; None without windows (undefined)."""
    windows = sum(s.windows for s in scores)
    if windows == 0:
        return None
    null = -costs["fnWeight"] * windows
    perfect = costs["tpWeight"] * windows
    return 100.0 * (sum(s.raw(costs) for s in scores) - null) / (perfect - null)


def summary(scores: Sequence[FileScore], costs_by_profile: dict[str, dict[str, float]]) -> dict:
    windows = sum(s.windows for s in scores)
    detected = sum(s.detected for s in scores)
    weeks = sum(s.scored_seconds for s in scores) / (7 * 86400)
    fps = sum(s.false_positives for s in scores)
    delays = [d for s in scores for d in s.delays_min]
    label_delays = [d for s in scores for d in s.label_delays_min]
    out = {p: normalised(scores, c) for p, c in costs_by_profile.items()}
    out.update(
        files=len(scores), windows=windows, detected=detected,
        recall=detected / windows if windows else None,
        false_positives=fps, stream_weeks=weeks, fp_per_week=fps / weeks if weeks else None,
        delay_median_min=statistics.median(delays) if delays else None,
        label_delay_median_min=statistics.median(label_delays) if label_delays else None,
    )
    return out


# -- running stormwatch on the corpus -------------------------------------------------------------------------

def load_costs(nab_dir: Path) -> dict[str, dict[str, float]]:
    path = nab_dir / "config" / "profiles.json"
    if not path.exists():
        return DEFAULT_COSTS
    data = json.loads(path.read_text())
    return {p: data[p]["CostMatrix"] for p in PROFILES}


def run_detector(path: Path) -> tuple[list[str], list[float]]:
    """The same code path as `stormwatch detect-series FILE`: read_series, then detect_series."""
    from monitor.series import detect_series, read_series

    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = [item[1:] for item in read_series(handle, str(path)) if len(item) != 2]
    stamps, scores = [], []
    for stamp, _value, score in detect_series(rows):
        stamps.append(stamp)
        scores.append(score)
    return stamps, scores


def _fmt(value, spec=".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def table(rows: dict[str, dict]) -> str:
    head = ("| set | files | standard | low FP | low FN | windows | recall | FPs | FP / stream-week | "
            "median delay from window start (min) | median delay from label (min) |")
    lines = [head, "|" + "---|" * 11]
    for name, s in rows.items():
        lines.append(
            f"| {name} | {s['files']} | {_fmt(s['standard'])} | {_fmt(s['reward_low_FP_rate'])} | "
            f"{_fmt(s['reward_low_FN_rate'])} | {s['windows']} | {s['detected']}/{s['windows']} | "
            f"{s['false_positives']} | {_fmt(s['fp_per_week'], '.2f')} | {_fmt(s['delay_median_min'], '.0f')} | "
            f"{_fmt(s['label_delay_median_min'], '.0f')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nab", type=Path, default=NAB_DIR, help="NAB folder with data/, labels/, config/")
    parser.add_argument("--threshold", type=float, default=0.5, help="fixed for all files: score >= threshold")
    parser.add_argument("--per-file", action="store_true", help="also print one row per file")
    parser.add_argument("--sweep", action="store_true",
                        help="also show NAB's own practice (best global threshold per profile): in-sample, info only")
    args = parser.parse_args(argv)
    costs = load_costs(args.nab)
    windows = json.loads((args.nab / "labels" / "combined_windows.json").read_text())
    labels = json.loads((args.nab / "labels" / "combined_labels.json").read_text())
    started = time.perf_counter()
    runs = {}
    for path in sorted((args.nab / "data").glob("*/*.csv")):
        key = f"{path.parent.name}/{path.name}"
        runs[key] = run_detector(path)
    elapsed = time.perf_counter() - started

    def score_all(threshold: float) -> dict[str, FileScore]:
        return {k: score_file(st, [s >= threshold for s in sc], windows.get(k, []), k, labels.get(k, []))
                for k, (st, sc) in runs.items()}

    scores = score_all(args.threshold)
    rows = {}
    for category in sorted({k.split("/")[0] for k in scores}):
        rows[category] = summary([s for k, s in scores.items() if k.startswith(category + "/")], costs)
    rows["**all**"] = summary(list(scores.values()), costs)
    print(f"threshold: anomaly_score >= {args.threshold} (fixed, all files); "
          f"{sum(len(r[0]) for r in runs.values())} points in {elapsed:.1f} s\n")
    print(table(rows))
    if args.per_file:
        print()
        print(table({k: summary([s], costs) for k, s in scores.items()}))
    if args.sweep:
        print("\nbest global threshold per profile (NAB's practice; in-sample, for comparison only):")
        for profile, cost in costs.items():
            best = max((normalised(list(score_all(t / 100).values()), cost), t / 100) for t in range(5, 100, 5))
            print(f"  {profile}: {best[0]:.1f} at threshold {best[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
