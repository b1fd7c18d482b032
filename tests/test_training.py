"""Tests for the training-file parsers and the `stormwatch train` round trip into `classify --model`."""
from __future__ import annotations

import io
import json
import pathlib

import numpy as np
import pytest

from detectors.classifier import TextClassifier, default_model_dir
from detectors.datasets import DatasetError, load_dataset
from monitor.classify_cmd import classify_stream
from detectors.training import DEFAULT_CORPUS, load_corpus
from monitor.train_cmd import default_model_command, train_command

# Five examples per class are the minimum that 5-fold calibration accepts.
GE2018_GOOD = "".join(
    [f"Du bist ein Vollidiot Nummer {i}|LBR|echt\tOFFENSE\tINSULT\n" for i in range(5)]
    + [f"Schöner Tag heute am See {i}\tOTHER\tOTHER\n" for i in range(5)]
)
GE2017_GOOD = "".join(
    [f'http://x/{i}\tDie Bahn ist "wieder" zu spät {i}\ttrue\tnegative\tAllgemein#Haupt:negative\n' for i in range(5)]
    + [f"http://y/{i}\tFahrplan gilt ab Montag {i}\tfalse\tneutral\n" for i in range(5)]
    + [f"http://z/{i}\tSuper Service, danke {i}\ttrue\tpositive\n" for i in range(5)]
)
GE2021_GOOD = "comment_id,comment_text,Sub1_Toxic,Sub2_Engaging,Sub3_FactClaiming\n" + "".join(
    [f'{i},"Halt die Klappe, du Schwachkopf, ""Experte"" {i}",1,0,0\n' for i in range(5)]
    + [f'{i + 5},"Interessante Sendung,\nguter Beitrag {i}",0,1,0\n' for i in range(5)]
)
CSV_POLARITY = "text,polarity\n" + "".join(
    f'"{t} {i}",{label}\n' for i in range(5)
    for t, label in (("Das Amt ist furchtbar langsam", "negative"), ("Die Sitzung ist am Montag", "neutral"),
                     ("Danke, super geholfen", "positive"))
)
TSV_QUESTION = "text\tpolarity\ttoxic\tquestion\n" + "".join(
    f"Wann öffnet das Bürgeramt {i}?\tneutral\t0\t1\nDas Bürgeramt öffnet um {i} Uhr.\tneutral\t0\t0\n" for i in range(5)
)

GOOD_CASES = [
    # (format, task, content, n, class counts, first text)
    ("germeval2018", "toxicity", GE2018_GOOD, 10, {"0": 5, "1": 5}, "Du bist ein Vollidiot Nummer 0 echt"),
    ("germeval2017", "polarity", GE2017_GOOD, 15, {"negative": 5, "neutral": 5, "positive": 5},
     'Die Bahn ist "wieder" zu spät 0'),
    ("germeval2021", "toxicity", GE2021_GOOD, 10, {"0": 5, "1": 5}, 'Halt die Klappe, du Schwachkopf, "Experte" 0'),
    ("csv", "polarity", CSV_POLARITY, 15, {"negative": 5, "neutral": 5, "positive": 5}, "Das Amt ist furchtbar langsam 0"),
    ("csv", "question", TSV_QUESTION, 10, {"0": 5, "1": 5}, "Wann öffnet das Bürgeramt 0?"),
    ("csv", "toxicity", "text;toxic\r\n" + "".join(f"Idiot {i};1\r\nHallo {i};0\r\n" for i in range(5)), 10,
     {"0": 5, "1": 5}, "Idiot 0"),
]


@pytest.mark.parametrize("fmt,task,content,n,counts,first", GOOD_CASES, ids=[f"{c[0]}-{c[1]}" for c in GOOD_CASES])
def test_parsers_read_good_files(tmp_path, fmt, task, content, n, counts, first):
    path = tmp_path / "data.txt"
    path.write_text(content, encoding="utf-8")
    dataset = load_dataset(path, fmt, task)
    assert len(dataset) == n
    assert dataset.class_counts() == counts
    assert dataset.texts[0] == first
    assert dataset.labels.dtype == np.int64


def _replace_line(content: str, number: int, new: str) -> str:
    lines = content.splitlines(keepends=True)
    lines[number - 1] = new
    return "".join(lines)


