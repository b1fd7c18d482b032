"""End to end: `stormwatch backtest` on the bundled demo stream, and on broken input."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.demo.generate import benign_episodes, episodes
from monitor.timeutil import parse_utc

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "demo.yaml"
DEMO_STREAM = ROOT / "monitor" / "demo" / "stream.jsonl"
REQUIRED = {"event", "at", "scope", "level", "playbook", "playbook_url", "owners", "reason", "signals"}


def _backtest(tmp_path, input_path, *extra):
    out = tmp_path / "alerts.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "backtest", "--config", str(DEMO_CONFIG), "--input", str(input_path),
         "--out", str(out), *extra],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()], result.stderr


@pytest.fixture(scope="module")
def demo_events(tmp_path_factory):
    events, _ = _backtest(tmp_path_factory.mktemp("bt"), DEMO_STREAM)
    return events


def test_events_follow_the_contract(demo_events):
    assert demo_events, "the demo must raise alerts"
    for event in demo_events:
        assert REQUIRED <= set(event)
        assert event["event"] in {"opened", "updated", "escalated", "resolved"}
        assert 0 <= event["level"] <= 6
        assert event["playbook_url"].endswith("/playbooks/" + event["playbook"])
        assert isinstance(event["owners"], list) and event["owners"]
        parse_utc(event["at"])
        assert "author" not in json.dumps(event["samples"])
    times = [parse_utc(e["at"]) for e in demo_events]
    assert times == sorted(times)


def test_each_episode_alerts_once_early_with_its_own_playbook(demo_events):
    opened = [e for e in demo_events if e["event"] == "opened"]
    expected_playbooks = {"shitstorm": {"empoerungswelle", "hassrede"}, "question_surge": {"grosslage"}}
    for episode in episodes():
        onset, end = parse_utc(episode["onset"]), parse_utc(episode["end"])
        inside = [e for e in opened if e["scope"] == episode["scope"] and onset <= parse_utc(e["at"]) <= end]
        assert len(inside) == 1, (episode, inside)
        alert = inside[0]
        assert alert["kind"] == episode["kind"]
        assert alert["playbook"] in expected_playbooks[episode["kind"]]
        # early: a storm that builds over hours is caught at least an hour before its peak,
        # a sudden question surge within the first hour
        at, peak = parse_utc(alert["at"]), parse_utc(episode["peak"])
        if episode["kind"] == "shitstorm":
            assert at < peak - timedelta(hours=1), alert["at"]
        else:
            assert at < peak and at - onset <= timedelta(hours=1), alert["at"]
        resolved = [e for e in demo_events if e["event"] == "resolved" and e["alert_id"] == alert["alert_id"]]
        assert len(resolved) <= 1


def test_no_alert_outside_the_episodes(demo_events):
    windows = [(e["scope"], parse_utc(e["onset"]), parse_utc(e["end"]) + timedelta(hours=2)) for e in episodes()]
    stray = [
        e for e in demo_events if e["event"] == "opened"
        and not any(e["scope"] == s and a <= parse_utc(e["at"]) <= b for s, a, b in windows)
    ]
    assert stray == []
    for benign in benign_episodes():
        onset, end = parse_utc(benign["onset"]), parse_utc(benign["end"])
        assert not [e for e in demo_events if e["scope"] == benign["scope"] and e["event"] == "opened"
                    and onset <= parse_utc(e["at"]) <= end and e["kind"] != "shitstorm"]


def test_backtest_survives_broken_lines_and_reports_them(tmp_path):
    lines = DEMO_STREAM.read_text(encoding="utf-8").splitlines()[:400]
    broken = tmp_path / "broken.jsonl"
    bad = ['{"platform": "facebook"', '{"platform": "x", "id": 1, "created_at": "gestern", "text": "a"}', "[1, 2]"]
    broken.write_bytes(
        ("\n".join(lines[:100] + bad + lines[100:]) + "\n").encode("utf-8") + b'{"text": "\xff"}\n'
    )
    events, stderr = _backtest(tmp_path, broken)
    assert "400 mentions, 4 rejected" in stderr
    assert f"rejected {broken}:101: invalid JSON" in stderr
    assert f"rejected {broken}:102: created_at: not an ISO 8601 time" in stderr
    assert f"rejected {broken}:103: expected a JSON object" in stderr
    assert f"rejected {broken}:404: not UTF-8" in stderr
    kept = [json.loads(line) for line in (tmp_path / "alerts.jsonl.rejected.jsonl").read_text().splitlines()]
    assert [r["line"] for r in kept] == [101, 102, 103, 404]
    assert kept[0]["raw"].startswith('{"platform": "facebook"')


def test_undeclared_scopes_get_defaults_and_missing_scope_is_default(tmp_path):
    rows = [json.loads(line) for line in DEMO_STREAM.read_text(encoding="utf-8").splitlines()]
    renamed = tmp_path / "renamed.jsonl"
    with renamed.open("w", encoding="utf-8") as out:
        for row in rows:
            row["scope"] = "landkreis-" + row["scope"]  # none of these are declared in the config
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    events, _ = _backtest(tmp_path, renamed)
    assert {e["scope"] for e in events if e["event"] == "opened"} >= {"landkreis-stadt-birkenfelde"}


def test_a_stream_concatenated_per_platform_gives_the_same_alerts(tmp_path, demo_events):
    rows = [json.loads(line) for line in DEMO_STREAM.read_text(encoding="utf-8").splitlines()]
    by_platform = sorted(rows, key=lambda r: r["platform"])  # as if one export file per platform were joined
    shuffled = tmp_path / "per_platform.jsonl"
    shuffled.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in by_platform), encoding="utf-8")
    events, _ = _backtest(tmp_path, shuffled)
    assert [(e["event"], e["at"], e["scope"], e["level"]) for e in events] == [
        (e["event"], e["at"], e["scope"], e["level"]) for e in demo_events
    ]
