"""`stormwatch run` as a user runs it: a real process replays a stream, notifies a local webhook, serves pages."""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.receivers import HttpReceiver, free_port, stop

ROOT = Path(__file__).resolve().parent.parent
DEMO_STREAM = ROOT / "monitor" / "demo" / "stream.jsonl"


def _wait_until(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def service(tmp_path):
    demo = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    stream = tmp_path / "inbox.jsonl"
    shutil.copy(DEMO_STREAM, stream)
    port = free_port()
    with HttpReceiver() as receiver:
        demo["database"]["url"] = f"sqlite:///{tmp_path / 'sw.db'}"
        demo["web"] = {"base_url": f"http://127.0.0.1:{port}", "host": "127.0.0.1", "port": port}
        demo["collectors"] = [{"type": "file_replay", "name": "inbox", "path": str(stream)}]
        demo["playbooks_dir"] = str(ROOT / "playbooks")
        demo["notifications"] = {
            "targets": [{"id": "lagedienst", "url": f"json://127.0.0.1:{receiver.port}/hook/${{HOOK_TOKEN}}"}],
            "routes": [{"targets": ["lagedienst"], "min_level": 3}],
        }
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(demo, allow_unicode=True), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HOOK_TOKEN": "geheim-123"}
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            yield f"http://127.0.0.1:{port}", receiver, tmp_path, process
        finally:
            stop(process)


def test_service_replays_alerts_and_serves_pages(service):
    base, receiver, tmp_path, process = service
    _wait_until(lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200, 60, "the web server")
    # the replay runs in the background; wait until every demo alert was delivered
    _wait_until(lambda: any("/playbooks/grosslage" in p.json["message"] for p in receiver.posts), 120,
                "the question-surge notification at the local webhook")
    assert all(post.path == "/hook/geheim-123" for post in receiver.posts)
    titles = [post.json["title"] for post in receiver.posts]
    assert any("stadt-birkenfelde" in t for t in titles)
    bodies = "\n".join(post.json["message"] for post in receiver.posts)
    assert f"{base}/playbooks/empoerungswelle" in bodies and f"{base}/playbooks/grosslage" in bodies

    metrics = _wait_until(
        lambda: (text := httpx.get(f"{base}/metrics", timeout=5).text)
        and 'stormwatch_ingest_mentions_total{platform="facebook",scope="stadt-birkenfelde"}' in text and text,
        30, "metrics",
    )
    assert "stormwatch_alert_events_total" in metrics
    assert 'stormwatch_alert_notifications_total{outcome="success",target="lagedienst"}' in metrics
    # the demo's hate-speech storm holds threats ("Wir wissen, wo ihr wohnt."); the calm accounts hold none
    threats = dict(re.findall(r'^stormwatch_classify_possible_threats_total\{scope="([^"]+)"\} (\S+)$', metrics, re.M))
    assert float(threats.get("stadt-birkenfelde", 0)) >= 5, threats

    overview = httpx.get(base + "/", timeout=5)
    assert overview.status_code == 200 and "stadt-birkenfelde" in overview.text
    playbook = httpx.get(f"{base}/playbooks/grosslage", timeout=5)
    assert playbook.status_code == 200 and "Großlage" in playbook.text

    # the notification log in the database says why each went out, without the secret
    import sqlite3

    with sqlite3.connect(tmp_path / "sw.db") as db:
        rows = db.execute("SELECT target, success, reason FROM notification_log").fetchall()
        checkpoint = db.execute("SELECT position FROM collector_checkpoints WHERE collector = 'inbox'").fetchone()
    assert rows and all(success for _, success, _ in rows)
    assert not any("geheim-123" in target for target, _, _ in rows)
    assert all("route 0" in reason for _, _, reason in rows)
    assert checkpoint is not None and int(checkpoint[0]) == len(DEMO_STREAM.read_text(encoding="utf-8").splitlines())


def test_service_refuses_a_broken_config(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("detection: {open_level: 9}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert result.returncode != 0
    assert str(config) in result.stderr and "detection.open_level" in result.stderr
