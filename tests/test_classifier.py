"""Tests for the shipped German text classifier and its training round trip."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from detectors.classifier import POLARITY_LABELS, ModelError, TextClassifier, TextScores, default_model_dir
from detectors.textfeatures import normalise_batch
from detectors.training import load_corpus, train_default_model

# Fresh examples written for this test; none of them is in detectors/data/comments_de.tsv.
POLARITY_CASES = [
    ("Die Müllabfuhr hat unsere Straße jetzt zum dritten Mal vergessen, das ist echt ärgerlich.", "negative"),
    ("Seit Tagen funktioniert die Rolltreppe am Rathausplatz nicht, keiner kümmert sich.", "negative"),
    ("Unzumutbar, dass man für eine Geburtsurkunde sechs Wochen warten muss.", "negative"),
    ("Wieder ist die S-Bahn ausgefallen und niemand informiert die Fahrgäste. Enttäuschend.", "negative"),
    ("Die neue Gebührenordnung ist ungerecht und trifft die Falschen.", "negative"),
    ("Der Spielplatz am Weiher ist total verwahrlost, überall Scherben.", "negative"),
    ("Das Chaos bei der Anmeldung war heute wirklich schlimm.", "negative"),
    ("Vielen herzlichen Dank an die Kolleginnen vom Einwohnermeldeamt, super freundlich!", "positive"),
    ("Toll, dass die Stadtbücherei jetzt auch sonntags geöffnet hat, danke!", "positive"),
    ("Großes Lob an die Feuerwehr für den schnellen Einsatz heute früh.", "positive"),
    ("Der neue Radweg entlang der Bahnlinie ist wunderbar geworden.", "positive"),
    ("Danke für die schnelle und hilfreiche Antwort!", "positive"),
    ("Super organisiert, das Kinderfest im Schlosspark hat allen Spaß gemacht 😊", "positive"),
    ("Die Umleitung für die Linie 9 führt ab Montag über die Kantstraße.", "neutral"),
    ("Laut Aushang wird der Wochenmarkt ab April auf dem Kirchplatz stattfinden.", "neutral"),
    ("Die Sitzung des Bauausschusses beginnt am Mittwoch um 17 Uhr im Ratssaal.", "neutral"),
    ("Wann öffnet der Wertstoffhof am Samstag?", "neutral"),
    ("Welche Unterlagen brauche ich für einen Kinderreisepass?", "neutral"),
    ("Die Ergebnisse der Verkehrszählung sollen im Herbst veröffentlicht werden.", "neutral"),
]
TOXIC_CASES = [
    "Ihr seid alle komplette Vollidioten im Rathaus",
    "Halt die Fresse, du dummer Bürokrat",
    "Diese Drecksbeamten sollte man alle rausprügeln",
]
FRIENDLY_CASES = [
    "Danke für eure Hilfe, ihr seid großartig!",
    "Vielen Dank, das Problem mit der Laterne ist gelöst.",
    "Schönen Sonntag an das ganze Team!",
]
QUESTION_CASES = [
    "Ist die Tiefgarage am Theater heute geöffnet?",
    "Wo kann ich meinen neuen Führerschein abholen?",
    "Wie lange dauert die Sperrung der Uferstraße noch?",
    "Gibt es in Nordheim wieder Strom?",
]
NOT_QUESTION_CASES = [
    "Danke für den schönen Abend im Stadtpark.",
    "Die Sperrung der Uferstraße dauert bis Freitag.",
    "Ich habe das Formular gestern abgeschickt.",
]


@pytest.fixture(scope="module")
def clf() -> TextClassifier:
    return TextClassifier.load()


def test_shipped_model_loads_and_has_metadata(clf):
    # load time is measured in BENCHMARKS.md / MODEL_CARD.md, not asserted: these machines are noisy
    TextClassifier.load(default_model_dir())
    assert clf.info["version"]
    assert "germeval2018_coarse_macro_f1" in clf.info["cv"]["metrics"]
    size = sum(p.stat().st_size for p in default_model_dir().iterdir())
    assert size < 20 * 1024 * 1024


def test_predict_shapes_probabilities_and_labels(clf):
    texts = [text for text, _ in POLARITY_CASES]
    scores = clf.predict(texts)
    assert isinstance(scores, TextScores) and len(scores) == len(texts)
    for name in ("negative", "neutral", "positive", "toxic", "question"):
        values = getattr(scores, name)
        assert values.shape == (len(texts),) and values.dtype == np.float32
        assert np.all((values >= 0) & (values <= 1))
    total = scores.negative + scores.neutral + scores.positive
    np.testing.assert_allclose(total, 1.0, atol=1e-5)
    assert set(scores.sentiment()) <= {"negative", "neutral", "positive"}
    row = scores.row(0)
    assert set(row) == {"sentiment", "scores", "toxic", "question", "toxic_kinds"}
    assert row["sentiment"] == scores.sentiment()[0]
    assert all(isinstance(v, float) for v in row["scores"].values())
    json.dumps(row)


def test_polarity_on_fresh_examples(clf):
    predicted = clf.predict([text for text, _ in POLARITY_CASES]).sentiment()
    gold = [label for _, label in POLARITY_CASES]
    accuracy = np.mean([p == g for p, g in zip(predicted, gold)])
    assert accuracy >= 0.8, list(zip(predicted, gold))


def test_toxic_insults_versus_friendly_thanks(clf):
    toxic = clf.predict(TOXIC_CASES).toxic
    friendly = clf.predict(FRIENDLY_CASES).toxic
    assert np.all(toxic > 0.5), toxic
    assert np.all(friendly < 0.5), friendly


def test_angry_but_civil_criticism_is_not_toxic(clf):
    scores = clf.predict(["Ich bin wirklich wütend, die Baustelle blockiert seit Wochen unsere Einfahrt."])
    assert scores.toxic[0] < 0.5
    assert scores.sentiment() == ["negative"]


def test_questions_detected(clf):
    assert np.all(clf.predict(QUESTION_CASES).question > 0.5)
    assert np.all(clf.predict(NOT_QUESTION_CASES).question < 0.5)


def test_odd_inputs(clf):
    texts = ["", "😡😡😡", "🙂", "x" * 100_000, "Привет Bürgeramt مرحبا 你好", "   \t\n ", "\x00"]
    scores = clf.predict(texts)
    assert len(scores) == len(texts)
    for name in ("negative", "neutral", "positive", "toxic", "question"):
        assert np.all(np.isfinite(getattr(scores, name)))


def test_huge_text_is_truncated(clf):
    huge = "Die Stadt ist schlimm. " * 50_000
    limit = clf.info["features"]["max_chars"]
    assert clf.predict([huge]).row(0) == clf.predict([huge[:limit]]).row(0)


def test_empty_batch(clf):
    scores = clf.predict([])
    assert len(scores) == 0 and scores.sentiment() == [] and scores.toxic.shape == (0,)


def test_none_and_bare_string_are_rejected(clf):
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        clf.predict(["ok", None])
    with pytest.raises(TypeError, match="single string"):
        clf.predict("Hallo")


def test_batch_and_single_predictions_agree(clf):
    texts = [text for text, _ in POLARITY_CASES]
    batch = clf.predict(texts)
    for i in (0, 7, 13):
        single = clf.predict([texts[i]])
        assert single.row(0) == batch.row(i)


def test_missing_model_dir_names_path(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ModelError, match="nope"):
        TextClassifier.load(missing)


def test_broken_model_files_name_path(tmp_path):
    (tmp_path / "model.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="model.json"):
        TextClassifier.load(tmp_path)
    shipped = json.loads((default_model_dir() / "model.json").read_text(encoding="utf-8"))
    (tmp_path / "model.json").write_text(json.dumps(shipped), encoding="utf-8")
    with pytest.raises(ModelError, match="weights.npz"):
        TextClassifier.load(tmp_path)
    (tmp_path / "weights.npz").write_bytes(b"garbage")
    with pytest.raises(ModelError, match=str(tmp_path)):
        TextClassifier.load(tmp_path)


TINY_CORPUS = [
    ("Danke für die Hilfe", "positive", 0, 0), ("Super gemacht, vielen Dank", "positive", 0, 0),
    ("Toll, weiter so", "positive", 0, 0), ("Großes Lob an das Team", "positive", 0, 0),
    ("Sehr schön geworden", "positive", 0, 0), ("Wann ist das Amt offen?", "neutral", 0, 1),
    ("Wo gibt es Sandsäcke?", "neutral", 0, 1), ("Die Straße ist ab Montag gesperrt", "neutral", 0, 0),
    ("Gibt es Strom in der Südstadt?", "neutral", 0, 1), ("Der Bus fährt über die Ringstraße", "neutral", 0, 0),
    ("Wie lange dauert das noch?", "neutral", 0, 1), ("Das ist eine Frechheit", "negative", 0, 0),
    ("Ihr Idioten", "negative", 1, 0), ("Schon wieder kein Bus, ärgerlich", "negative", 0, 0),
    ("Halt die Fresse", "negative", 1, 0), ("Unfähige Vollidioten", "negative", 1, 0),
    ("Schlechter Service, enttäuschend", "negative", 0, 0), ("Warum dauert das so lange?", "negative", 0, 1),
]
TINY_GERMEVAL = [
    ("@user das ist ein dummer Vollidiot", "OFFENSE", "INSULT"), ("Schönes Wetter heute in Berlin", "OTHER", "OTHER"),
    ("Diese Penner gehören weg|LBR|sofort", "OFFENSE", "ABUSE"), ("Ich gehe gleich einkaufen", "OTHER", "OTHER"),
    ("Was für ein Drecksack", "OFFENSE", "INSULT"), ("Das Spiel war spannend", "OTHER", "OTHER"),
    ("Halt dein Maul du Idiot", "OFFENSE", "INSULT"), ("Guten Morgen zusammen", "OTHER", "OTHER"),
]


def _write_tiny_data(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    corpus = tmp_path / "corpus.tsv"
    lines = ["text\tpolarity\ttoxic\tquestion"] + [f"{t}\t{p}\t{x}\t{q}" for t, p, x, q in TINY_CORPUS]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    germeval = tmp_path / "germeval.txt"
    germeval.write_text("\n".join("\t".join(row) for row in TINY_GERMEVAL) + "\n", encoding="utf-8")
    return corpus, germeval


def test_training_round_trip_on_tiny_data(tmp_path):
    corpus, germeval = _write_tiny_data(tmp_path)
    small = {"scheme": "stormwatch-hash-v1", "max_chars": 2000,
             "word": {"n_features": 2**12, "ngram_range": [1, 2], "weight": 1.0},
             "char": {"n_features": 2**12, "ngram_range": [3, 5], "weight": 1.0}}
    metrics = train_default_model(tmp_path / "m1", germeval, corpus, seed=3, n_folds=2, features=small,
                                  threats_path=None)
    train_default_model(tmp_path / "m2", germeval, corpus, seed=3, n_folds=2, features=small, threats_path=None)
    assert 0.0 <= metrics["polarity_macro_f1"] <= 1.0
    assert (tmp_path / "m1" / "weights.npz").read_bytes() == (tmp_path / "m2" / "weights.npz").read_bytes()
    assert (tmp_path / "m1" / "model.json").read_bytes() == (tmp_path / "m2" / "model.json").read_bytes()
    model = TextClassifier.load(tmp_path / "m1")
    scores = model.predict(["Danke für die Hilfe", "Ihr Idioten", ""])
    assert len(scores) == 3
    assert model.info["features"]["word"]["n_features"] == 2**12
    assert model.info["training_data"]["corpus"]["rows"] == len(TINY_CORPUS)
    import sklearn
    assert model.info["trained_with"]["scikit-learn"] == sklearn.__version__


def test_malformed_corpus_row_is_reported(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tpolarity\ttoxic\tquestion\nHallo\tgut\t0\t0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:2"):
        load_corpus(bad)


def test_shipped_corpus_is_well_formed():
    corpus = load_corpus(pathlib.Path(__file__).resolve().parent.parent / "detectors" / "data" / "comments_de.tsv")
    n = len(corpus["texts"])
    assert n >= 900
    assert len({t.lower() for t in corpus["texts"]}) == n
    shares = np.bincount(corpus["polarity"], minlength=3) / n
    assert np.all(shares > 0.2)
    # rounds 9 and 9b (counterfactual topic and group rows, few questions) took the question share from 16 % to 15 %
    assert 0.08 < corpus["toxic"].mean() < 0.2 and 0.14 < corpus["question"].mean() < 0.35
    fresh = {t.lower() for t, _ in POLARITY_CASES} | {t.lower() for t in TOXIC_CASES + QUESTION_CASES}
    assert not fresh & {t.lower() for t in corpus["texts"]}


def test_nb_scale_favours_discriminative_columns():
    import scipy.sparse as sp

    from detectors.training import nb_scale

    # column 0 occurs only in class 1; columns 1 and 2 occur equally often in both classes
    x = sp.csr_matrix(np.array([[1, 1, 1], [1, 1, 0], [1, 1, 1], [0, 1, 1], [0, 1, 1], [0, 1, 0]], dtype=np.float32))
    y = np.array([1, 1, 1, 0, 0, 0])
    scale = nb_scale(x, y)
    assert scale[0] > 2 * max(scale[1], scale[2])
    assert scale[1] == pytest.approx(scale[2])


def test_choose_threshold_calls_as_many_positives_as_the_labels_hold():
    from detectors.training import choose_threshold, germeval_macro_f1

    y = np.array([0] * 60 + [1] * 40)
    # the positives score 0.3-0.45: a 0.5 threshold misses all of them
    p = np.concatenate([np.linspace(0.0, 0.25, 60), np.linspace(0.3, 0.45, 40)])
    t = choose_threshold(p, y)
    assert 0.25 <= t < 0.3 and np.mean(p > t) == pytest.approx(0.4)
    assert germeval_macro_f1(y, (p > t).astype(int)) == pytest.approx(1.0)
    # an isolated spike in the scores does not pull it away (the old grid argmax could jump to 0.72)
    rng = np.random.default_rng(1)
    y2 = (rng.random(3000) < 0.35).astype(int)
    p2 = np.clip(rng.normal(np.where(y2 == 1, 0.55, 0.25), 0.15), 0, 1)
    assert abs(np.mean(p2 > choose_threshold(p2, y2)) - y2.mean()) < 0.01
    # kept within the range a calibrated head can sensibly use
    assert choose_threshold(np.full(10, 0.99), np.array([1] * 9 + [0])) == 0.95


def test_adapt_priors_recovers_a_shifted_prior():
    from detectors.classifier import adapt_priors

    rng = np.random.default_rng(0)
    # two classes, calibrated posteriors under a 50/50 training prior; the deployment sample is 80/20
    y = (rng.random(4000) < 0.2).astype(int)
    score = rng.normal(np.where(y == 1, 1.0, -1.0), 1.0)
    p1 = 1 / (1 + np.exp(-2 * score))  # exact posterior for unit-variance Gaussians at +-1 and equal priors
    probs = np.stack([1 - p1, p1], axis=1)
    prior, adjusted = adapt_priors(probs, np.array([0.5, 0.5]))
    assert abs(prior[1] - 0.2) < 0.03
    assert adjusted.shape == probs.shape and np.allclose(adjusted.sum(axis=1), 1.0)
    assert (adjusted.argmax(1) == y).mean() > (probs.argmax(1) == y).mean()


def test_toxic_hard_labels_use_the_stored_threshold(clf):
    threshold = clf.info["calibration"]["toxic"]["threshold"]
    assert 0.05 <= threshold <= 0.95
    scores = clf.predict(TOXIC_CASES + FRIENDLY_CASES)
    assert scores.toxic_threshold == threshold
    np.testing.assert_array_equal(scores.is_toxic(), scores.toxic > threshold)
    assert scores.is_toxic()[: len(TOXIC_CASES)].all() and not scores.is_toxic()[len(TOXIC_CASES):].any()


LONG_REPORT = (
    "Die Stadtwerke teilen mit, dass die Buslinie 12 ab dem kommenden Montag wegen Bauarbeiten umgeleitet wird. "
    "Die Haltestellen Marktplatz und Schulstraße entfallen für etwa drei Wochen. Ersatzhaltestellen werden in der "
    "Bahnhofstraße eingerichtet. Fahrgäste werden gebeten, etwas mehr Zeit einzuplanen. Die aktuellen Fahrpläne "
    "stehen auf der Internetseite der Stadtwerke. Am Wochenende fahren die Busse nach dem üblichen Plan. "
    "Ihr seid alle komplette Vollidioten im Rathaus."
)
# Longer than the polarity head's chunk size (the longest corpus text) too.
VERY_LONG_REPORT = " ".join([LONG_REPORT.rsplit(" Ihr seid", 1)[0]] * 4) + " Ihr seid alle komplette Vollidioten im Rathaus."


def test_chunks_are_sentence_aligned_and_complete():
    from detectors.textfeatures import chunk_text, split_chunks

    assert chunk_text("Kurzer Text.", 280) == ["Kurzer Text."]
    chunks = chunk_text(LONG_REPORT, 280)
    assert len(chunks) > 1 and all(len(c) <= 280 for c in chunks)
    assert " ".join(chunks).split() == LONG_REPORT.split()  # nothing lost or reordered
    assert all(c.endswith(".") for c in chunks)  # cut at sentence ends only
    words = chunk_text("wort " * 200, 280)
    assert len(words) > 1 and all(len(c) <= 280 for c in words)
    texts, owner = split_chunks(["kurz", LONG_REPORT, ""], 280)
    assert owner.tolist() == [0] + [1] * len(chunks) + [2] and texts[1:-1] == chunks
    assert split_chunks(["a", "b"], 280) == (["a", "b"], None)
    assert split_chunks([LONG_REPORT], 0) == ([LONG_REPORT], None)


def test_long_text_logits_combine_its_chunks(clf):
    from detectors.classifier import combine_chunks
    from detectors.textfeatures import chunk_text

    sizes = clf.info["inference"]["chunk_chars"]
    assert sizes[0] == sizes[1] == sizes[2] and sizes[3] == sizes[4] and len(VERY_LONG_REPORT) > max(sizes)
    whole = clf.logits([VERY_LONG_REPORT])[0]
    polarity_chunks = clf.logits(chunk_text(VERY_LONG_REPORT, sizes[0]))
    binary_chunks = clf.logits(chunk_text(VERY_LONG_REPORT, sizes[3]))
    np.testing.assert_allclose(whole[:3], polarity_chunks[:, :3].mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(whole[3:], binary_chunks[:, 3:].max(axis=0), rtol=1e-5, atol=1e-5)
    # One insulting sentence makes the whole text toxic; the neutral report keeps the polarity from going negative.
    for text in (LONG_REPORT, VERY_LONG_REPORT):
        scores = clf.predict([text])
        assert scores.is_toxic()[0] and scores.sentiment() != ["positive"]
    z = np.array([[1.0, 5.0], [3.0, -1.0], [7.0, 0.0]])
    np.testing.assert_allclose(combine_chunks(z, np.array([0, 0, 1]), ("mean", "max")), [[2.0, 5.0], [7.0, 0.0]])


def test_short_texts_unaffected_by_a_long_neighbour(clf):
    short = [text for text, _ in POLARITY_CASES[:3]]
    alone = clf.logits(short)
    mixed = clf.logits([short[0], VERY_LONG_REPORT, short[1], LONG_REPORT, short[2]])
    np.testing.assert_allclose(mixed[[0, 2, 4]], alone, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mixed[[1, 3]], clf.logits([VERY_LONG_REPORT, LONG_REPORT]), rtol=1e-5, atol=1e-5)


def test_model_without_chunking_settings_scores_whole_texts(clf, tmp_path):
    import shutil

    for name in ("model.json", "weights.npz", "kinds.npz"):
        shutil.copy(default_model_dir() / name, tmp_path / name)
    info = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    info.pop("inference")
    (tmp_path / "model.json").write_text(json.dumps(info), encoding="utf-8")
    old = TextClassifier.load(tmp_path)
    assert not np.allclose(old.logits([LONG_REPORT]), clf.logits([LONG_REPORT]))
    np.testing.assert_allclose(old.logits(["Danke!"]), clf.logits(["Danke!"]), rtol=1e-6)
    info["inference"] = {"chunk_chars": [280, 280], "chunk_combine": ["mean"] * 5}
    (tmp_path / "model.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(ModelError, match="chunk_chars"):
        TextClassifier.load(tmp_path)


def test_a_lone_surrogate_does_not_fail_the_batch():
    """Broken JSON ("\\ud83d") yields strings no codec can encode; one of them must not take a batch down."""
    clf = TextClassifier.load()
    texts = ["Hallo \ud83d Welt, ihr Idioten", "Danke!"]
    scores = clf.predict(texts)
    replaced = clf.predict(["Hallo \ufffd Welt, ihr Idioten", "Danke!"])
    np.testing.assert_allclose(scores.toxic, replaced.toxic, rtol=1e-6)
    np.testing.assert_allclose(scores.negative, replaced.negative, rtol=1e-6)


EMOJI_HELDOUT = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "emoji_heldout_de.tsv"


def test_heldout_emoji_texts_are_never_trained_on_and_emoji_alone_are_read(clf):
    """benchmarks/emoji_heldout.py measures on this file; it only means something while no text is trained on.
    Model 0.5.1, without the emoji lexicon and corpus round 8, read 33 % of the emoji-only rows right (chance: 33 %);
    0.5.2 reads 81 %."""
    heldout = load_corpus(EMOJI_HELDOUT)
    corpus = load_corpus(pathlib.Path(__file__).resolve().parent.parent / "detectors" / "data" / "comments_de.tsv")
    # compared as the features see them: "😍😍" and "😍😍😍" are one text after normalisation
    assert not set(normalise_batch(heldout["texts"])) & set(normalise_batch(corpus["texts"]))
    alone = np.array([not any(c.isalnum() for c in t) for t in heldout["texts"]])
    assert alone.sum() >= 50
    texts = [t for t, a in zip(heldout["texts"], alone) if a]
    predicted = np.array([POLARITY_LABELS.index(s) for s in clf.predict(texts).sentiment()])
    assert np.mean(predicted == heldout["polarity"][alone]) > 0.7


def test_topic_probe_and_heldout_texts_are_never_trained_on():
    """benchmarks/topic_bias.py measures on its probe texts and held-out file; that only means something while none
    of them is a corpus text (corpus round 9 was written against the problem, six of its rows equalled probe texts
    and were dropped)."""
    from benchmarks.topic_bias import (GROUP_TEMPLATES, GROUPS_NAMED, GROUPS_UNNAMED, HELDOUT, TOPIC_TEMPLATES,
                                       TOPICS_NAMED, TOPICS_UNNAMED, load_heldout, probe_texts)
    corpus = set(normalise_batch(load_corpus(pathlib.Path(__file__).resolve().parent.parent / "detectors" / "data"
                                             / "comments_de.tsv")["texts"]))
    probes = probe_texts(TOPICS_NAMED + TOPICS_UNNAMED, TOPIC_TEMPLATES) \
        + probe_texts(GROUPS_NAMED + GROUPS_UNNAMED, GROUP_TEMPLATES)
    heldout = load_heldout(HELDOUT)
    assert len(heldout["texts"]) == 240 and heldout["group"].sum() == 80
    assert not set(normalise_batch(probes)) & corpus
    assert not set(normalise_batch(heldout["texts"])) & corpus


def test_a_topic_alone_is_not_read_as_negative_and_harmless_comments_about_groups_are_not_abuse(clf):
    """Neutral probe texts that only name an authority's everyday topics ("Kita", "#Glasfaser", "Thema heute:
    Gebühren") were called negative 28 % of the time by model 0.5.2 (86 % of the bare words); 0.5.3, after corpus
    rounds 9 and 9b, 8 %. Realistic held-out comments about groups of people and parties are not called toxic when
    harmless, and most abuse among them is found (0.5.2 passed these too). Bare group words are not asserted: the
    toxicity head still calls some of them toxic ("Migranten" 0.78, MODEL_CARD.md, Known weaknesses)."""
    from benchmarks.topic_bias import HELDOUT, TOPIC_TEMPLATES, TOPICS_NAMED, heldout_report, load_heldout, probe_report
    assert probe_report(clf, TOPICS_NAMED, TOPIC_TEMPLATES)["called_negative"] < 0.15
    report = heldout_report(clf, load_heldout(HELDOUT))
    assert report["toxic_group"]["harmless_called_toxic"] < 0.05
    assert report["toxic_group"]["recall"] > 0.7
    assert report["polarity"]["not_negative_called_negative"] < 0.05


def test_corpus_loader_reads_extra_columns_and_names_a_wrong_header(tmp_path):
    path = tmp_path / "heldout.tsv"
    path.write_text("text\tpolarity\ttoxic\tquestion\tkind\nHallo\tneutral\t0\t0\tgroup\n", encoding="utf-8")
    assert load_corpus(path, extra_columns=("kind",))["kind"] == ["group"]
    with pytest.raises(ValueError, match="heldout.tsv: header must be text, polarity, toxic, question \\(tab"):
        load_corpus(path)
    for row in ("Hallo\tneutral\t0\t0", "Hallo\tneutral\t0\t0\t", "Hallo\tneutral\t\t0\tgroup",
                "Hallo\tneutral\t01\t0\tgroup"):  # a missing or empty cell, "01" is no label
        path.write_text(f"text\tpolarity\ttoxic\tquestion\tkind\n{row}\n", encoding="utf-8")
        with pytest.raises(ValueError, match="heldout.tsv:2: malformed row"):
            load_corpus(path, extra_columns=("kind",))
    for wrong in ("kind", ("toxic",)):  # a bare string would be read as four one-letter columns
        with pytest.raises(ValueError, match="extra_columns"):
            load_corpus(path, extra_columns=wrong)


def test_heldout_reports_leave_undefined_rates_undefined():
    """A part of a held-out file without toxic rows or calls must not report precision or recall 0."""
    from benchmarks.heldout import polarity_report, toxic_report
    report = toxic_report(np.array([0, 0, 1]), np.array([False, False, False]), np.array([0.1, 0.2, 0.3]))
    assert report["precision"] is None and report["recall"] == 0.0 and report["harmless_called_toxic"] == 0.0
    assert toxic_report(np.array([0, 0]), np.array([True, False]), np.array([0.9, 0.1]))["recall"] is None
    assert polarity_report(np.array([], dtype=int), np.array([], dtype=int)) == {"n": 0}
    both = polarity_report(np.array([0, 1, 2, 1]), np.array([0, 0, 2, 1]))
    assert both["accuracy"] == 0.75 and both["not_negative_called_negative"] == round(1 / 3, 3)
