"""Kinds of toxicity (insult, abuse, threat): data checks, the shipped heads, old models, training."""
from __future__ import annotations

import io
import json
import pathlib
import shutil

import numpy as np
import pytest

from detectors import toxic_kinds
from detectors.classifier import TOXIC_KINDS, ModelError, TextClassifier, default_model_dir
from detectors.corpus import DEFAULT_CORPUS, load_corpus
from detectors.training import train_default_model
from monitor.classify_cmd import classify_stream

# Written for this test; none of them is in the corpus or the threat file (checked below).
THREATS = [
    "Herr Oberbürgermeister, ich weiß wo Ihr Auto parkt, und irgendwann brennt es.",
    "Noch ein Knöllchen und ich schlag der Politesse die Zähne ein.",
    "Wenn ihr das Jugendhaus dichtmacht, fliegt euch ein Molli durchs Fenster 🔥",
    "Den Typen vom Ordnungsamt sollte man nachts mal abpassen und verprügeln.",
]
INSULTS = [
    "Du bist echt der dümmste Sachbearbeiter, den ich je erlebt habe, du Vollpfosten.",
    "Frau Stadträtin, Sie sind eine strunzdumme Heuchlerin.",
]
NOT_THREATS = [
    "Ich werde Dienstaufsichtsbeschwerde einlegen und notfalls vor Gericht ziehen.",
    "Die Baustellenampel bringt mich jeden Morgen um den Verstand.",
    "Gestern wurde am Marktplatz ein Fahrrad angezündet, hat jemand etwas gesehen?",
    "Bei der nächsten Kommunalwahl bekommt ihr von uns die Quittung.",
]
CALM = [
    "Wann hat das Bürgerbüro am Donnerstag geöffnet?",
    "Danke für die schnelle Reparatur der Straßenlaterne!",
    "Die Linie 4 fährt ab Montag wieder nach Plan.",
]


@pytest.fixture(scope="module")
def clf() -> TextClassifier:
    return TextClassifier.load()


def test_fresh_examples_are_not_training_texts():
    known = {t.lower() for t in load_corpus(DEFAULT_CORPUS)["texts"]}
    threats = toxic_kinds.load_threats(toxic_kinds.DEFAULT_THREATS, load_corpus(DEFAULT_CORPUS)["texts"])
    known |= {t.lower() for t in threats.texts}
    assert not {t.lower() for t in THREATS + INSULTS + NOT_THREATS + CALM} & known


HELDOUT = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "threats_heldout_de.tsv"


def test_heldout_threat_texts_are_never_trained_on_and_rank_above_harmless_ones(clf):
    """benchmarks/threat_heldout.py measures on this file; it only means something while no text is trained on."""
    from sklearn.metrics import roc_auc_score

    corpus = load_corpus(DEFAULT_CORPUS)["texts"]
    heldout = toxic_kinds.load_threats(HELDOUT, corpus_texts=[])
    trained = {t.strip().lower() for t in toxic_kinds.load_threats(toxic_kinds.DEFAULT_THREATS, corpus).texts}
    trained |= {t.strip().lower() for t in corpus}
    assert not {t.strip().lower() for t in heldout.texts} & trained
    assert heldout.labels.sum() >= 30 and (1 - heldout.labels).sum() >= 80
    # Measured 0.87 to 0.89 across the three rounds of threat data; below 0.8 the head has lost what it knew.
    assert roc_auc_score(heldout.labels, clf.predict(heldout.texts).kinds["threat"]) > 0.8


def test_threat_file_labels_every_toxic_corpus_comment_once():
    corpus = load_corpus(DEFAULT_CORPUS)
    threats = toxic_kinds.load_threats(toxic_kinds.DEFAULT_THREATS, corpus["texts"])
    rows = threats.corpus_rows[threats.corpus_rows >= 0]
    assert len(set(rows.tolist())) == len(rows)
    assert set(np.flatnonzero(corpus["toxic"] == 1).tolist()) <= set(rows.tolist())
    assert len({t.lower() for t in threats.texts}) == len(threats.texts)
    new = threats.corpus_rows < 0
    # Enough of both kinds among the texts written for the file, so the head learns look-alikes too.
    assert threats.labels[new].sum() >= 150 and (1 - threats.labels[new]).sum() >= 150


