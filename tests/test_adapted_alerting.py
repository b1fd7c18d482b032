"""End to end: staff corrections of another kind of text must not hide the demo's storms.

`stormwatch backtest` on the bundled demo week with the shipped model, and with an adapted model that learned 150
corrections of rail operations notes (a kind of text the demo stream does not contain). Without the familiarity
gate (format v3) those corrections hid one of the three episodes with model 0.5.1 and delay both storms by about three hours with
0.5.2 (benchmarks/adapted_alerting.py measures the same with GermEval 2017 corrections).
"""

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from detectors.classifier import TextClassifier
from detectors.feedback import AdaptiveClassifier

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "demo.yaml"
DEMO_STREAM = ROOT / "monitor" / "demo" / "stream.jsonl"


def _rail_notes(n: int) -> list[str]:
    """Disruption notes with a vented complaint, which this deployment's staff label neutral (information, not an
    opinion about the authority)."""
    lines = ("RE 4", "S 2", "RB 33", "ICE 578", "IC 2013")
    stations = ("Kassel-Wilhelmshöhe", "Fulda", "Göttingen", "Eichenberg", "Bebra", "Treysa", "Marburg")
    vents = ("totales Chaos, unfassbar", "was für eine Frechheit", "Katastrophe wie immer", "das nervt gewaltig",
             "so ein Mist, ich bin sauer")
    causes = ("Reparatur am Zug", "Signalstörung", "Personen im Gleis", "Weichenstörung")
    return [f"{lines[i % 5]} {stations[i % 7]} - {stations[(3 * i + 1) % 7]} heute +{5 + i % 40} min, "
            f"{vents[i % 5]}. Grund: {causes[i % 4]}" for i in range(n)]


def _backtest(tmp_path: Path, adapted: Path | None) -> list[tuple[str, str, int]]:
    config = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    config["playbooks_dir"] = str(ROOT / "playbooks")
    config["classifier"] = {"use_corrections": adapted is not None, "adapted_model": str(adapted) if adapted else None}
    path = tmp_path / f"config-{adapted.name if adapted else 'shipped'}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "alerts.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "backtest", "--config", str(path), "--input", str(DEMO_STREAM),
         "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return [(e["scope"], e["kind"], e["at"]) for e in events if e["event"] == "opened"]


@pytest.fixture(scope="module")
def adapted_models(tmp_path_factory) -> dict[str, Path]:
    base, directory = TextClassifier.load(), tmp_path_factory.mktemp("adapted")
    models = {}
    for name, gated in (("gated", True), ("ungated", False)):
        model = AdaptiveClassifier(base)
        model.gated = gated
        for text in _rail_notes(150):
            model.learn_one(text, polarity="neutral")
        models[name] = model.save(directory / name)
    return models


def test_corrections_of_another_kind_of_text_do_not_hide_the_demo_storms(tmp_path, adapted_models) -> None:
    shipped = _backtest(tmp_path, None)
    assert len(shipped) == 3
    # the same alerts, of the same kind, at the same minutes
    assert _backtest(tmp_path, adapted_models["gated"]) == shipped
    # the premise: without the gate these corrections cost an episode or hours of warning (model 0.5.1 lost one
    # episode; 0.5.2 opens both storms about three hours late, and loses both after 300 such corrections)
    assert _hours_late(shipped, _backtest(tmp_path, adapted_models["ungated"])) >= 1.0


def _hours_late(reference: list[tuple[str, str, int]], alerts: list[tuple[str, str, int]]) -> float:
    """How much later than in `reference` the latest of its episodes opens in `alerts` (inf if one never opens)."""
    opened = {(scope, kind): at for scope, kind, at in alerts}
    late = 0.0
    for scope, kind, at in reference:
        if (scope, kind) not in opened:
            return float("inf")
        late = max(late, (datetime.fromisoformat(opened[scope, kind]) - datetime.fromisoformat(at)).total_seconds())
    return late / 3600
