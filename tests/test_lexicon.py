"""The polarity lexicon (textblob-de's file) and the two lexicon feature columns built from it."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from detectors import lexicon as lexicon_module
from detectors.classifier import ModelError, TextClassifier, default_model_dir
from detectors.lexicon import LexiconError, checked_lexicon, inflected_forms, load_lexicon, parse
from detectors.textfeatures import DEFAULT_FEATURES, Featurizer, default_features, word_features

SAMPLE = """<?xml version='1.0' encoding='utf-8'?>
<sentiment>
  <word confidence="1.0" form="schlecht" intensity="1.0" polarity="-1.0" pos="JJ" subjectivity="0.0"/>
  <word confidence="1.0" form="Chaos" intensity="1.0" polarity="-0.7" pos="NN" subjectivity="0.0"/>
  <word confidence="1.0" form="loben" intensity="1.0" polarity="1.0" pos="VB" subjectivity="0.0"/>
  <word confidence="1.0" form="Tisch" intensity="1.0" polarity="0" pos="NN" subjectivity="0.0"/>
  <word confidence="1.0" form="kaputt" intensity="1.0" polarity="oops" pos="JJ" subjectivity="0.0"/>
</sentiment>
"""


def test_parse_expands_regular_inflections_and_skips_neutral_or_broken_entries():
    polarity = parse(SAMPLE)
    assert polarity["schlecht"] == polarity["schlechten"] == polarity["schlechteste"] == -1.0
    assert polarity["chaos"] == -0.7
    assert polarity["gelobt"] == polarity["lobt"] == 1.0
    assert "tisch" not in polarity  # polarity 0 carries nothing
    assert "kaputt" not in polarity  # unparsable polarity is skipped, not fatal


def test_a_listed_lemma_wins_over_an_inflection_of_another_lemma():
    xml = ('<word form="arm" polarity="-1.0" pos="JJ"/>'
           '<word form="arme" polarity="0.5" pos="NN"/>')
    assert parse(xml)["arme"] == 0.5


def test_verb_forms_only_for_real_infinitives():
    assert inflected_forms("sein", "VB") == {"sein"}


def test_installed_lexicon_is_the_expected_size_and_knows_common_words():
    lexicon = load_lexicon()
    assert len(lexicon.polarity) > 40_000
    assert lexicon.polarity["katastrophal"] < 0 < lexicon.polarity["hervorragend"]
    assert len(lexicon.sha256) == 64


def test_lexicon_columns_hold_polarity_weighted_shares():
    lexicon = {"schlecht": -1.0, "super": 1.0, "mies": -0.5}
    docs = ["das ist schlecht und mies", "super", "nichts davon", ""]
    with_lex = word_features(docs, 2**10, (1, 1), lexicon, lexicon_weight=2.0)
    without = word_features(docs, 2**10, (1, 1))
    extra = (with_lex - without).toarray()
    neg_col, pos_col = np.nonzero(extra[0])[0][0], np.nonzero(extra[1])[0][0]
    assert extra[0, neg_col] == pytest.approx(2.0 * 1.5 / 5)  # (1.0 + 0.5) over five tokens
    assert extra[1, pos_col] == pytest.approx(2.0 * 1.0 / 1)
    assert not extra[2].any() and not extra[3].any()
    assert neg_col != pos_col  # the two pseudo-words must not share a hash bucket


def test_old_feature_settings_ignore_the_lexicon():
    texts = ["Das ist eine katastrophale Baustelle", "Hervorragender Service!"]
    assert "lexicon" not in DEFAULT_FEATURES
    plain = Featurizer(DEFAULT_FEATURES).transform(texts)
    lexical = Featurizer(default_features(lexicon_weight=4.0)).transform(texts)
    assert (plain != Featurizer(default_features(0.0)).transform(texts)).nnz == 0
    assert (plain != lexical).nnz > 0


def test_a_model_trained_with_another_lexicon_fails_to_load_with_a_clear_message(tmp_path):
    model = TextClassifier.load()
    if "lexicon" not in model.info["features"]:
        pytest.fail("the shipped model is expected to use lexicon features")
    target = tmp_path / "model"
    shutil.copytree(default_model_dir(), target)
    info = json.loads((target / "model.json").read_text(encoding="utf-8"))
    info["features"]["lexicon"]["sha256"] = "0" * 64
    (target / "model.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(ModelError, match="textblob-de==0.4.3"):
        TextClassifier.load(target)


def test_missing_lexicon_package_names_the_package(monkeypatch):
    monkeypatch.setattr(lexicon_module.importlib.util, "find_spec", lambda name: None)
    load_lexicon.cache_clear()
    try:
        with pytest.raises(LexiconError, match="pip install textblob-de"):
            checked_lexicon("0" * 64)
    finally:
        load_lexicon.cache_clear()
