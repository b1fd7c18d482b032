"""The adaptive classifier: learns from corrections, keeps the base model intact, saves without pickle, resets."""

from __future__ import annotations

import doctest
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

import detectors.feedback
from detectors.classifier import ModelError, TextClassifier
from detectors.feedback import STATE_FILE, WEIGHTS_FILE, AdaptiveClassifier

ROOT_DIR = Path(__file__).resolve().parent.parent
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
    assert model.updates == {"polarity": 0, "toxic": 1, "question": 0, "threat": 0}


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
        assert set(data.files) == {"rows", "values", "bias", "scratch_rows", "scratch_values", "scratch_bias",
                                   "gate_rows", "gate_values", "gate_bias",
                                   "res_indptr", "res_indices", "res_values", "res_base", "res_targets", "res_days",
                                   "res_negatives"}
    again = AdaptiveClassifier.load(base, tmp_path)
    assert again.learning_rate == 0.7 and again.updates == model.updates
    assert again.hyperparameters() == model.hyperparameters()
    np.testing.assert_allclose(again.adapted_logits(TEXTS), model.adapted_logits(TEXTS), atol=1e-5)
    np.testing.assert_allclose(again.probabilities(TEXTS), model.probabilities(TEXTS), atol=1e-6)
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
    start = float(model.expert_probabilities(unseen)[0][0, 1])
    for text in train:
        model.learn_one(text, polarity="neutral")
    assert float(model.expert_probabilities(unseen)[0][0, 1]) > max(start, 0.5)  # the residual learned it
    # the shipped model already agrees, so the mixture keeps trusting it more than the scratch learner
    assert model.scratch_weight("polarity") < 0.5
    assert model.predict(unseen).sentiment() == ["neutral"]


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
    # the scratch learner and the mixture continue exactly too
    np.testing.assert_allclose(resumed.probabilities(TEXTS), straight.probabilities(TEXTS), atol=1e-6)
    # (saving folds the L2 scale into the float32 weights, so "exactly" means up to float rounding)
    assert resumed.scratch_weight("polarity") == pytest.approx(straight.scratch_weight("polarity"), rel=1e-5)
    assert straight.scratch_weight("polarity") > 0.0
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
    model.gated = False  # version 1 had no gate
    model.learn_one(TEXTS[0], polarity="negative")
    # write what version 1 wrote: no reservoir arrays, no replay settings, no generator state
    with open(tmp_path / WEIGHTS_FILE, "wb") as handle:
        np.savez_compressed(handle, **_without_threat(model._residual.arrays("")))
    state = {"format": "stormwatch-adaptive-v1",
             "base_fingerprint": detectors.feedback.base_fingerprint(base, "stormwatch-adaptive-v1"),
             "base_name": base.info.get("name"),
             "hyperparameters": {"learning_rate": 1.0, "bias_learning_rate": 0.2, "l2": 1e-4, "max_shift": 4.0},
             "updates": {k: v for k, v in model.updates.items() if k != "threat"},
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


# -- mixture of the residual and the scratch learner (format v3) ------------------------------------------

def _flipped_stream(n: int, offset: int = 0) -> list[tuple[str, str]]:
    """A deployment whose staff label complaints "positive" and thanks "negative": the base model is wrong on all."""
    places = ("Hauptbahnhof", "Rathaus", "Marktplatz", "Schwimmbad", "Bürgeramt", "Stadtpark", "Friedhof")
    out = []
    for i in range(offset, offset + n):
        place = places[i % len(places)]
        if i % 2:
            out.append((f"Frechheit, am {place} ist schon wieder alles kaputt und dreckig, Nummer {i}.", "positive"))
        else:
            out.append((f"Vielen Dank, am {place} ist alles sauber und schön geworden, Nummer {i}.", "negative"))
    return out


def _accuracy(p: np.ndarray, labels: list[str]) -> float:
    names = ("negative", "neutral", "positive")
    return float(np.mean([names[k] == label for k, label in zip(p[:, :3].argmax(axis=1), labels)]))


def test_mixture_follows_the_corrections_when_the_base_model_is_wrong(base) -> None:
    train, held_out = _flipped_stream(60), _flipped_stream(20, offset=1000)
    texts, labels = [t for t, _ in held_out], [label for _, label in held_out]
    assert _accuracy(AdaptiveClassifier(base).probabilities(texts), labels) < 0.3  # the premise: base is wrong
    # a tightly bounded residual (the drift guard) cannot undo a confident base model on its own
    model = AdaptiveClassifier(base, max_shift=1.0)
    for text, label in train:
        model.learn_one(text, polarity=label)
    residual, scratch = model.expert_probabilities(texts)
    assert _accuracy(residual, labels) < 0.5
    assert _accuracy(scratch, labels) >= 0.9
    assert model.scratch_weight("polarity") > 0.9
    assert _accuracy(model.probabilities(texts), labels) >= _accuracy(scratch, labels)
    # the groups are weighed separately: nobody corrected toxic, so that head is still the base model's
    np.testing.assert_allclose(model.predict(texts).toxic, base.predict(texts).toxic, atol=1e-6)


def test_a_few_corrections_agreeing_with_the_base_model_keep_it_in_charge(base) -> None:
    texts = ["Frechheit, schon wieder fällt der Bus aus!", "Vielen herzlichen Dank für die tolle Hilfe!"]
    labels = [AdaptiveClassifier(base).predict([t]).sentiment()[0] for t in texts]
    model = AdaptiveClassifier(base)
    for text, label in zip(texts, labels):
        model.learn_one(text, polarity=label)
    assert model.scratch_weight("polarity") < 0.5


def test_zero_corrections_predict_exactly_the_base_model(base) -> None:
    model = AdaptiveClassifier(base)
    want = base.predict(TEXTS)
    for _ in range(2):  # untouched, and after learning and reset
        got = model.predict(TEXTS)
        for head in ("negative", "neutral", "positive", "toxic", "question"):
            np.testing.assert_allclose(getattr(got, head), getattr(want, head), rtol=0, atol=2e-7)
        assert model.scratch_weight("polarity") == 0.0
        for text, label in _flipped_stream(5):
            model.learn_one(text, polarity=label)
        model.reset()


def _without_threat(arrays: dict) -> dict:
    """The arrays as format v1-v4 wrote them: five output columns, three targets."""
    out = {}
    for k, v in arrays.items():
        if k.endswith("values") and not k.startswith("res_") and not k.startswith("gate_") or k == "res_base":
            v = v[:, :5]
        elif k.endswith("bias") and not k.startswith("gate_"):
            v = v[:5]
        elif k == "res_targets":
            v = v[:, :3]
        out[k] = v
    return out


def _as_older(directory, version: str, base: TextClassifier) -> None:
    """Rewrite a saved v5 model as version 2, 3 or 4 wrote it: v4 had no threat column and identified the base
    model by model.json alone; v3 in addition had no familiarity gate; v2 in addition had no scratch learner, no
    mixture and no correction days."""
    import hashlib

    dropped = {"v4": (), "v3": ("gate_", "res_negatives"),
               "v2": ("gate_", "res_negatives", "scratch_", "res_days")}[version]
    with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = _without_threat({k: data[k] for k in data.files if not k.startswith(dropped)})
    with open(directory / WEIGHTS_FILE, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    state = json.loads((directory / STATE_FILE).read_text())
    state["format"] = f"stormwatch-adaptive-{version}"
    state["base_fingerprint"] = detectors.feedback.base_fingerprint(base, state["format"])
    del state["updates"]["threat"]
    if "mixture" in state:
        del state["mixture"]["losses"]["threat"], state["mixture"]["scored"]["threat"]
    state["weights_sha256"] = hashlib.sha256((directory / WEIGHTS_FILE).read_bytes()).hexdigest()
    (directory / STATE_FILE).write_text(json.dumps(state))
    if version == "v4":
        return
    del state["gate"], state["hyperparameters"]["gate_learning_rate"]
    if version == "v2":
        del state["mixture"]
        state["hyperparameters"] = {k: state["hyperparameters"][k] for k in
                                    ("learning_rate", "bias_learning_rate", "l2", "max_shift", "replay",
                                     "reservoir_size", "seed")}
    state["weights_sha256"] = hashlib.sha256((directory / WEIGHTS_FILE).read_bytes()).hexdigest()
    (directory / STATE_FILE).write_text(json.dumps(state))


def test_v2_files_load_predict_as_before_and_their_items_count_as_unknown_age(base, tmp_path) -> None:
    model = AdaptiveClassifier(base, replay=2, reservoir_size=8)
    model.gated = False  # version 2 had no gate
    for text, label in STREAM[:10]:
        model.learn_one(text, polarity=label)
    model.save(tmp_path)
    _as_older(tmp_path, "v2", base)
    old = AdaptiveClassifier.load(base, tmp_path)
    assert old.reservoir_len == 8 and old.updates == model.updates
    assert old.scratch_weight("polarity") == 0.0  # an untrained scratch learner gets no say
    # exactly what version 2 predicted: base plus residual
    np.testing.assert_allclose(old.probabilities(TEXTS), model.expert_probabilities(TEXTS)[0], atol=1e-6)
    # items without a day are of unknown age: the first purge drops them, whatever the cutoff
    assert old.forget_before(datetime(1990, 1, 1, tzinfo=timezone.utc)) == (8, 0)
    assert old.reservoir_len == 0 and old.n_corrections == 0
    old.learn_one(TEXTS[1], polarity="positive")
    old.save(tmp_path)
    assert json.loads((tmp_path / STATE_FILE).read_text())["format"] == detectors.feedback.FORMAT


# -- ageing out the reservoir ---------------------------------------------------------------------------

DAY0 = datetime(2026, 3, 1, 15, 30, tzinfo=timezone.utc)


def _days(model: AdaptiveClassifier) -> list[int]:
    return sorted(model._res_day)


def test_forget_before_drops_old_items_and_keeps_new_ones(base, tmp_path) -> None:
    model = AdaptiveClassifier(base, replay=2, reservoir_size=5)
    for d, (text, label) in enumerate(STREAM[:8]):  # one correction a day; the ring keeps days 3..7
        model.learn_one(text, polarity=label, at=DAY0 + timedelta(days=d))
    first = detectors.feedback.utc_day(DAY0)
    assert _days(model) == [first + d for d in range(3, 8)]
    # the cutoff's own day goes too (day resolution errs toward forgetting)
    assert model.forget_before(DAY0 + timedelta(days=5, hours=-10)) == (3, 2)
    assert _days(model) == [first + 6, first + 7]
    # nothing of the forgotten corrections is left: the model is one that only ever saw days 6 and 7
    fresh = AdaptiveClassifier(base, replay=2, reservoir_size=5)
    for d, (text, label) in enumerate(STREAM[6:8], start=6):
        fresh.learn_one(text, polarity=label, at=DAY0 + timedelta(days=d))
    np.testing.assert_array_equal(model.probabilities(TEXTS), fresh.probabilities(TEXTS))
    assert model.updates == fresh.updates and model.scratch_weight("polarity") == fresh.scratch_weight("polarity")
    unchanged = model.probabilities(TEXTS)
    assert model.forget_before(DAY0 + timedelta(days=5)) == (0, None)
    np.testing.assert_array_equal(model.probabilities(TEXTS), unchanged)
    # the ring keeps working after the hole: three more fill it, then the oldest kept (day 6) is overwritten first
    for d, (text, label) in enumerate(STREAM[8:12], start=8):
        model.learn_one(text, polarity=label, at=DAY0 + timedelta(days=d))
    assert _days(model) == [first + d for d in range(7, 12)]
    model.save(tmp_path)
    again = AdaptiveClassifier.load(base, tmp_path)
    assert _days(again) == _days(model)
    # a time in another zone counts by its UTC day; a naive time is refused
    assert again.forget_before(datetime(2026, 3, 9, 1, 0, tzinfo=timezone(timedelta(hours=2)))) == (1, 4)
    with pytest.raises(ValueError, match="timezone"):
        again.forget_before(datetime(2026, 3, 9))
    with pytest.raises(ValueError, match="timezone"):
        again.learn_one("x", polarity="neutral", at=datetime(2026, 3, 9))


def test_forget_before_also_forgets_corrections_that_already_left_the_ring(base, tmp_path) -> None:
    """The ring holds the last 3 of 5 corrections; the first two (days 0 and 1) are expired but no longer in it.
    Their weights must go all the same, even after a save and load."""
    model = AdaptiveClassifier(base, replay=2, reservoir_size=3)
    for d, (text, label) in enumerate(STREAM[:5]):
        model.learn_one(text, polarity=label, at=DAY0 + timedelta(days=d))
    model.save(tmp_path)
    model = AdaptiveClassifier.load(base, tmp_path)
    assert model.forget_before(DAY0 + timedelta(days=1)) == (0, 3)
    fresh = AdaptiveClassifier(base, replay=2, reservoir_size=3)
    for d, (text, label) in enumerate(STREAM[2:5], start=2):
        fresh.learn_one(text, polarity=label, at=DAY0 + timedelta(days=d))
    np.testing.assert_array_equal(model.probabilities(TEXTS), fresh.probabilities(TEXTS))
    assert model.forget_before(DAY0 + timedelta(days=1)) == (0, None)
    # everything expired: back to the base model exactly
    assert model.forget_before(DAY0 + timedelta(days=30)) == (3, 0)
    np.testing.assert_allclose(model.probabilities(TEXTS), AdaptiveClassifier(base).probabilities(TEXTS), atol=0)


def test_a_back_dated_correction_that_left_the_ring_is_still_forgotten(base) -> None:
    """Days out of order (`at` back-dated): the day-5 correction has left the 3-item ring, yet it expires first."""
    model = AdaptiveClassifier(base, replay=2, reservoir_size=3)
    days = (10, 5, 11, 12, 13)
    for d, (text, label) in zip(days, STREAM):
        model.learn_one(text, polarity=label, at=DAY0 + timedelta(days=d))
    assert model.forget_before(DAY0 + timedelta(days=7)) == (0, 3)
    fresh = AdaptiveClassifier(base, replay=2, reservoir_size=3)
    for d, (text, label) in list(zip(days, STREAM))[2:]:
        fresh.learn_one(text, polarity=label, at=DAY0 + timedelta(days=d))
    np.testing.assert_array_equal(model.probabilities(TEXTS), fresh.probabilities(TEXTS))


def test_learn_many_is_learn_one_in_order(base) -> None:
    """Relearning stored corrections featurises them in one batch; the model must come out as if learned one by one."""
    at = datetime(2026, 4, 1, 9, tzinfo=timezone.utc)
    corrections = [
        ("Die Baustelle am Ring nervt seit Wochen!", "negative", None, None, at),
        ("Wann ist das Bürgeramt samstags offen?", None, None, 1, at + timedelta(days=1)),
        ("Ihr seid doch alle unfähig, ihr Idioten", "negative", 1, 0, at + timedelta(days=2)),
        ("Danke für die schnelle Hilfe 👍", "positive", 0, None, at + timedelta(days=3)),
    ] * 3
    one, many = AdaptiveClassifier(base), AdaptiveClassifier(base)
    for text, polarity, toxic, question, when in corrections:
        one.learn_one(text, polarity=polarity, toxic=toxic, question=question, at=when)
    many.learn_many(corrections)
    probe = [c[0] for c in corrections[:4]] + ["Schon wieder kein Bus heute."]
    np.testing.assert_allclose(many.probabilities(probe), one.probabilities(probe), rtol=0, atol=1e-9)
    assert many.updates == one.updates and many._res_day == one._res_day
    with pytest.raises(ValueError, match="polarity must be one of"):
        many.learn_many([("text", "angry", None, None, at)])
    # any iterable, also one that can be read only once
    from_generator = AdaptiveClassifier(base)
    from_generator.learn_many(c for c in corrections)
    np.testing.assert_array_equal(from_generator.probabilities(probe), many.probabilities(probe))


# -- the familiarity gate ---------------------------------------------------------------------------

CITY_CALM = ["Wann öffnet das Freibad im Sommer?", "Danke an die Müllabfuhr, heute alles pünktlich abgeholt.",
             "Der Wochenmarkt ist ab April wieder samstags von 7 bis 13 Uhr.", "Wo kann ich meinen Sperrmüll anmelden?",
             "Schönes Foto vom Rathausplatz!", "Die Bibliothek hat neue Öffnungszeiten, steht auf der Website."]
CITY_STORM = ["Eine Schande, dass ihr die alten Linden für ein Parkhaus fällt!!", "Ihr habt doch keine Ahnung, "
              "was die Bürger wollen. Rücktritt!", "Unfassbar, wie hier mit unseren Steuergeldern umgegangen wird.",
              "Wir sind stinksauer, keiner hat uns gefragt!", "Was für eine Frechheit, die Bäume waren älter als ihr alle.",
              "Ich bin so wütend, das vergessen wir euch bei der nächsten Wahl nicht."]


def _rail_notes(n: int, offset: int = 0) -> list[tuple[str, str]]:
    """Another kind of text than the comments the base model learned from: terse rail operations notes, which this
    deployment's staff label "negative" (bad news for the operator), where the base model calls most neutral."""
    lines = ("RE 4", "S 2", "RB 33", "ICE 578", "IC 2013")
    stations = ("Kassel-Wilhelmshöhe", "Fulda", "Göttingen", "Eichenberg", "Bebra", "Treysa", "Marburg")
    out = []
    for i in range(offset, offset + n):
        a, b = stations[i % 7], stations[(3 * i + 1) % 7]
        out.append((f"{lines[i % 5]} {a} - {b}, Abfahrt {6 + i % 14}:{(7 * i) % 60:02d}, heute +{5 + i % 40} min, "
                    f"Grund: {('Reparatur am Zug', 'Signalstörung', 'Personen im Gleis', 'Weichenstörung')[i % 4]}",
                    "negative"))
    return out


def _storm_rise(p_calm: np.ndarray, p_storm: np.ndarray) -> float:
    """How far the mean P(negative) of a storm rises above the calm stream's (what the detectors react to)."""
    return float(p_storm.mean() - p_calm.mean())


def test_the_gate_keeps_corrections_of_another_kind_of_text_off_the_stream(base) -> None:
    train, held_out = _rail_notes(80), _rail_notes(20, offset=500)
    texts, labels = [t for t, _ in held_out], [label for _, label in held_out]
    assert _accuracy(AdaptiveClassifier(base).probabilities(texts), labels) < 0.5  # premise: base disagrees
    gated, ungated = AdaptiveClassifier(base), AdaptiveClassifier(base)
    ungated.gated = False  # how version 3 mixed: one weight per label group, whatever the text
    for model in (gated, ungated):
        for text, label in train:
            model.learn_one(text, polarity=label)
        assert model.scratch_weight("polarity") > 0.9  # on rail notes the scratch learner predicts better
        assert _accuracy(model.probabilities(texts), labels) >= 0.9  # and speaks there
    assert np.median(gated.familiarity(texts)) > 0.8
    assert np.median(gated.familiarity(CITY_CALM + CITY_STORM)) < 0.2
    assert np.all(ungated.familiarity(texts) == 1.0)
    # The city's stream: the shipped model's storm rise survives the gated model, not the ungated one, whose
    # scratch learner (it has only ever seen "negative") calls the calm texts negative too.
    want = _storm_rise(base.predict(CITY_CALM).negative, base.predict(CITY_STORM).negative)
    got = _storm_rise(gated.predict(CITY_CALM).negative, gated.predict(CITY_STORM).negative)
    lost = _storm_rise(ungated.predict(CITY_CALM).negative, ungated.predict(CITY_STORM).negative)
    assert want > 0.6
    assert abs(got - want) < 0.1
    assert lost < 0.3 * want
    # and the levels stay: the residual's bias, pushed toward "negative" by 80 corrections, is gated as well
    for texts in (CITY_CALM, CITY_STORM):
        assert abs(float(gated.predict(texts).negative.mean() - base.predict(texts).negative.mean())) < 0.05


def test_v3_files_load_ungated_predict_as_before_and_a_relearn_gates_them(base, tmp_path) -> None:
    v3 = AdaptiveClassifier(base, replay=2)
    v3.gated = False
    for i, (text, label) in enumerate(_rail_notes(30)):
        v3.learn_one(text, polarity=label, at=DAY0 + timedelta(days=i // 15 * 5))
    v3.save(tmp_path)
    _as_older(tmp_path, "v3", base)
    old = AdaptiveClassifier.load(base, tmp_path)
    assert not old.gated and old.scratch_weight("polarity") == v3.scratch_weight("polarity") > 0.5
    np.testing.assert_allclose(old.probabilities(CITY_CALM), v3.probabilities(CITY_CALM), atol=1e-6)
    old.learn_one(TEXTS[1], polarity="positive", at=DAY0 + timedelta(days=6))  # a correction continues the old way
    old.save(tmp_path)
    again = AdaptiveClassifier.load(base, tmp_path)
    assert json.loads((tmp_path / STATE_FILE).read_text())["gate"]["gated"] is False and not again.gated
    # ... until the model is relearned: here by the purge of the first 15 corrections
    assert again.forget_before(DAY0 + timedelta(days=1)) == (15, 16)
    # The relearned gate has seen 16 corrections: unseen rail notes are fully familiar, the city's comments much
    # less. The city's median depends on the gate's seed and on the corpus it draws its counterparts from: 0.41-0.59
    # over seeds 0-5 with the corpus of model 0.5.3, 0.36-0.55 with the one before (an earlier "< 0.5" held for
    # seed 0 by luck). An ungated model says 1 for everything.
    rail = [text for text, _ in _rail_notes(20, offset=500)]
    assert again.gated and np.median(again.familiarity(rail)) > 0.95
    assert np.median(again.familiarity(CITY_CALM)) < 0.7


def test_corrections_of_the_base_models_own_kind_of_text_keep_it_familiar(base) -> None:
    from detectors.corpus import DEFAULT_CORPUS, load_corpus

    corpus = load_corpus(DEFAULT_CORPUS)
    order = np.random.default_rng(3).permutation(len(corpus["texts"]))
    model = AdaptiveClassifier(base)
    for i in order[:60]:
        model.learn_one(corpus["texts"][i], polarity=("negative", "neutral", "positive")[corpus["polarity"][i]])
    # held-out texts of the same kind: what the corrections taught applies to them (a gate that replayed only the
    # corrections learned which texts the reservoir holds, and left these at about 0.4)
    assert np.median(model.familiarity([corpus["texts"][i] for i in order[1000:1200]])) > 0.7


def test_the_mixture_scores_the_scratch_learner_through_the_gate(base) -> None:
    """Corrections of another kind of text, after the scratch learner won on rail notes, must not count against it
    where the gate keeps it silent: its weight is about what its gated vote adds."""
    model = AdaptiveClassifier(base)
    for text, label in _rail_notes(80):
        model.learn_one(text, polarity=label)
    assert model.scratch_weight("polarity") > 0.9
    for text in CITY_CALM + CITY_STORM:  # staff confirm the base model on the city's own comments
        model.learn_one(text, polarity=base.predict([text]).sentiment()[0])
    assert model.scratch_weight("polarity") > 0.9
    held_out = _rail_notes(20, offset=500)
    assert _accuracy(model.probabilities([t for t, _ in held_out]), [label for _, label in held_out]) >= 0.9


def test_a_file_written_by_the_v3_code_predicts_exactly_as_it_did(base) -> None:
    """tests/data/adaptive-v3 was written by the format v3 code itself (its make.py says how)."""
    fixture = ROOT_DIR / "tests" / "data" / "adaptive-v3"
    expected = json.loads((fixture / "expected.json").read_text(encoding="utf-8"))
    old = AdaptiveClassifier.load(base, fixture)
    assert not old.gated
    # the sixth column (threat, format v5) is new; the five v3 columns are exactly as they were
    np.testing.assert_array_equal(old.probabilities(expected["probe"])[:, :5], np.array(expected["probabilities"]))
    assert old.scratch_weight("polarity") == expected["scratch_weight"]


def test_a_gate_learned_against_another_corpus_is_refused_for_relearning(base, tmp_path) -> None:
    model = AdaptiveClassifier(base)
    model.learn_one(TEXTS[0], polarity="negative")
    model.save(tmp_path)
    state = json.loads((tmp_path / STATE_FILE).read_text())
    state["gate"]["corpus_sha256"] = "0" * 64  # the paired corpus rows would point at other texts
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    with pytest.raises(detectors.feedback.ForeignBase, match="another version of the project corpus"):
        AdaptiveClassifier.load(base, tmp_path)


def test_an_out_of_range_generator_state_is_a_model_error(base, tmp_path) -> None:
    model = AdaptiveClassifier(base)
    model.learn_one(TEXTS[0], polarity="negative")
    model.save(tmp_path)
    state = json.loads((tmp_path / STATE_FILE).read_text())
    state["gate"]["rng"]["state"]["state"] = -1  # the checksum covers the weights file, not this one
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    with pytest.raises(ModelError, match="invalid adapted model"):
        AdaptiveClassifier.load(base, tmp_path)


def test_a_weights_file_edited_to_nan_with_a_matching_checksum_is_refused(base, tmp_path) -> None:
    import hashlib

    model = AdaptiveClassifier(base, replay=2, reservoir_size=8)
    for text, label in STREAM[:6]:
        model.learn_one(text, polarity=label)
    model.save(tmp_path)
    with np.load(tmp_path / WEIGHTS_FILE, allow_pickle=False) as data:
        arrays = {k: data[k].copy() for k in data.files}
    float_name = next(k for k, v in sorted(arrays.items()) if v.dtype.kind == "f" and v.size)
    arrays[float_name].flat[0] = np.nan
    with open(tmp_path / WEIGHTS_FILE, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    state = json.loads((tmp_path / STATE_FILE).read_text())
    state["weights_sha256"] = hashlib.sha256((tmp_path / WEIGHTS_FILE).read_bytes()).hexdigest()
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    with pytest.raises(ModelError, match=f"NaN or infinite values in .*{float_name}"):
        AdaptiveClassifier.load(base, tmp_path)


# -- threat corrections and the base model's fingerprint (format v5) -----------------------------------

LOOK_ALIKE = "Frau Kessler, treten Sie zurück. Sofort."  # a resignation demand the threat head used to flag


def test_a_threat_correction_moves_the_threat_flag_only_and_reset_undoes_it(base, tmp_path) -> None:
    model = AdaptiveClassifier(base)
    before = model.predict([LOOK_ALIKE, TEXTS[0]])
    assert before.kinds is not None
    np.testing.assert_allclose(before.kinds["threat"], base.predict([LOOK_ALIKE, TEXTS[0]]).kinds["threat"], atol=1e-6)
    for _ in range(3):
        model.learn_one(LOOK_ALIKE, threat=0)
    after = model.predict([LOOK_ALIKE])
    assert after.kinds["threat"][0] < before.kinds["threat"][0] - 0.1
    # the other heads and kinds are untouched: P(toxic) is its own group, insult and abuse pass through
    for head in ("negative", "toxic", "question"):
        np.testing.assert_allclose(getattr(after, head)[0], getattr(before, head)[0], atol=1e-6)
    for kind in ("insult", "abuse"):
        np.testing.assert_allclose(after.kinds[kind][0], before.kinds[kind][0], atol=1e-6)
    assert model.updates == {"polarity": 0, "toxic": 0, "question": 0, "threat": 3}
    model.save(tmp_path)
    again = AdaptiveClassifier.load(base, tmp_path)
    np.testing.assert_allclose(again.predict([LOOK_ALIKE]).kinds["threat"], after.kinds["threat"], atol=1e-6)
    assert again.updates == model.updates
    again.reset()
    np.testing.assert_allclose(again.predict([LOOK_ALIKE]).kinds["threat"], before.kinds["threat"][:1], atol=1e-6)


def test_a_threat_correction_needs_a_base_model_with_a_threat_head(tmp_path) -> None:
    import shutil

    from detectors.classifier import default_model_dir

    shutil.copytree(default_model_dir(), tmp_path / "m")
    info = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    del info["toxic_kinds"], info["calibration"]["toxic"]["threat_weight"]
    (tmp_path / "m" / "model.json").write_text(json.dumps(info), encoding="utf-8")
    plain = AdaptiveClassifier(TextClassifier.load(tmp_path / "m"))
    with pytest.raises(ValueError, match="no threat head"):
        plain.learn_one(LOOK_ALIKE, threat=0)
    plain.learn_one(LOOK_ALIKE, toxic=0)  # the other heads still learn
    assert plain.predict([LOOK_ALIKE]).kinds is None


def test_v4_files_load_predict_as_before_and_learn_threats(base, tmp_path) -> None:
    model = AdaptiveClassifier(base, replay=2, reservoir_size=8)
    for text, label in STREAM[:10]:
        model.learn_one(text, polarity=label)
    model.save(tmp_path)
    _as_older(tmp_path, "v4", base)
    old = AdaptiveClassifier.load(base, tmp_path)
    assert old.gated and old.reservoir_len == 8 and old.updates == model.updates
    np.testing.assert_allclose(old.probabilities(TEXTS), model.probabilities(TEXTS), atol=1e-6)
    old.learn_one(LOOK_ALIKE, threat=0)
    assert old.updates["threat"] == 1
    old.save(tmp_path)
    assert json.loads((tmp_path / STATE_FILE).read_text())["format"] == detectors.feedback.FORMAT


def test_an_adapted_model_notices_a_swapped_weights_file(base, tmp_path) -> None:
    import shutil

    from detectors.classifier import default_model_dir
    from detectors.feedback import ForeignBase

    model = AdaptiveClassifier(base)
    model.learn_one(TEXTS[0], polarity="negative")
    model.save(tmp_path / "adapted")
    shutil.copytree(default_model_dir(), tmp_path / "m")
    assert AdaptiveClassifier.load(TextClassifier.load(tmp_path / "m"), tmp_path / "adapted").n_corrections == 1
    # another threat head in kinds.npz, model.json unchanged: a different base model all the same
    with np.load(tmp_path / "m" / "kinds.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["bias"] = arrays["bias"] + np.float32(0.5)
    np.savez_compressed(tmp_path / "m" / "kinds.npz", **arrays)
    swapped = TextClassifier.load(tmp_path / "m")
    assert swapped.info == base.info and swapped.fingerprint != base.fingerprint
    with pytest.raises(ForeignBase, match="another base model"):
        AdaptiveClassifier.load(swapped, tmp_path / "adapted")