def test_shipped_model_scores_the_kinds(clf):
    assert clf.has_kinds
    scores = clf.predict(THREATS + INSULTS + NOT_THREATS + CALM)
    kinds = scores.kinds
    assert set(kinds) == set(TOXIC_KINDS)
    for values in kinds.values():
        assert values.shape == (len(scores),) and np.all((values >= 0) & (values <= 1))
    n_t, n_i, n_n = len(THREATS), len(INSULTS), len(NOT_THREATS)
    threat = kinds["threat"]
    assert np.all(threat[:n_t] > 0.5), threat[:n_t]
    assert np.all(threat[n_t + n_i:] < 0.5), threat[n_t + n_i:]
    # Insults: insult is their most probable kind, and they are not counted as threats.
    insult_rows = slice(n_t, n_t + n_i)
    stacked = np.column_stack([kinds[k][insult_rows] for k in TOXIC_KINDS])
    assert np.all(stacked.argmax(axis=1) == TOXIC_KINDS.index("insult")), stacked
    calm = slice(n_t + n_i + n_n, None)
    assert all(np.all(kinds[k][calm] < 0.1) for k in TOXIC_KINDS), {k: kinds[k][calm] for k in TOXIC_KINDS}


def test_a_threat_at_the_end_of_a_long_complaint_is_found(clf):
    complaint = ("Seit drei Monaten warte ich auf einen Termin beim Bürgeramt. Niemand geht ans Telefon, "
                 "E-Mails werden nicht beantwortet, und am Schalter schickt man mich wieder nach Hause. ") * 4
    threat = THREATS[0]
    scores = clf.predict([complaint, complaint + threat])
    assert scores.kinds["threat"][1] > 0.5 > scores.kinds["threat"][0]


def test_classify_writes_the_kinds(clf):
    out, err = io.StringIO(), io.StringIO()
    assert classify_stream(io.StringIO(THREATS[1] + "\n" + CALM[0] + "\n"), out, err, model_dir=None,
                           jsonl=False) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [sorted(r["toxic_kinds"]) for r in rows] == [sorted(TOXIC_KINDS)] * 2
    assert rows[0]["toxic_kinds"]["threat"] > rows[1]["toxic_kinds"]["threat"]


def _copy_model(tmp_path: pathlib.Path) -> pathlib.Path:
    target = tmp_path / "model"
    shutil.copytree(default_model_dir(), target)
    return target


def test_model_without_kind_heads_still_loads(clf, tmp_path):
    old = _copy_model(tmp_path)
    info = json.loads((old / "model.json").read_text(encoding="utf-8"))
    del info["toxic_kinds"]
    (old / "model.json").write_text(json.dumps(info), encoding="utf-8")
    (old / "kinds.npz").unlink()
    with pytest.raises(ModelError, match="threat_weight needs the kind heads"):
        TextClassifier.load(old)
    del info["calibration"]["toxic"]["threat_weight"]  # as models before 0.5.1 were written
    (old / "model.json").write_text(json.dumps(info), encoding="utf-8")
    model = TextClassifier.load(old)
    assert not model.has_kinds
    scores = model.predict(CALM + THREATS)
    assert scores.kinds is None and "toxic_kinds" not in scores.row(0)
    # Where the threat head does not flag a text, the threat term is 0 and P(toxic) is the same.
    np.testing.assert_allclose(scores.toxic[:len(CALM)], clf.predict(CALM).toxic, rtol=1e-6)