BAD_CASES = [
    # (format, task, content (str or bytes), expected line or None, fragment of the message)
    ("germeval2018", "toxicity", _replace_line(GE2018_GOOD, 3, "nur Text ohne Label\n"), 3, "3 tab-separated"),
    ("germeval2018", "toxicity", _replace_line(GE2018_GOOD, 4, "Text\tOFFENSIVE\tINSULT\n"), 4, "'OFFENSIVE'"),
    ("germeval2018", "toxicity", _replace_line(GE2018_GOOD, 2, "Text\tOFFENSE\tRUDE\n"), 2, "fine label 'RUDE'"),
    ("germeval2018", "polarity", GE2018_GOOD, None, "no labels for task 'polarity'"),
    ("germeval2018", "toxicity", "".join(GE2018_GOOD.splitlines(keepends=True)[:7]), None, "too few examples"),
    ("germeval2018", "toxicity", GE2018_GOOD.encode("utf-8").replace(b"See 2", b"See \xe42"), 8, "not valid UTF-8"),
    ("germeval2017", "polarity", _replace_line(GE2017_GOOD, 6, "http://y\tText\tfalse\tmixed\n"), 6, "'mixed'"),
    ("germeval2017", "polarity", _replace_line(GE2017_GOOD, 2, "http://y\tText\n"), 2, "4 or 5 tab-separated"),
    ("germeval2017", "polarity", _replace_line(GE2017_GOOD, 9, "http://y\tText\tmaybe\tneutral\n"), 9, "relevance"),
    ("germeval2021", "toxicity", GE2021_GOOD.replace("Sub1_Toxic", "toxic"), 1, "lacks column(s) Sub1_Toxic"),
    ("germeval2021", "toxicity", _replace_line(GE2021_GOOD, 4, '3,"Text",2,0,0\n'), 4, "'2'"),
    # Records 6-10 span two lines each (quoted newline), so the record with id 7 starts on line 11.
    ("germeval2021", "toxicity", GE2021_GOOD.replace('"Interessante Sendung,\nguter Beitrag 2",0,1,0', '"kaputt",1,0'),
     11, "expected 5 fields"),
    ("germeval2021", "question", GE2021_GOOD, None, "no labels for task 'question'"),
    ("csv", "polarity", CSV_POLARITY.replace("text,polarity", "comment,polarity"), 1, "lacks column(s) text"),
    ("csv", "polarity", CSV_POLARITY.replace("text,polarity", "text,sentiment"), 1, "lacks column(s) polarity"),
    ("csv", "polarity", _replace_line(CSV_POLARITY, 5, '"Naja",positiv\n'), 5, "unknown polarity label 'positiv'"),
    ("csv", "toxicity", "text,toxic\n" + "".join(f"a {i},1\nb {i},yes\n" for i in range(5)), 3, "'yes'"),
    ("csv", "polarity", CSV_POLARITY + '"offenes Zitat,negative\n', 17, "malformed CSV"),
    ("csv", "polarity", "", None, "file is empty"),
    ("csv", "polarity", "text,polarity\n\n", None, "no examples"),
    ("csv", "polarity", CSV_POLARITY.replace(",positive", ",neutral"), None, "positive: 0"),
]


@pytest.mark.parametrize("fmt,task,content,line,fragment", BAD_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_CASES)])
def test_parsers_reject_bad_files_with_file_and_line(tmp_path, fmt, task, content, line, fragment):
    path = tmp_path / "bad.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(DatasetError) as info:
        load_dataset(path, fmt, task)
    assert info.value.line == line
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}:" if line else f"{path}: ")


def test_missing_file_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="file not found"):
        load_dataset(tmp_path / "nope.csv", "csv", "polarity")


