"""Dashboards and Prometheus rules only use metrics that the real exporter exposes."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, generate_latest

from monitor.metrics import Metrics

ROOT = Path(__file__).resolve().parent.parent
METRIC = re.compile(r"\bstormwatch_[a-z_]+\b")


def _exported_names():
    registry = CollectorRegistry()
    Metrics(registry)
    text = generate_latest(registry).decode()
    names = set(re.findall(r"^# TYPE (\S+) (\S+)", text, re.M))
    exported = set()
    for name, kind in names:
        exported.add(name)
        if kind == "counter":
            exported.add(name + "_total")
    return exported


def _expressions():
    dashboard = json.loads((ROOT / "dashboards" / "grafana" / "stormwatch-overview.json").read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            yield panel["title"], target["expr"]
    rules = yaml.safe_load((ROOT / "dashboards" / "prometheus" / "stormwatch-rules.yml").read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            yield rule["alert"], rule["expr"]


def test_every_expression_uses_exported_metrics():
    exported = _exported_names()
    used = {(where, name) for where, expr in _expressions() for name in METRIC.findall(expr)}
    assert used, "the dashboard must query stormwatch metrics"
    unknown = sorted((where, name) for where, name in used if name not in exported)
    assert unknown == []


def test_dashboard_panels_have_unique_ids_and_german_titles():
    dashboard = json.loads((ROOT / "dashboards" / "grafana" / "stormwatch-overview.json").read_text(encoding="utf-8"))
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["timezone"] == "Europe/Berlin"


def test_label_values_in_expressions_are_ones_the_exporter_writes():
    from monitor.domain import NotificationRecord

    registry = CollectorRegistry()
    metrics = Metrics(registry)
    for success in (True, False):
        metrics.observe_notification(
            NotificationRecord("a", "opened", "t", "json://x", None, success, 1, "route 0")  # type: ignore[arg-type]
        )
    outcomes = set(re.findall(r'outcome="([^"]+)"', generate_latest(registry).decode()))
    used = {value for _, expr in _expressions() for value in re.findall(r'outcome="([^"]+)"', expr)}
    assert used and used <= outcomes
