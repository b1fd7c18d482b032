"""The adaptive classifier: learns from corrections, keeps the base model intact, saves without pickle, resets."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest

import detectors.feedback
from detectors.classifier import ModelError, TextClassifier
from detectors.feedback import STATE_FILE, WEIGHTS_FILE, AdaptiveClassifier

TEXTS = ["Die Linie 7 fährt ab Montag nur noch alle 20 Minuten.", "Danke für die schnelle Hilfe!",
         "Wann ist das Bürgeramt offen?", ""]


@pytest.fixture(scope="module")
def base() -> TextClassifier:
    return TextClassifier.load()


def test_untrained_equals_base(base) -> None:
    got, want = AdaptiveClassifier(base).predict(TEXTS), base.predict(TEXTS)
    for head in ("negative", "neutral", "positive", "toxic", "question"):
        np.testing.assert_allclose(getattr(got, head), getattr(want, head), atol=1e-5)
    # Hard toxic labels must use the model's stored threshold, not a default 0.5.
    assert got.toxic_threshold == want.toxic_threshold == base.toxic_threshold
    np.testing.assert_array_equal(got.is_toxic(), want.is_toxic())


def test_learning_moves_the_corrected_heads_only(base) -> None:
    model = AdaptiveClassifier(base)
    before = model.predict(TEXTS[:1])
    model.learn_one(TEXTS[0], toxic=1)
    after = model.predict(TEXTS[:1])
    assert after.toxic[0] > before.toxic[0]
    np.testing.assert_allclose(after.question, before.question, atol=1e-6)
    np.testing.assert_allclose(after.negative, before.negative, atol=1e-6)
    assert model.updates == {"polarity": 0, "toxic": 1, "question": 0}


def test_residual_is_bounded_and_shrinks(base) -> None:
    model = AdaptiveClassifier(base, max_shift=1.0, l2=0.05)
    for _ in range(200):
        model.learn_one(TEXTS[1], polarity="negative")
    shift = model.adapted_logits(TEXTS[1:2]) - AdaptiveClassifier(base).adapted_logits(TEXTS[1:2])
    assert np.abs(shift).max() <= 1.0 + 1e-9
    # with nothing more to learn from, L2 pulls the residual back toward the base model
    strong = np.abs(shift).max()
    for _ in range(200):
        model.learn_one(TEXTS[2], question=1)
    faded = model.adapted_logits(TEXTS[1:2]) - AdaptiveClassifier(base).adapted_logits(TEXTS[1:2])
    assert np.abs(faded[0, :3]).max() < strong


def test_save_load_round_trip_and_reset(base, tmp_path) -> None:
    model = AdaptiveClassifier(base, learning_rate=0.7)
    model.learn_one(TEXTS[0], polarity="negative", question=0)
    model.learn_one(TEXTS[2], question=1)
    model.save(tmp_path)
    assert not any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())
    with np.load(tmp_path / WEIGHTS_FILE, allow_pickle=False) as data:
        assert set(data.files) == {"rows", "values", "bias"}
    again = AdaptiveClassifier.load(base, tmp_path)
    assert again.learning_rate == 0.7 and again.updates == model.updates
    np.testing.assert_allclose(again.adapted_logits(TEXTS), model.adapted_logits(TEXTS), atol=1e-5)
    again.reset()
    np.testing.assert_allclose(again.predict(TEXTS).negative, base.predict(TEXTS).negative, atol=1e-5)


def test_load_refuses_foreign_or_torn_state(base, tmp_path) -> None:
    model = AdaptiveClassifier(base)
    model.learn_one(TEXTS[0], polarity="negative")
    model.save(tmp_path)
    state = json.loads((tmp_path / STATE_FILE).read_text())
    (tmp_path / STATE_FILE).write_text(json.dumps({**state, "base_fingerprint": "other"}))
    with pytest.raises(ModelError, match="another base model"):
        AdaptiveClassifier.load(base, tmp_path)
    (tmp_path / STATE_FILE).write_text(json.dumps({**state, "weights_sha256": "0" * 64}))
    with pytest.raises(ModelError, match="does not match"):
        AdaptiveClassifier.load(base, tmp_path)
    with pytest.raises(ModelError, match="no adapted model"):
        AdaptiveClassifier.load(base, tmp_path / "missing")


def test_bad_input_is_refused(base) -> None:
    model = AdaptiveClassifier(base)
    with pytest.raises(ValueError, match="polarity"):
        model.learn_one("x", polarity="angry")
    with pytest.raises(ValueError, match="at least one"):
        model.learn_one("x")
    with pytest.raises(ValueError, match="toxic"):
        model.learn_one("x", toxic=2)
    with pytest.raises(TypeError):
        model.predict("a bare string")
    with pytest.raises(ValueError):
        AdaptiveClassifier(base, learning_rate=5.0)


def test_many_corrections_fix_a_systematic_error(base) -> None:
    # a deployment whose citizens write "Baustelle" neutrally: after corrections, unseen variants follow
    train = [f"Baustelle in der {s} ab {d}. Umleitung ist ausgeschildert." for s in
             ("Hauptstraße", "Ringstraße", "Bahnhofstraße", "Schulstraße", "Lindenallee", "Marktgasse")
             for d in ("Montag", "Dienstag", "Mittwoch")]
    unseen = ["Baustelle in der Gartenstraße ab Freitag. Umleitung ist ausgeschildert."]
    model = AdaptiveClassifier(base)
    start = float(model.predict(unseen).neutral[0])
    for text in train:
        model.learn_one(text, polarity="neutral")
    assert float(model.predict(unseen).neutral[0]) > max(start, 0.5)


def test_docstring_examples() -> None:
    assert doctest.testmod(detectors.feedback).failed == 0
