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
    # a small reservoir, so the later corrections push the polarity ones out and replay stops renewing them
    model = AdaptiveClassifier(base, max_shift=1.0, l2=0.05, reservoir_size=50)
    for _ in range(200):
        model.learn_one(TEXTS[1], polarity="negative")
    shift = model.adapted_logits(TEXTS[1:2]) - AdaptiveClassifier(base).adapted_logits(TEXTS[1:2])
    assert np.abs(shift).max() <= 1.0 + 1e-9
    # with nothing more to learn from (or replay), L2 pulls the residual back toward the base model
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
        assert set(data.files) == {"rows", "values", "bias", "res_indptr", "res_indices", "res_values", "res_base",
                                   "res_targets"}
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


# -- experience replay ------------------------------------------------------------------------------

STREAM = [(f"Bus {i} kommt {'zu spät' if i % 3 == 0 else 'pünktlich'} an Haltestelle {i % 7}.",
           ("negative", "neutral", "positive")[i % 3]) for i in range(40)]


def test_reservoir_is_bounded_ring_of_the_latest(base) -> None:
    model = AdaptiveClassifier(base, replay=2, reservoir_size=5)
    for text, label in STREAM[:12]:
        model.learn_one(text, polarity=label)
    assert model.reservoir_len == 5 and model.n_corrections == 12
    # the ring keeps exactly the last five corrections (labels 7..11 in stream order, wherever their slots are)
    kept = sorted(int(t[0]) for t in model._res_target)
    want = sorted(("negative", "neutral", "positive").index(label) for _text, label in STREAM[7:12])
    assert kept == want


def test_replay_is_deterministic_across_save_and_load(base, tmp_path) -> None:
    straight = AdaptiveClassifier(base, replay=3, reservoir_size=8, seed=5)
    for text, label in STREAM[:20]:
        straight.learn_one(text, polarity=label)
    interrupted = AdaptiveClassifier(base, replay=3, reservoir_size=8, seed=5)
    for text, label in STREAM[:10]:
        interrupted.learn_one(text, polarity=label)
    interrupted.save(tmp_path)
    resumed = AdaptiveClassifier.load(base, tmp_path)
    assert resumed.reservoir_len == 8 and resumed.replay == 3
    for text, label in STREAM[10:20]:
        resumed.learn_one(text, polarity=label)
    np.testing.assert_allclose(resumed.adapted_logits(TEXTS), straight.adapted_logits(TEXTS), atol=1e-6)
    # a different seed replays other items, so the check above can fail
    other = AdaptiveClassifier(base, replay=3, reservoir_size=8, seed=6)
    for text, label in STREAM[:20]:
        other.learn_one(text, polarity=label)
    assert np.abs(other.adapted_logits(TEXTS) - straight.adapted_logits(TEXTS)).max() > 1e-4


def test_reservoir_keeps_no_text(base, tmp_path) -> None:
    model = AdaptiveClassifier(base)
    model.learn_one("Geheimwort Zaunkönigstraße", polarity="negative")
    model.save(tmp_path)
    for path in tmp_path.iterdir():
        assert b"Zaunk" not in path.read_bytes()
    with np.load(tmp_path / WEIGHTS_FILE, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


def test_v1_files_load_with_an_empty_reservoir(base, tmp_path) -> None:
    model = AdaptiveClassifier(base, replay=0)
    model.learn_one(TEXTS[0], polarity="negative")
    # write what version 1 wrote: no reservoir arrays, no replay settings, no generator state
    w = model._w * np.float32(model._scale)
    rows = np.flatnonzero(np.any(w != 0, axis=1)).astype(np.int64)
    with open(tmp_path / WEIGHTS_FILE, "wb") as handle:
        np.savez_compressed(handle, rows=rows, values=w[rows], bias=model._b)
    state = {"format": "stormwatch-adaptive-v1", "base_fingerprint": detectors.feedback.base_fingerprint(base),
             "base_name": base.info.get("name"),
             "hyperparameters": {"learning_rate": 1.0, "bias_learning_rate": 0.2, "l2": 1e-4, "max_shift": 4.0},
             "updates": model.updates,
             "weights_sha256": __import__("hashlib").sha256((tmp_path / WEIGHTS_FILE).read_bytes()).hexdigest()}
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    old = AdaptiveClassifier.load(base, tmp_path)
    assert old.reservoir_len == 0 and old.updates == model.updates
    np.testing.assert_allclose(old.adapted_logits(TEXTS), model.adapted_logits(TEXTS), atol=1e-5)
    old.learn_one(TEXTS[1], polarity="positive")  # and it keeps learning, now with a reservoir
    assert old.reservoir_len == 1
    old.save(tmp_path)
    assert json.loads((tmp_path / STATE_FILE).read_text())["format"] == detectors.feedback.FORMAT


def test_reset_clears_the_reservoir(base) -> None:
    model = AdaptiveClassifier(base)
    for text, label in STREAM[:5]:
        model.learn_one(text, polarity=label)
    model.reset()
    assert model.reservoir_len == 0 and model.n_corrections == 0
    np.testing.assert_allclose(model.predict(TEXTS).negative, base.predict(TEXTS).negative, atol=1e-5)


def test_learning_with_replay_moves_the_corrected_label(base) -> None:
    model = AdaptiveClassifier(base, replay=8)
    for text, label in STREAM[:10]:
        model.learn_one(text, polarity=label)
    text = "Die Linie 7 fährt ab Montag nur noch alle 20 Minuten."
    before = float(model.predict([text]).positive[0])
    model.learn_one(text, polarity="positive")
    assert float(model.predict([text]).positive[0]) > before


def test_replay_settings_are_bounded(base) -> None:
    with pytest.raises(ValueError, match="replay"):
        AdaptiveClassifier(base, replay=-1)
    with pytest.raises(ValueError, match="reservoir_size"):
        AdaptiveClassifier(base, reservoir_size=0)
