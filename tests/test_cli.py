"""The command-line contract, run as a user would: `python -m monitor.cli ...` in a subprocess."""

import csv
import io
import json
import math
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NAB = ROOT.parent / "shared" / "data" / "nab" / "data"


def _cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args], input=stdin, capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300,
    )


def _series(tmp_path, spike_at=1500, bad_line=False):
    path = tmp_path / "series.csv"
    start = datetime(2014, 4, 1)
    lines = ["timestamp,value"]
    for i in range(2000):
        t = start + timedelta(minutes=5 * i)
        value = 50 + 20 * math.sin(2 * math.pi * (t.hour * 60 + t.minute) / 1440) + (i * 7919 % 13) / 3
        if spike_at <= i < spike_at + 3:
            value += 400
        lines.append(f"{t:%Y-%m-%d %H:%M:%S},{value:.3f}")
        if bad_line and i == 10:
            lines.append("2014-04-01 00:55:00,not-a-number")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_detect_series_scores_every_row_and_finds_the_spike(tmp_path):
    result = _cli("detect-series", str(_series(tmp_path)))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 2000 and list(rows[0]) == ["timestamp", "value", "anomaly_score"]
    assert rows[0]["timestamp"] == "2014-04-01 00:00:00"
    scores = [float(r["anomaly_score"]) for r in rows]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores.index(max(scores)) == 1500
    assert max(scores[300:1500]) < 0.5


def test_detect_series_skips_bad_rows_with_line_number(tmp_path):
    result = _cli("detect-series", str(_series(tmp_path, bad_line=True)))
    assert result.returncode == 0
    assert "line 13" in result.stderr and "not-a-number" in result.stderr
    assert len(result.stdout.splitlines()) == 2001


def test_detect_series_rejects_a_file_without_header(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1,2\n3,4\n")
    result = _cli("detect-series", str(path))
    assert result.returncode == 1 and "timestamp" in result.stderr and str(path) in result.stderr


@pytest.mark.skipif(not NAB.exists(), reason="NAB data not present (workplace ../shared/data/nab)")
def test_detect_series_on_a_real_nab_file():
    path = NAB / "realKnownCause" / "nyc_taxi.csv"
    if not path.exists():
        path = next(NAB.glob("*/*.csv"))
    result = _cli("detect-series", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == len(path.read_text().splitlines())


def test_classify_plain_lines():
    texts = "Danke für die schnelle Hilfe!\nIhr seid unfähige Idioten\nWann öffnet das Bürgeramt?\n\n"
    result = _cli("classify", stdin=texts)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4
    for row in rows:
        assert row["sentiment"] in {"negative", "neutral", "positive"}
        assert set(row["scores"]) == {"negative", "neutral", "positive"}
        assert abs(sum(row["scores"].values()) - 1) < 1e-3
        assert 0 <= row["toxic"] <= 1
    assert rows[0]["sentiment"] == "positive"
    assert rows[1]["toxic"] > rows[0]["toxic"]


def test_classify_jsonl_keeps_lines_aligned_on_bad_input():
    stdin = '{"text": "Super Aktion!"}\nnot json\n{"no_text": 1}\n{"text": "Frechheit"}\n'
    result = _cli("classify", "--jsonl", stdin=stdin)
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 4
    assert "line 2" in result.stderr and "line 3" in result.stderr


def test_classify_with_a_missing_model_dir_fails_clearly(tmp_path):
    result = _cli("classify", "--model", str(tmp_path / "nope"), stdin="x\n")
    assert result.returncode == 2 and str(tmp_path / "nope") in result.stderr


def test_demo_prints_the_alerts_with_playbook_and_owners(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STORMWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "demo", "--no-progress"], capture_output=True,
                            text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("\nAlarm: ") == 3
    assert "Alarm: Shitstorm bei stadt-birkenfelde" in out
    assert "Alarm: Informationsbedarf (Großlage) bei stadtwerke-birkenfelde" in out
    assert "http://localhost:8080/playbooks/empoerungswelle" in out and "http://localhost:8080/playbooks/grosslage" in out
    assert "Zuständig: " in out and "Pressestelle" in out
    assert "3 Alarme geöffnet" in out
    # the hate-speech storm escalates into the hate-speech playbook, and the summary says so
    summary = out[out.index("Alarme geöffnet"):].splitlines()
    line = next(line for line in summary if line.startswith("  - stadt-birkenfelde: shitstorm, Playbook "))
    assert line.split("Playbook ")[1].split(",")[0].split(" → ")[-1] == "hassrede", line
    assert (tmp_path / "demo.db").exists()
