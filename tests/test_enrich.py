"""The enrichment stage picks up, replaces and drops the adapted model while running, and never fails on a bad one."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from detectors.classifier import TextClassifier, default_model_dir
from detectors.feedback import STATE_FILE, AdaptiveClassifier
from monitor.domain import Mention
from monitor.enrich import Enricher

TEXT = "Die Linie 7 fährt ab Montag nur noch alle 20 Minuten."


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def base() -> TextClassifier:
    return TextClassifier.load()


def _mention(text: str) -> Mention:
    at = datetime(2026, 5, 1, tzinfo=timezone.utc)
    return Mention(platform="facebook", external_id="1", scope="stadt", kind="comment", text=text, created_at=at)


def _negative(enricher: Enricher) -> float:
    mention = _mention(TEXT)
    enricher.enrich([mention])
    return mention.negative


def _adapt(base: TextClassifier, directory: Path, steps: int) -> AdaptiveClassifier:
    model = AdaptiveClassifier(base)
    for _ in range(steps):
        model.learn_one(TEXT, polarity="negative")
    model.save(directory)
    return model


def test_adapted_model_is_picked_up_replaced_and_dropped(base: TextClassifier, tmp_path: Path) -> None:
    clock = FakeClock()
    state = tmp_path / "adapted"
    enricher = Enricher(base, state, refresh_seconds=30, clock=clock)
    plain = _negative(enricher)
    assert plain == pytest.approx(float(base.predict([TEXT]).negative[0]))

    first = _adapt(base, state, 2)
    clock.now = 10
    assert _negative(enricher) == pytest.approx(plain)  # not looked yet: one stat() per refresh interval at most
    clock.now = 31
    assert _negative(enricher) == pytest.approx(float(first.predict([TEXT]).negative[0]), abs=1e-6)
    assert enricher.adapted

    second = _adapt(base, state, 6)
    clock.now = 62
    learned_more = _negative(enricher)
    assert learned_more == pytest.approx(float(second.predict([TEXT]).negative[0]), abs=1e-6)
    assert learned_more > float(first.predict([TEXT]).negative[0])

    shutil.rmtree(state)  # `stormwatch correct --reset`
    clock.now = 93
    assert _negative(enricher) == pytest.approx(plain)
    assert not enricher.adapted


def test_a_broken_adapted_model_falls_back_to_the_base_model(base: TextClassifier, tmp_path: Path, caplog) -> None:
    state = tmp_path / "adapted"
    _adapt(base, state, 1)
    (state / STATE_FILE).write_text("{not json", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="stormwatch.adapted"):
        enricher = Enricher(base, state)
    assert not enricher.adapted
    assert "adapted model not used" in caplog.text and str(state) in caplog.text
    mentions = [_mention(TEXT), _mention("Danke!")]
    enricher.enrich(mentions)
    expected = base.predict([TEXT, "Danke!"])
    assert np.allclose([m.positive for m in mentions], expected.positive)


def test_an_adapted_model_of_another_base_model_is_refused(base: TextClassifier, tmp_path: Path, caplog) -> None:
    state = tmp_path / "adapted"
    _adapt(base, state, 1)
    other_dir = tmp_path / "other-model"
    shutil.copytree(default_model_dir(), other_dir)
    info = json.loads((other_dir / "model.json").read_text(encoding="utf-8"))
    (other_dir / "model.json").write_text(json.dumps(dict(info, name="another-model")), encoding="utf-8")
    other = TextClassifier.load(other_dir)
    with caplog.at_level(logging.WARNING, logger="stormwatch.adapted"):
        enricher = Enricher(other, state)
    assert not enricher.adapted and "another base model" in caplog.text



def test_mentions_carry_the_threat_probability_of_a_model_with_kind_heads(base: TextClassifier) -> None:
    enricher = Enricher(base)
    threat = _mention("Wenn ihr das Freibad schließt, zünde ich dem Bürgermeister die Garage an.")
    calm = _mention(TEXT)
    enricher.enrich([threat, calm])
    assert threat.threat > 0.5 > calm.threat
    scores = base.predict([threat.text, TEXT])
    assert threat.threat == pytest.approx(float(scores.kinds["threat"][0]))