def test_a_likely_threat_raises_p_toxic_and_nothing_else_does(clf):
    """The toxicity head misses threats without insulting words; P(toxic) takes the threat head's term."""
    from detectors.classifier import sigmoid

    texts = THREATS + INSULTS + NOT_THREATS + CALM
    scores = clf.predict(texts)
    toxic = clf.info["calibration"]["toxic"]
    assert toxic["threat_weight"] > 0
    z = clf.all_logits(texts)
    plain = sigmoid(toxic["a"] * z[:, 3] + toxic["b"])
    flagged = scores.kinds["threat"] > 0.5
    # inference computes what training fitted (training.toxic_probability on the calibrated threat logit)
    from detectors.training import toxic_probability

    threat = clf.info["toxic_kinds"]["calibration"]["threat"]
    threat_logit = threat["a"] * z[:, 5 + TOXIC_KINDS.index("threat")] + threat["b"]
    np.testing.assert_allclose(scores.toxic, toxic_probability(z[:, 3], toxic, threat_logit), rtol=1e-5)
    np.testing.assert_allclose(scores.toxic[~flagged], plain[~flagged], rtol=1e-5)
    assert np.all(scores.toxic[flagged] > plain[flagged])
    # "Noch ein Knöllchen und ich schlag der Politesse die Zähne ein.": P(toxic) 0.34 from the toxicity head alone
    assert np.all(scores.is_toxic()[:len(THREATS)]), scores.toxic[:len(THREATS)]
    assert not np.any(scores.is_toxic()[-len(CALM):]), scores.toxic


