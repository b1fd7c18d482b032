"""`stormwatch evaluate`: a fixed model against a deployment's labelled sample, warnings where it cannot be trusted."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from detectors.classifier import TextClassifier, TextScores
from detectors.evaluation import evaluate_scores
from monitor.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "text,polarity\n" + "".join(
    f'"{t}",{label}\n' for t, label in (
        ("Die Baustelle an der Hauptstraße nervt seit Wochen, kümmert euch endlich!", "negative"),
        ("Schon wieder fällt der Bus aus. Unfassbar.", "negative"),
        ("Das Bürgeramt hat heute bis 18 Uhr geöffnet.", "neutral"),
        ("Die Sitzung des Stadtrats beginnt um 17 Uhr im Rathaus.", "neutral"),
        ("Ab Montag gilt der neue Fahrplan.", "neutral"),
        ("Danke für die schnelle Hilfe, super Team!", "positive"),
    ))


def _scores(negative, toxic=None) -> TextScores:
    negative = np.asarray(negative, dtype=np.float32)
    positive = np.zeros_like(negative)
    return TextScores(negative=negative, neutral=1 - negative, positive=positive,
                      toxic=np.asarray(toxic if toxic is not None else negative, dtype=np.float32),
                      question=np.zeros_like(negative))


def test_a_good_model_gets_no_warning_and_a_biased_one_is_named() -> None:
    rng = np.random.default_rng(0)
    truth_p = rng.uniform(0, 1, 4000)
    labels = np.where(rng.uniform(0, 1, 4000) < truth_p, 0, 1)  # 0 = negative, 1 = neutral
    good = evaluate_scores("polarity", _scores(truth_p), labels)
    assert good["warnings"] == [] and good["calibration"]["negative"]["ece"] < 0.03
    assert good["accuracy"] > good["majority_accuracy"]
    inflated = evaluate_scores("polarity", _scores(np.clip(truth_p + 0.2, 0, 1)), labels)
    assert inflated["calibration"]["negative"]["share_error"] == pytest.approx(0.2, abs=0.03)
    assert any("absolute shares on such a stream are off by +" in w for w in inflated["warnings"])
    # decisions worse than the majority label are called out
    worse = evaluate_scores("polarity", _scores(1 - truth_p), labels)
    assert any("below always answering the most frequent label" in w for w in worse["warnings"])


def test_binary_tasks_use_the_given_threshold() -> None:
    labels = np.array([1, 1, 0, 0])
    scores = _scores([0, 0, 0, 0], toxic=[0.45, 0.6, 0.3, 0.1])
    assert evaluate_scores("toxicity", scores, labels, threshold=0.4)["accuracy"] == 1.0
    assert evaluate_scores("toxicity", scores, labels, threshold=0.5)["accuracy"] == 0.75
    with pytest.raises(ValueError, match="4 scores for 3 labels"):
        evaluate_scores("toxicity", scores, labels[:3])


def test_evaluate_command_reports_the_shipped_model_on_a_sample(tmp_path: Path) -> None:
    sample = tmp_path / "stichprobe.csv"
    sample.write_text(SAMPLE, encoding="utf-8")
    result = CliRunner().invoke(main, ["evaluate", "--task", "polarity", "--data", str(sample), "--format", "csv"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    shipped = TextClassifier.load().info["version"]
    assert report["model"] == {"name": "stormwatch-de-comments", "version": shipped, "adapted": False}
    assert report["data"]["classes"] == {"negative": 2, "neutral": 3, "positive": 1}
    assert report["accuracy"] >= 4 / 6  # plain in-domain comments: the shipped model gets most of them
    assert set(report["calibration"]) == {"negative", "positive"}
    assert report["calibration"]["negative"]["true_share"] == pytest.approx(2 / 6, abs=1e-4)


def test_evaluate_with_a_config_uses_the_adapted_model(tmp_path: Path) -> None:
    from detectors.classifier import TextClassifier
    from detectors.feedback import AdaptiveClassifier
    from monitor.adapted import default_state_dir

    db = tmp_path / "sw.db"
    config = tmp_path / "config.yaml"
    config.write_text((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
                      .replace("sqlite:///../var/demo.db", f"sqlite:///{db}"), encoding="utf-8")
    sample = tmp_path / "stichprobe.csv"
    sample.write_text(SAMPLE, encoding="utf-8")
    args = ["evaluate", "--task", "polarity", "--data", str(sample), "--format", "csv", "--config", str(config)]
    before = json.loads(CliRunner().invoke(main, args).stdout)
    assert before["model"]["adapted"] is False
    adapted = AdaptiveClassifier(TextClassifier.load())
    for _ in range(5):
        adapted.learn_one("Ab Montag gilt der neue Fahrplan.", polarity="negative")
    adapted.save(default_state_dir(f"sqlite:///{db}"))
    after = json.loads(CliRunner().invoke(main, args).stdout)
    assert after["model"]["adapted"] is True and after["model"]["corrections_learned"] == 5
    assert 0.0 <= after["model"]["familiarity"]["median"] <= 1.0
    assert 0.0 <= after["model"]["familiarity"]["share_at_least_half"] <= 1.0
    assert after["calibration"]["negative"]["mean_predicted"] > before["calibration"]["negative"]["mean_predicted"]


def test_evaluate_reports_bad_input_with_file_and_line(tmp_path: Path) -> None:
    sample = tmp_path / "kaputt.csv"
    sample.write_text("text,polarity\nDas Amt ist zu,angry\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["evaluate", "--task", "polarity", "--data", str(sample), "--format", "csv"])
    assert result.exit_code == 2 and f"{sample}:2" in result.stderr and "Traceback" not in result.output
    both = CliRunner().invoke(main, ["evaluate", "--task", "polarity", "--data", str(sample), "--format", "csv",
                                     "--model", str(tmp_path), "--config", str(tmp_path / "c.yaml")])
    assert both.exit_code == 2 and "not both" in both.output
    missing = CliRunner().invoke(main, ["evaluate", "--task", "polarity", "--data", str(sample), "--format", "csv",
                                        "--model", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "stormwatch evaluate:" in missing.stderr


def test_evaluate_says_how_far_the_corrections_reach_the_sample(tmp_path: Path) -> None:
    """Corrections of rail notes do not reach a sample of city comments; corrections of city comments do."""
    from detectors.classifier import TextClassifier
    from detectors.feedback import AdaptiveClassifier
    from monitor.enrich import Enricher
    from monitor.evaluate_cmd import evaluate_command

    sample = tmp_path / "stichprobe.csv"
    sample.write_text(SAMPLE, encoding="utf-8")
    reach = {}
    for name, texts in (("rail", [f"RE {i % 5} Fulda - Kassel heute +{5 + i % 40} min, Grund: Signalstörung"
                                  for i in range(60)]),
                        ("city", [line.split('",')[0].strip('"') for line in SAMPLE.splitlines()[1:]] * 10)):
        model = AdaptiveClassifier(TextClassifier.load())
        for text in texts:
            model.learn_one(text, polarity="neutral")
        model.save(tmp_path / name)
        enricher = Enricher(TextClassifier.load(), tmp_path / name)
        out = io.StringIO()
        assert evaluate_command("polarity", str(sample), "csv", enricher, stdout=out) == 0
        reach[name] = json.loads(out.getvalue())["model"]["familiarity"]
    assert reach["rail"]["share_at_least_half"] < 0.5 < reach["city"]["share_at_least_half"]
