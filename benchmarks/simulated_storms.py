"""Detection per storm shape on simulated streams (monitor.demo.simulate): recall, kind, lead time, false alerts.

Usage: python benchmarks/simulated_storms.py [--seeds 3] [--out benchmarks/SIMULATED_RESULTS.md]
Every shape and seed is replayed through the whole pipeline (run_backtest) with config/demo.yaml settings;
the `during_planned_event` stream gets its live stream declared as a planned event, as a deployment would.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import PlannedEvent, Settings, load_settings  # noqa: E402
from monitor.demo.generate import write_jsonl  # noqa: E402
from monitor.demo.simulate import SHAPES, SIM_START, simulate  # noqa: E402
from monitor.replay import replay  # noqa: E402
from monitor.timeutil import parse_utc  # noqa: E402

BUCKET_SECONDS = 300  # config/demo.yaml's bucket_minutes
GRACE = timedelta(hours=2)  # as benchmarks/detection_quality.py: an alert this long after the end still belongs
NO_PLAN = "during_planned_event (not declared)"  # the same streams without the planned event: what it buys


def settings_for(base: Settings, episodes: list[dict], declare: bool = True) -> Settings:
    events = [e["planned_event"] for e in episodes if "planned_event" in e]
    if not events or not declare:
        return base
    planned = [PlannedEvent(name=e["name"], scopes=e["scopes"], start=parse_utc(e["start"]), end=parse_utc(e["end"]),
                            expected_volume_factor=e["expected_volume_factor"]) for e in events]
    return base.model_copy(update={"planned_events": planned})


def match(events: list[dict], truth: list[dict], warm: datetime, hostile_3x: list[tuple[str, datetime]] = ()) -> dict:
    """One opened alert counts for at most one episode (earliest onset first), so an alert that is already
    open does not count twice for two overlapping storms; `covered` says an alert was open anyway."""
    opened = [e for e in events if e["event"] == "opened"]
    closed = {e["alert_id"]: parse_utc(e["at"]) for e in events if e["event"] == "resolved"}
    used: set[int] = set()
    used_at: dict[str, datetime] = {}
    out = {"episodes": len(truth), "detected": 0, "escalation_only": 0, "covered": 0, "right_kind": 0, "leads": [], "after_3x": [], "buckets_after_seen_3x": [],
           "hostile_on_benign": 0, "false_alerts": 0, "false_after_week_1": 0}
    for episode in sorted(truth, key=lambda e: e["onset"]):
        onset, end, peak = parse_utc(episode["onset"]), parse_utc(episode["end"]), parse_utc(episode["peak"])
        inside = [(i, e) for i, e in enumerate(opened)
                  if e["scope"] == episode["scope"] and onset <= parse_utc(e["at"]) <= end + GRACE]
        if episode["kind"] != "shitstorm":
            out["hostile_on_benign"] += sum(1 for _, e in inside if e["kind"] == "shitstorm")
        hits = [(i, e) for i, e in inside if i not in used]
        # the first bucket in which the detector itself saw 3x its seasonal baseline with a raised negative share
        seen_3x = min((t for scope, t in hostile_3x if scope == episode["scope"] and onset <= t <= end), default=None)
        if hits:
            i, first = hits[0]
            used.add(i)
            used_at[first["alert_id"]] = parse_utc(first["at"])
            out["detected"] += 1
            out["covered"] += 1
            out["right_kind"] += first["kind"] == episode["kind"]
            out["leads"].append((parse_utc(first["at"]) - onset).total_seconds() / 60)
            if episode.get("over_3x"):  # negative: the alert came before the volume reached 3x
                out["after_3x"].append((parse_utc(first["at"]) - parse_utc(episode["over_3x"])).total_seconds() / 60)
            if episode["kind"] == "shitstorm" and seen_3x is not None:
                out["buckets_after_seen_3x"].append(round((parse_utc(first["at"]) - seen_3x).total_seconds() / BUCKET_SECONDS))
        elif any(e["scope"] == episode["scope"] and parse_utc(e["at"]) < peak
                 and closed.get(e["alert_id"], end + GRACE) > onset for e in opened):
            out["covered"] += 1  # an earlier alert on the scope was still open while this one rose
            # the open alert escalated while this episode rose: the team heard of it (the escalation cannot
            # tell which storm drove it, so this is an upper bound for overlapping storms)
            out["escalation_only"] += any(
                e["event"] == "escalated" and e["scope"] == episode["scope"]
                and onset <= parse_utc(e["at"]) <= end + GRACE and parse_utc(e["at"]) > used_at.get(e["alert_id"], onset)
                for e in events)
    for i, e in enumerate(opened):
        # a second alert inside a storm's window is noise for the on-call person but not a false alarm
        inside_any = any(e["scope"] == ep["scope"] and parse_utc(ep["onset"]) <= parse_utc(e["at"])
                         <= parse_utc(ep["end"]) + GRACE for ep in truth)
        false = i not in used and not inside_any
        out["false_alerts"] += false
        # the first week is the baselines' warm-up; a deployment would seed them from history instead
        out["false_after_week_1"] += false and parse_utc(e["at"]) >= warm
    return out


def hostile_surge(assessment, settings: Settings) -> bool:
    """The detector's own view of the issue's yardstick: its 15-minute window at 3x the seasonal baseline with
    a raised negative share (at least the floor and the scope's usual share plus the lift)."""
    s = assessment.signals
    if s.get("volume_ratio", 0.0) < 3.0:
        return False
    detection = settings.detection_for(assessment.scope)
    raised = max(detection.negative_share_min, s.get("usual_negative_share", 1.0) + detection.negative_share_lift)
    return s.get("negative_share", 0.0) >= raised


def scope_weeks(rows: list[dict]) -> float:
    first, last = parse_utc(rows[0]["created_at"]), parse_utc(rows[-1]["created_at"])
    return len({r["scope"] for r in rows}) * (last - first).total_seconds() / (7 * 86400)


def run(seeds: int) -> dict[str, dict]:
    base = load_settings(ROOT / "config" / "demo.yaml")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "stream.jsonl"
        for shape in (*SHAPES, NO_PLAN):
            total = {"episodes": 0, "detected": 0, "escalation_only": 0, "covered": 0, "right_kind": 0, "leads": [], "after_3x": [], "buckets_after_seen_3x": [],
                     "false_alerts": 0, "false_after_week_1": 0, "hostile_on_benign": 0,
                     "scope_weeks": 0.0, "mentions": 0, "runs": 0}
            for seed in range(1, seeds + 1):
                rows, truth = simulate("during_planned_event" if shape == NO_PLAN else shape, seed=seed)
                write_jsonl(rows, stream)
                settings = base if shape == NO_PLAN else settings_for(base, truth)
                events, hostile_3x = [], []
                replay(settings, stream, database_url="sqlite://", on_event=lambda e: events.append(e.to_json()),
                       on_bucket=lambda _closed, a: hostile_3x.append((a.scope, a.at)) if hostile_surge(a, settings) else None)
                scored = match(events, truth, parse_utc(SIM_START) + timedelta(days=7), hostile_3x)
                for key, value in scored.items():
                    total[key] += value
                total["scope_weeks"] += scope_weeks(rows)
                total["mentions"] += len(rows)
                total["runs"] += 1
            results[shape] = total
    return results


LEGEND = """Each shape: seeds 1..N, one scope (`stadt-sim`, ~300 calm mentions a day), 14 days from Monday
2026-03-02; the episode lies in the second week, the first week is the baselines' warm-up. Settings:
config/demo.yaml (open at level 3); `during_planned_event` declares the live stream (18:00-21:00, 3x) as a
planned event, the `(not declared)` row replays the same streams without it.

- detected (own alert): an alert opened between onset and end + 2 h; one alert counts for one episode only.
- notified: detected, or the scope's open alert sent an escalation (new level, new kind, new wave after a
  calm half hour, or volume doubled since the last report) between the episode's onset and end + 2 h and
  after that alert was counted for an earlier episode; an upper bound, since an escalation does not say
  which of two overlapping storms drove it.
- covered: detected, or an earlier alert on the scope was still open while the episode rose.
- right kind: the first alert's kind equals the episode's (shitstorm, question_surge, candystorm).
- lead: minutes from the episode's onset (first extra mention) to that alert.
- alert after 3x volume: minutes from the start of the first 5-minute bucket whose expected volume is 3x the
  volume expected without the episode (calm rhythm plus a planned event) to the alert, which is stamped with
  the end of the bucket that raised it: 5 = in that bucket, 10 = one bucket later, 15 = two buckets later.
- within 2 buckets: alerts at most two buckets after that bucket (<= 15 min), the issue's target for storms
  with a raised negative share (Shitstorm shapes; shown for the others too). This yardstick is the
  generator's expected volume, which a detector cannot see: at night 3x is 2-3 mentions per bucket.
- buckets after the detector saw 3x + hostile: for Shitstorm episodes, buckets from the first bucket whose
  15-minute window the detector itself measured at >= 3x its seasonal baseline with a raised negative share
  (>= max(negative_share_min, usual + negative_share_lift)) to the alert's bucket (0 = the same bucket).
- false alerts: opened alerts outside every episode window (+2 h); per scope-week over all 14 days, and in
  brackets counting only the second week (after warm-up).
"""


def table(results: dict[str, dict]) -> str:
    header = ("| shape | episodes | detected (own alert) | notified (alert or escalation) | covered | right kind | lead median (min) | leads (min) "
              "| alert after 3x volume (min, median) | within 2 buckets | buckets after the detector saw 3x + hostile "
              "(median; within 2) | false alerts (week 2 only) | false alerts / scope-week "
              "(week 2 only) | Shitstorm alerts on benign kinds |")
    lines = [header,
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for shape, r in results.items():
        n = r["episodes"]
        recall = f"{r['detected']}/{n} ({r['detected'] / n:.0%})" if n else "–"
        covered = f"{r['covered']}/{n}" if n else "–"
        notified = f"{r['detected'] + r['escalation_only']}/{n}" if n else "–"
        kind = f"{r['right_kind']}/{r['detected']}" if r["detected"] else "–"
        leads = sorted(round(x) for x in r["leads"])
        median = f"{statistics.median(leads):.0f}" if leads else "–"
        after = f"{statistics.median(r['after_3x']):.0f}" if r["after_3x"] else "–"
        within = f"{sum(m <= 15 for m in r['after_3x'])}/{len(r['after_3x'])}" if r["after_3x"] else "–"
        seen = r["buckets_after_seen_3x"]
        seen_3x = f"{statistics.median(seen):.0f}; {sum(b <= 2 for b in seen)}/{len(seen)}" if seen else "–"
        weeks = r["scope_weeks"] or 1.0
        late_weeks = max(weeks - r["runs"], 1e-9)  # one scope per run: minus one warm-up week each
        lines.append(f"| {shape} | {n} | {recall} | {notified} | {covered} | {kind} | {median} | {leads or '–'} | {after} | {within} | {seen_3x} "
                     f"| {r['false_alerts']} ({r['false_after_week_1']}) "
                     f"| {r['false_alerts'] / weeks:.2f} ({r['false_after_week_1'] / late_weeks:.2f}) "
                     f"| {r['hostile_on_benign']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()
    results = run(args.seeds)
    md = table(results)
    print(md)
    if args.out:
        command = f"PYTHONPATH=. python benchmarks/simulated_storms.py --seeds {args.seeds} --out {args.out}"
        args.out.write_text(f"# Simulated storms: detection per shape\n\nCommand: `{command}`\n\n{md}\n\n{LEGEND}",
                            encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