@pytest.mark.parametrize("where", ["toxic", "question", "threat"])
def test_a_calibration_that_is_not_a_number_is_refused(tmp_path, where):
    model = _copy_model(tmp_path)
    info = json.loads((model / "model.json").read_text(encoding="utf-8"))
    block = info["toxic_kinds"]["calibration"] if where == "threat" else info["calibration"]
    block[where]["b"] = float("nan")
    (model / "model.json").write_text(json.dumps(info), encoding="utf-8")  # json writes NaN and reads it back
    with pytest.raises(ModelError, match="not a finite number"):
        TextClassifier.load(model)


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf")])
def test_an_impossible_threat_weight_is_refused(tmp_path, weight):
    model = _copy_model(tmp_path)
    info = json.loads((model / "model.json").read_text(encoding="utf-8"))
    info["calibration"]["toxic"]["threat_weight"] = weight
    (model / "model.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(ModelError, match="threat_weight"):
        TextClassifier.load(model)


def test_the_threat_term_is_fitted_only_where_threats_are_toxic():
    from detectors.training import fit_toxic_with_threat, toxic_probability

    rng = np.random.default_rng(0)
    n = 4000
    y = (rng.random(n) < 0.2).astype(int)
    score = rng.normal(2.0 * y - 1.0, 1.0)
    # a third of the toxic texts are threats that the toxicity head scores like harmless ones
    threat = (y == 1) & (rng.random(n) < 0.33)
    score[threat] = rng.normal(-1.0, 1.0, threat.sum())
    threat_logit = np.where(threat, rng.normal(3.0, 1.0, n), rng.normal(-4.0, 1.0, n))
    cal = fit_toxic_with_threat(score, threat_logit, y)
    assert cal["threat_weight"] > 0.5
    p = toxic_probability(score, cal, threat_logit)
    assert abs(p.mean() - y.mean()) < 0.01  # calibrated in the large
    assert (p[threat] > cal["threshold"]).mean() > 0.8
    # threat logits that say "threat" for harmless texts only: the weight would be negative, so it is 0
    misleading = np.where((y == 0) & (rng.random(n) < 0.3), 3.0, -4.0)
    assert fit_toxic_with_threat(score, misleading, y)["threat_weight"] == 0.0


def test_broken_kind_files_are_refused_with_the_path(tmp_path):
    model = _copy_model(tmp_path)
    (model / "kinds.npz").unlink()
    with pytest.raises(ModelError, match="kinds.npz"):
        TextClassifier.load(model)
    with np.load(default_model_dir() / "kinds.npz") as data:
        arrays = {k: data[k].copy() for k in data.files}
    arrays["values"][0, 0] = np.nan
    np.savez(model / "kinds.npz", **arrays)
    with pytest.raises(ModelError, match="NaN"):
        TextClassifier.load(model)
    info = json.loads((model / "model.json").read_text(encoding="utf-8"))
    info["toxic_kinds"]["heads"] = ["insult"]
    (model / "model.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(ModelError, match="toxic_kinds"):
        TextClassifier.load(model)


def test_nan_in_the_base_weights_is_refused(tmp_path):
    model = _copy_model(tmp_path)
    with np.load(model / "weights.npz") as data:
        arrays = {k: data[k].copy() for k in data.files}
    arrays["bias"][3] = np.inf
    np.savez(model / "weights.npz", **arrays)
    with pytest.raises(ModelError, match="weights.npz.*NaN or infinite"):
        TextClassifier.load(model)


def test_threat_file_errors_name_file_and_line(tmp_path):
    corpus = ["Erste Zeile", "Zweite Zeile"]
    bad = tmp_path / "threats.tsv"
    cases = {
        "text\tthreat\n": "header",
        "text\tthreat\tsource\nIch komme\t2\tnew\n": "threats.tsv:2",
        "text\tthreat\tsource\nAndere Zeile\t0\tcorpus:2\n": "threats.tsv:2: corpus:2",
        "text\tthreat\tsource\nErste Zeile\t0\tcorpus:2\nX\t1\tsomewhere\n": "threats.tsv:3",
    }
    for content, message in cases.items():
        bad.write_text(content, encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            toxic_kinds.load_threats(bad, corpus)
    bad.write_text("text\tthreat\tsource\nErste Zeile\t1\tcorpus:2\nIch finde dich\t1\tnew\n", encoding="utf-8")
    data = toxic_kinds.load_threats(bad, corpus)
    assert data.labels.tolist() == [1, 1] and data.corpus_rows.tolist() == [0, -1]


def test_every_toxic_corpus_comment_needs_a_threat_label():
    corpus = {"texts": ["a", "b", "c"], "toxic": np.array([0, 1, 1])}
    threats = toxic_kinds.ThreatData(["b"], np.array([1]), np.array([1]))
    with pytest.raises(ValueError, match="corpus:4"):
        toxic_kinds.kind_pool([], np.array([], dtype=str), corpus, threats)


SMALL_FEATURES = {"scheme": "stormwatch-hash-v1", "max_chars": 2000,
                  "word": {"n_features": 2**12, "ngram_range": [1, 2], "weight": 1.0},
                  "char": {"n_features": 2**12, "ngram_range": [3, 5], "weight": 1.0}}


def test_training_writes_reproducible_kind_heads(tmp_path):
    corpus_rows = [("Danke für die Hilfe", "positive", 0, 0), ("Wann ist das Amt offen?", "neutral", 0, 1),
                   ("Die Straße ist gesperrt", "neutral", 0, 0), ("Schlechter Service", "negative", 0, 0),
                   ("Ihr Idioten", "negative", 1, 0), ("Ich zünde euer Rathaus an", "negative", 1, 0),
                   ("Halt die Fresse", "negative", 1, 0), ("Toll gemacht", "positive", 0, 0),
                   ("Wo gibt es Sandsäcke?", "neutral", 0, 1), ("Super, weiter so", "positive", 0, 0),
                   ("Das dauert zu lange", "negative", 0, 0), ("Der Bus fährt heute nicht", "neutral", 0, 0)]
    corpus = tmp_path / "corpus.tsv"
    corpus.write_text("text\tpolarity\ttoxic\tquestion\n" + "".join(f"{t}\t{p}\t{x}\t{q}\n" for t, p, x, q in corpus_rows),
                      encoding="utf-8")
    germeval = tmp_path / "germeval.txt"
    tweets = [("@user du dummer Vollidiot", "OFFENSE", "INSULT"), ("Was für ein Drecksack", "OFFENSE", "INSULT"),
              ("Diese Penner gehören alle weg", "OFFENSE", "ABUSE"), ("Das Pack muss raus", "OFFENSE", "ABUSE"),
              ("Scheiße nochmal", "OFFENSE", "PROFANITY"), ("Den hängen wir auf", "OFFENSE", "ABUSE"),
              ("Schönes Wetter heute", "OTHER", "OTHER"), ("Guten Morgen zusammen", "OTHER", "OTHER"),
              ("Ich gehe einkaufen", "OTHER", "OTHER"), ("Das Spiel war spannend", "OTHER", "OTHER")]
    germeval.write_text("".join("\t".join(t) + "\n" for t in tweets), encoding="utf-8")
    threats = tmp_path / "threats.tsv"
    threats.write_text("text\tthreat\tsource\nIhr Idioten\t0\tcorpus:6\nIch zünde euer Rathaus an\t1\tcorpus:7\n"
                       "Halt die Fresse\t0\tcorpus:8\nIch mach dich kalt\t1\tnew\nWir sehen uns vor Gericht\t0\tnew\n"
                       "Dein Haus brennt bald\t1\tnew\nIch beschwere mich\t0\tnew\n", encoding="utf-8")
    germeval_threats = tmp_path / "germeval_threats.tsv"
    germeval_threats.write_text("line\tthreat\n1\t0\n2\t0\n3\t0\n4\t0\n5\t0\n6\t1\n", encoding="utf-8")
    for name in ("m1", "m2"):
        metrics = train_default_model(tmp_path / name, germeval, corpus, seed=1, n_folds=2, features=SMALL_FEATURES,
                                      threats_path=threats, germeval_threats_path=germeval_threats)
    assert 0.0 <= metrics["germeval2018_fine_macro_f1"] <= 1.0
    for file in ("kinds.npz", "weights.npz", "model.json"):
        assert (tmp_path / "m1" / file).read_bytes() == (tmp_path / "m2" / file).read_bytes()
    model = TextClassifier.load(tmp_path / "m1")
    assert model.has_kinds
    block = model.info["toxic_kinds"]
    assert block["training_data"]["threats"]["threats"] == 3
    assert block["training_data"]["germeval2018_threats"]["threats"] == 1
    # The raw threat logit (column after the five base heads and insult, abuse) of a learned threat beats a
    # greeting; calibrated probabilities from 2-fold CV on a dozen texts would say little.
    logits = model.all_logits(["Ich mach dich kalt", "Guten Morgen zusammen"])
    assert logits.shape == (2, 5 + len(TOXIC_KINDS))
    assert logits[0, 5 + TOXIC_KINDS.index("threat")] > logits[1, 5 + TOXIC_KINDS.index("threat")]
    assert len(model.predict(["Ich mach dich kalt"]).kinds["threat"]) == 1
    assert model.info["calibration"]["toxic"]["threat_weight"] >= 0.0
    # Without a threat file the model has no kind heads, and a stale kinds.npz does not survive.
    train_default_model(tmp_path / "m1", germeval, corpus, seed=1, n_folds=2, features=SMALL_FEATURES,
                        threats_path=None)
    assert not (tmp_path / "m1" / "kinds.npz").exists()
    assert "threat_weight" not in TextClassifier.load(tmp_path / "m1").info["calibration"]["toxic"]
    assert not TextClassifier.load(tmp_path / "m1").has_kinds
    # Without GermEval threat labels the offensive tweets have no threat label and no out-of-fold threat logit:
    # they get no threat term, and training still works.
    train_default_model(tmp_path / "m3", germeval, corpus, seed=1, n_folds=2, features=SMALL_FEATURES,
                        threats_path=threats, germeval_threats_path=None)
    toxic = TextClassifier.load(tmp_path / "m3").info["calibration"]["toxic"]
    assert np.isfinite([toxic["a"], toxic["b"], toxic["threat_weight"], toxic["threshold"]]).all()


def test_germeval_threat_labels_must_cover_exactly_the_offensive_tweets(tmp_path):
    fine = np.array(["OTHER", "INSULT", "ABUSE", "OTHER"])
    labels = tmp_path / "g.tsv"
    labels.write_text("line\tthreat\n2\t0\n3\t1\n", encoding="utf-8")
    assert toxic_kinds.load_germeval_threats(labels, fine).tolist() == [0, 0, 1, 0]
    for content, message in {"line\tthreat\n2\t0\n": "line 3 has no label",
                             "line\tthreat\n2\t0\n3\t1\n4\t0\n": "g.tsv:4: line 4 is no offensive tweet",
                             "line\tthreat\n2\t0\n2\t1\n": "g.tsv:3",
                             "line\tthreat\nzwei\t0\n": "g.tsv:2: malformed"}.items():
        labels.write_text(content, encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            toxic_kinds.load_germeval_threats(labels, fine)
