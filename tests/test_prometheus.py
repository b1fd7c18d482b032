"""Prometheus (Debian package) scrapes the exporter of a running `stormwatch run`, loads the shipped alert rules
and evaluates every query of the Grafana dashboard, as a deployment's monitoring would."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from tests import test_service
from tests.receivers import free_port, stop

service = test_service.service  # the fixture: `stormwatch run` replaying the demo week, serving /metrics
_wait_until = test_service._wait_until

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "dashboards" / "prometheus" / "stormwatch-rules.yml"
DASHBOARD = ROOT / "dashboards" / "grafana" / "stormwatch-overview.json"
INSTALL_HINT = "Prometheus not installed: sudo apt-get install prometheus"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required on CI ({INSTALL_HINT})")
        pytest.skip(INSTALL_HINT)
    return path


def test_promtool_accepts_the_shipped_rules() -> None:
    result = subprocess.run([_binary("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.fixture
def prometheus(service, tmp_path):
    binary = _binary("prometheus")
    base, _receiver, _tmp, _process = service
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "stormwatch", "metrics_path": "/metrics",
                            "static_configs": [{"targets": [base.removeprefix("http://")]}]}],
    }), encoding="utf-8")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", base
    finally:
        stop(process)


def _query(prometheus_url: str, expr: str) -> dict:
    response = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": expr}, timeout=5)
    return response.json()


def _evaluated_rules(prometheus_url: str) -> list[dict] | None:
    """The loaded rules once every one has been evaluated (a rule not yet evaluated dates from year 1)."""
    groups = httpx.get(f"{prometheus_url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    return rules if rules and all(r["lastEvaluation"] >= "2000" for r in rules) else None


def test_prometheus_scrapes_the_exporter_loads_the_rules_and_evaluates_every_panel(prometheus) -> None:
    url, service_url = prometheus
    # the service replays the demo week: alerts open and are counted
    _wait_until(lambda: "stormwatch_alert_events_total{" in httpx.get(f"{service_url}/metrics", timeout=5).text,
                60, "alert events in the exporter")
    up = _wait_until(lambda: _query(url, 'up{job="stormwatch"}')["data"]["result"], 60, "the first scrape")
    assert up[0]["value"][1] == "1"
    events = _wait_until(lambda: _query(url, "stormwatch_alert_events_total")["data"]["result"], 30,
                         "alert events in Prometheus")
    assert {series["metric"]["job"] for series in events} == {"stormwatch"}
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            answer = _query(url, target["expr"])
            assert answer["status"] == "success", (panel["title"], answer)
    assert _query(url, "max by (scope) (stormwatch_storm_level)")["data"]["result"]  # the level panel has data
    # the threat panel's series: the demo's hate-speech storm holds threats
    threats = _wait_until(lambda: _query(url, "stormwatch_classify_possible_threats_total")["data"]["result"], 30,
                          "possible threats in Prometheus")
    assert "stadt-birkenfelde" in {series["metric"]["scope"] for series in threats}
    rules = _wait_until(lambda: _evaluated_rules(url), 30, "every rule evaluated")
    shipped = {r["alert"] for g in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"] for r in g["rules"]}
    assert {r["name"] for r in rules} == shipped
    assert all(r["health"] == "ok" for r in rules), rules
    down = next(r for r in rules if r["name"] == "StormwatchDown")
    assert down["state"] == "inactive"  # it is up