def test_train_then_classify_with_the_new_model(tmp_path):
    data = tmp_path / "fragen.tsv"
    data.write_text(TSV_QUESTION, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert train_command("question", str(data), "csv", str(tmp_path / "model"), None, 0, stdout=out, stderr=err) == 0
    report = json.loads(out.getvalue())
    assert report["task"] == "question" and set(report["cv_metrics"]) >= {"germeval_macro_f1", "accuracy"}
    calibration = report["cv_metrics"]["calibration"]["positive_class"]  # cross-fitted, see detectors.reliability
    assert 0.0 <= calibration["ece"] <= 1.0 and -1.0 <= calibration["share_error"] <= 1.0

    trained, shipped = TextClassifier.load(tmp_path / "model"), TextClassifier.load(default_model_dir())
    texts = ["Wann öffnet das Bürgeramt morgen?", "Ihr seid alle unfähig!", "Danke für die Hilfe"]
    new, old = trained.predict(texts), shipped.predict(texts)
    # Only the trained head changes; the others are copied bit for bit from the base model.
    for head in ("negative", "neutral", "positive", "toxic"):
        np.testing.assert_array_equal(getattr(new, head), getattr(old, head))
    assert not np.array_equal(new.question, old.question)
    assert trained.info["trained_heads"]["question"]["data"]["rows"] == 10
    assert set(trained.info["trained_heads"]["question"]["trained_with"]) == {"python", "blas", "numpy",
                                                                              "scipy", "scikit-learn"}

    stdout, stderr = io.StringIO(), io.StringIO()
    code = classify_stream(io.StringIO("\n".join(texts) + "\n"), stdout, stderr, model_dir=str(tmp_path / "model"),
                           jsonl=False)
    rows = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert code == 0 and len(rows) == 3
    assert rows[0]["question"] == pytest.approx(float(new.question[0]), abs=1e-4)


def test_toxicity_head_transfers_from_the_base_model(tmp_path):
    rows = ["text,toxic"] + [f"Ihr Idioten {i} seid unfähig,1" for i in range(8)] + \
        [f"Danke für die Auskunft {i},0" for i in range(8)]
    data = tmp_path / "tox.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = io.StringIO()
    assert train_command("toxicity", str(data), "csv", str(tmp_path / "m"), None, 0, stdout=out,
                         stderr=io.StringIO()) == 0
    head = TextClassifier.load(tmp_path / "m").info["trained_heads"]["toxicity"]
    # the base model's toxicity logit is a feature of the new head and is folded into its weights
    assert head["transfer"]["base_columns"] == ["toxic"] and head["transfer"]["weights"][0] > 0
    assert head["feature_scaling"] == "nb"
    calibration = TextClassifier.load(tmp_path / "m").info["calibration"]["toxic"]
    assert 0.05 <= calibration["threshold"] <= 0.95
    # the authority's own head replaces P(toxic) whole: the shipped threat term was fitted for the shipped head
    assert "threat_weight" not in calibration
    assert TextClassifier.load().info["calibration"]["toxic"]["threat_weight"] > 0


def test_train_reports_bad_data_without_traceback(tmp_path):
    data = tmp_path / "kaputt.csv"
    data.write_text("text,toxic\nHallo,1\nDu Idiot,vielleicht\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert train_command("toxicity", str(data), "csv", str(tmp_path / "m"), None, 0, stdout=out, stderr=err) == 2
    assert err.getvalue() == f"stormwatch train: {data}:3: unknown toxic label 'vielleicht', expected 0|1\n"
    assert not (tmp_path / "m").exists()


def test_train_refuses_to_overwrite_the_shipped_model(tmp_path):
    data = tmp_path / "fragen.tsv"
    data.write_text(TSV_QUESTION, encoding="utf-8")
    err = io.StringIO()
    assert train_command("question", str(data), "csv", str(default_model_dir()), None, 0,
                         stdout=io.StringIO(), stderr=err) == 2
    assert "refusing to overwrite" in err.getvalue()


def test_train_click_command_parses_options(tmp_path):
    from click.testing import CliRunner

    from monitor.train_cmd import train

    result = CliRunner().invoke(train, ["--task", "toxicity", "--data", str(tmp_path / "x.csv"), "--format", "csv",
                                        "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "file not found" in result.output and "Traceback" not in result.output


GERMEVAL2018 = pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "germeval2018" / \
    "germeval2018.training.txt"


def test_default_model_option_refuses_head_options_and_names_missing_files(tmp_path):
    from click.testing import CliRunner

    from monitor.train_cmd import train

    runner = CliRunner()
    mixed = runner.invoke(train, ["--default-model", "--task", "toxicity", "--out", str(tmp_path / "m")])
    assert mixed.exit_code == 2 and "leave out --task" in mixed.output
    neither = runner.invoke(train, ["--out", str(tmp_path / "m")])
    assert neither.exit_code == 2 and "missing --task, --data, --format" in neither.output
    absent = runner.invoke(train, ["--default-model", "--germeval2018", str(tmp_path / "nope.txt"),
                                   "--out", str(tmp_path / "m")])
    assert absent.exit_code == 2 and "nope.txt: no such file" in absent.output
    assert not (tmp_path / "m").exists()


def test_default_model_option_reports_a_malformed_corpus_line(tmp_path):
    corpus, germeval = tmp_path / "corpus.tsv", tmp_path / "germeval.txt"
    corpus.write_text("text\tpolarity\ttoxic\tquestion\nAlles gut\tpositive\t0\t0\nKaputte Zeile\twütend\t0\t0\n",
                      encoding="utf-8")
    germeval.write_text("Ein Tweet\tOTHER\tOTHER\n", encoding="utf-8")
    err = io.StringIO()
    code = default_model_command(str(tmp_path / "m"), str(germeval), str(corpus), 0, stdout=io.StringIO(), stderr=err)
    assert code == 2
    assert str(corpus) in err.getvalue() and "wütend" in err.getvalue()


@pytest.mark.skipif(not GERMEVAL2018.is_file(),
                    reason="GermEval 2018 training file not present (workplace data ../shared/data/germeval2018)")
def test_stormwatch_train_default_model_rebuilds_the_shipped_model(tmp_path):
    """The documented rebuild (`stormwatch train --default-model`) reproduces the shipped model (about a minute)."""
    from click.testing import CliRunner

    from monitor.train_cmd import train

    result = CliRunner().invoke(train, ["--default-model", "--out", str(tmp_path / "rebuilt")])
    assert result.exit_code == 0, result.output
    shipped, rebuilt = TextClassifier.load(), TextClassifier.load(tmp_path / "rebuilt")
    for key in ("version", "features", "hyperparameters", "training_data", "inference", "seed"):
        assert rebuilt.info[key] == shipped.info[key], key
    for key in ("heads", "hyperparameters", "training_data", "chunk_chars"):
        assert rebuilt.info["toxic_kinds"][key] == shipped.info["toxic_kinds"][key], key
    texts = load_corpus(DEFAULT_CORPUS)["texts"][::7]
    a, b = shipped.predict(texts), rebuilt.predict(texts)
    for head in ("negative", "neutral", "positive", "toxic", "question"):
        # lbfgs stops at its tolerance, so other BLAS kernels (same library versions, another CPU) or a newer
        # scipy land a little elsewhere: the same versions on another machine moved toxic probabilities by up to
        # 5e-4 (model.json's trained_with says what to compare); a change of data or code moves them 1e-2 and more.
        np.testing.assert_allclose(getattr(b, head), getattr(a, head), atol=2e-3, err_msg=head)
    for kind in a.kinds:
        np.testing.assert_allclose(b.kinds[kind], a.kinds[kind], atol=2e-3, err_msg=kind)


def test_train_scores_long_texts_as_classify_does():
    """The out-of-fold scores behind train's metrics, calibration and threshold split long texts into chunks
    exactly like TextClassifier; otherwise they would describe a model that `classify --model` never runs."""
    from detectors.classifier import _read_info, _read_weights
    from detectors.training import HYPERPARAMS, LinearHead, task_view

    base = default_model_dir()
    info = _read_info(base)
    weights, bias = _read_weights(base, info)
    calm = "Die Sitzung des Bauausschusses beginnt am Montag um 18 Uhr im Rathaus. "
    texts = ["Kurz und gut.", calm * 5 + "Ihr seid alle unfähige Vollidioten!", calm * 40, "Wer ist zuständig?"]
    assert len(texts[1]) > 280 and len(texts[2]) > 2000
    logits = TextClassifier.load(base).logits(texts)
    docs = np.arange(len(texts))

    # toxicity: the base head itself, and the same head reached through the transfer column only
    plain = task_view("toxicity", info, weights, bias, texts, {**HYPERPARAMS, "transfer": False, "style": False})
    head = (LinearHead(weights[:, [3]].astype(np.float64), bias[[3]].astype(np.float64)), np.zeros(0))
    np.testing.assert_allclose(plain.scores(head, docs), logits[:, 3], rtol=1e-5, atol=1e-4)
    via_transfer = task_view("toxicity", info, weights, bias, texts, {**HYPERPARAMS, "style": False})
    zero = (LinearHead(np.zeros((weights.shape[0], 1)), np.zeros(1)), np.ones(1))
    np.testing.assert_allclose(via_transfer.scores(zero, docs), logits[:, 3], rtol=1e-5, atol=1e-4)
    # whole-text scoring would differ: the insult sits in one chunk of the second text
    assert abs(float(head[0].decision(plain.x)[1]) - float(logits[1, 3])) > 0.1

    polarity = task_view("polarity", info, weights, bias, texts, HYPERPARAMS)
    head = (LinearHead(weights[:, :3].astype(np.float64), bias[:3].astype(np.float64)), np.zeros(0))
    np.testing.assert_allclose(polarity.scores(head, docs), logits[:, :3], rtol=1e-5, atol=1e-4)


def test_style_terms_score_in_training_as_in_classify(tmp_path):
    """A head with style weights (detectors/style.py): the training view's scores (whole texts and chunks, with the
    base model's style term inside the transfer logit) equal what TextClassifier computes from model.json."""
    import shutil

    from detectors import style
    from detectors.classifier import _read_info, _read_weights
    from detectors.training import HYPERPARAMS, LinearHead, _set_style, task_view

    base = default_model_dir()
    calm = "Die Sitzung des Bauausschusses beginnt am Montag um 18 Uhr im Rathaus. "
    texts = ["KURZ UND GUT!!! 😂😂", calm * 5 + "Ihr seid alle unfähige Vollidioten!", calm * 40, "Wer ist zuständig? …",
             "„Zitat“ von @user: https://example.org 123"]
    rng = np.random.default_rng(0)
    w = rng.normal(0, 2, len(style.FEATURES))
    shutil.copytree(base, tmp_path / "m")
    info = _read_info(base)
    _set_style(info, ["toxic"], w)
    (tmp_path / "m" / "model.json").write_text(json.dumps(info), encoding="utf-8")
    styled = TextClassifier.load(tmp_path / "m")
    plain_logits = TextClassifier.load(base).logits(texts)
    logits = styled.logits(texts)
    assert np.abs(logits[:, 3] - plain_logits[:, 3]).max() > 0.5  # the term is there ...
    np.testing.assert_allclose(logits[:, [0, 1, 2, 4]], plain_logits[:, [0, 1, 2, 4]], rtol=1e-6)  # ... and only there
    weights, bias = _read_weights(base, info)
    docs = np.arange(len(texts))
    # the model's own toxicity head with these style weights, as a head trained without transfer
    own = task_view("toxicity", info, weights, bias, texts, {**HYPERPARAMS, "transfer": False})
    assert own.n_style == len(style.FEATURES)
    head = (LinearHead(weights[:, [3]].astype(np.float64), bias[[3]].astype(np.float64)), w)
    np.testing.assert_allclose(own.scores(head, docs), logits[:, 3], rtol=1e-5, atol=1e-4)
    # the styled model as a base: its style term reaches the new head through the transfer logit
    through = task_view("toxicity", info, weights, bias, texts, {**HYPERPARAMS, "style": False})
    zero = (LinearHead(np.zeros((weights.shape[0], 1)), np.zeros(1)), np.ones(1))
    np.testing.assert_allclose(through.scores(zero, docs), logits[:, 3], rtol=1e-5, atol=1e-4)


def test_a_broken_style_block_is_refused(tmp_path):
    import shutil

    from detectors.classifier import ModelError

    shutil.copytree(default_model_dir(), tmp_path / "m")
    info = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    from detectors import style

    for block in ({"scheme": "other", "features": list(style.FEATURES), "weights": {}},
                  {"scheme": style.SCHEME, "features": list(style.FEATURES), "weights": {"toxic": [1.0]}},
                  {"scheme": style.SCHEME, "features": list(style.FEATURES), "weights": {"negative": [0.0] * 13}},
                  {"scheme": style.SCHEME, "features": list(style.FEATURES),
                   "weights": {"toxic": [float("nan")] + [0.0] * 12}}):
        (tmp_path / "m" / "model.json").write_text(json.dumps({**info, "style": block}), encoding="utf-8")
        with pytest.raises(ModelError, match="style"):
            TextClassifier.load(tmp_path / "m")


def test_bootstrap_interval_matches_resampled_scores_and_narrows_with_more_texts():
    from detectors.training import bootstrap_germeval_macro_f1, bootstrap_scores, germeval_macro_f1

    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 400)
    predicted = np.where(rng.random(400) < 0.6, y, rng.integers(0, 3, 400))
    # each vectorised resample equals the official score of the same resample, texts repeated
    draws = np.random.default_rng(5).multinomial(400, np.full(400, 1 / 400), size=4)
    scores = bootstrap_scores(y, predicted, 4, seed=5)
    for counts, score in zip(draws, scores):
        idx = np.repeat(np.arange(400), counts)
        assert score == pytest.approx(germeval_macro_f1(y[idx], predicted[idx]), abs=1e-12)
    lo, hi = bootstrap_germeval_macro_f1(y, predicted)
    assert lo < germeval_macro_f1(y, predicted) < hi
    big_lo, big_hi = bootstrap_germeval_macro_f1(np.tile(y, 16), np.tile(predicted, 16))
    assert big_hi - big_lo < (hi - lo) / 2  # 16x the texts: about a quarter of the width


def test_style_features_for_polarity_are_refused_before_training():
    from detectors.classifier import _read_info, _read_weights
    from detectors.training import HYPERPARAMS, task_view

    base = default_model_dir()
    info = _read_info(base)
    weights, bias = _read_weights(base, info)
    with pytest.raises(ValueError, match="binary heads only"):
        task_view("polarity", info, weights, bias, ["Danke!"], {**HYPERPARAMS, "style": True})
