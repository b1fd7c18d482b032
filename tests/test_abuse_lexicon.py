"""The abuse lexicon: parsing, matching of words, compound heads and prefixes, and its feature columns."""
import pathlib

import numpy as np
import pytest

from detectors import abuse_lexicon
from detectors.abuse_lexicon import AbuseLexiconError, build
from detectors.classifier import TextClassifier, default_model_dir
from detectors.corpus import DEFAULT_CORPUS, load_corpus
from detectors.textfeatures import (ABUSE_TOKENS, Featurizer, _pseudo_word_columns, default_features, normalise_batch,
                                    word_features)

SMALL = (
    "term\tkind\tmatch\n"
    "idiot\tinsult\tword\n"
    "idiot\tinsult\thead\n"
    "pack\tdehumanising\thead\n"
    "kanake\tslur\tword\n"
    "scheiß\tprofanity\tprefix\n"
    "drecks\tinsult\tprefix\n"
    "sixpack\texcept\tword\n"
    "schweinebraten\texcept\tword\n"
    "schwein\tinsult\thead\n"
    "nazi\tinsult\tword\n"
    "neonazi\texcept\tword\n"
    "ratte\tdehumanising\thead\n"
    "ratte\tambiguous\tword\n"
    "leseratte\texcept\tword\n"
).encode("utf-8")


@pytest.fixture()
def small():
    return build(SMALL, "small.tsv")


@pytest.mark.parametrize("token,kind", [
    ("idiot", "insult"), ("idioten", "insult"), ("idiotin", "insult"), ("#idioten", "insult"),
    ("verwaltungsidioten", "insult"),  # head
    ("zigeunerpack", "dehumanising"), ("beamten-pack", "dehumanising"), ("pack", None),  # bare head: no stem
    ("kanaken", "slur"), ("kanake!", "slur"), ("„kanaken“", "slur"),
    ("scheißwetter", "profanity"), ("scheisswetter", "profanity"),  # ß folded
    ("drecksbehörde", "insult"),
    ("sixpack", None), ("schweinebraten", None),  # exceptions
    ("bullenschweine", "insult"),  # head with a regular ending
    ("packung", None), ("idiotensicher", None), ("drecks", None),  # prefix needs 3 letters after it
    ("", None), ("***", None),
    ("idioten🤬🤬", "insult"), ("›idiot‹", "insult"), ("*idiot*", "insult"),  # emoji and marks glued to the word
    # hyphens: the whole compound, else its last part (word and head rules only); exceptions hold with hyphens too
    ("verwaltungs-ratte", "dehumanising"), ("lese-ratte", None), ("neo-nazi", None), ("nazi-parolen", None),
    ("anti-nazi-demo", None), ("drecks-behörde", "insult"), ("behörden-idioten", "insult"), ("-", None),
])
def test_kind_of_tokens(small, token, kind):
    assert small.kind_of(token) == kind


def test_column_of_groups_kinds_and_caches(small):
    assert small.column_of("idioten") == 0
    assert small.column_of("kanaken") == 1 and small.column_of("zigeunerpack") == 1
    assert small.column_of("scheißegal") == 2
    assert small.column_of("ratten") == 3 and small.column_of("hausbesetzerratten") == 1  # the word, the compound
    assert small.column_of("rathaus") == -1
    assert "rathaus" in small._cache


@pytest.mark.parametrize("text,problem", [
    ("term\tkind\n", "line 1"),
    ("term\tkind\tmatch\nidiot\tinsult\n", "line 2: expected 3"),
    ("term\tkind\tmatch\nIdiot\tinsult\tword\n", "lower-case"),
    ("term\tkind\tmatch\nvoll idiot\tinsult\tword\n", "lower-case token"),
    ("term\tkind\tmatch\nidiot\tbad\tword\n", "kind 'bad'"),
    ("term\tkind\tmatch\nidiot\tinsult\tsuffix\n", "match 'suffix'"),
    ("term\tkind\tmatch\nx\texcept\thead\n", "whole tokens"),
    ("term\tkind\tmatch\nidiot\tinsult\tword\n\nidiot\tslur\tword\n", "line 4: 'idiot' (word) is listed twice"),
])
def test_malformed_lexicon_names_file_and_line(text, problem):
    with pytest.raises(AbuseLexiconError, match="bad.tsv") as error:
        build(text.encode("utf-8"), "bad.tsv")
    assert problem in str(error.value)


def test_non_utf8_lexicon_is_refused():
    with pytest.raises(AbuseLexiconError, match="not UTF-8"):
        build("term\tkind\tmatch\nidiot\tinsult\tword\n".encode("utf-16"), "bad.tsv")


def test_abuse_block_counts_hits_with_diminishing_returns(small):
    docs = ["ihr idioten und ihr zigeunerpack", "scheißwetter heute", "schönes fest", "idiot idiot idiot"]
    plain = word_features(docs, 2**12, (1, 1))
    with_abuse = word_features(docs, 2**12, (1, 1), abuse=small, abuse_weight=2.0)
    extra = (with_abuse - plain).toarray()
    insult, slur, profanity, ambiguous, mentioned = _pseudo_word_columns(ABUSE_TOKENS, 2**12)
    assert extra[0, insult] == pytest.approx(1.0) and extra[0, slur] == pytest.approx(1.0)  # one hit: 1/2 * 2
    assert extra[1, profanity] == pytest.approx(1.0) and extra[1, insult] == 0
    assert not extra[2].any()  # no hit: the row is untouched
    assert extra[3, insult] == pytest.approx(2 * 3 / 4)
    assert not extra[:, mentioned].any()
    # A text without hits gets exactly the entries it has without the lexicon (same order, same bits).
    assert np.array_equal(with_abuse[2].indices, plain[2].indices) and np.array_equal(with_abuse[2].data, plain[2].data)


def test_shipped_lexicon_parses_and_matches_the_known_misses():
    lexicon = abuse_lexicon.load_abuse_lexicon()
    assert len(lexicon.words) > 300 and lexicon.heads and lexicon.prefixes
    # The slurs model 0.5.3 missed (MODEL_CARD, Known weaknesses), and everyday words that must stay clean.
    assert lexicon.kind_of("kanaken") in ("slur", "dehumanising")
    assert lexicon.kind_of("zigeunerpack") in ("slur", "dehumanising")
    for harmless in ("packung", "rathaus", "bürgermeisterin", "sauber", "sauer", "gepäck", "meerschweinchen",
                     "schweinebraten", "rucksack", "hundeschule", "idiotensicher", "anti-nazi-demo", "lese-ratte",
                     "nazi-parolen", "wild-schwein"):
        assert lexicon.kind_of(harmless) is None, harmless


def test_featurizer_records_and_checks_the_lexicon_digest():
    settings = default_features(abuse_weight=1.0)
    assert settings["abuse"]["sha256"] == abuse_lexicon.load_abuse_lexicon().sha256
    x = Featurizer(settings).transform(["Ihr Kanaken", "Schönes Fest"])
    columns = _pseudo_word_columns(ABUSE_TOKENS, settings["word"]["n_features"])
    assert x[0, columns[1]] > 0 and x[1, columns[1]] == 0
    foreign = {**settings, "abuse": {**settings["abuse"], "sha256": "0" * 64}}
    with pytest.raises(AbuseLexiconError, match="retrain"):
        Featurizer(foreign)
    other_rules = {**settings, "abuse": {**settings["abuse"], "rules": "stormwatch-abuse-rules-v0"}}
    with pytest.raises(AbuseLexiconError, match="matching rules 'stormwatch-abuse-rules-v0'.*retrain"):
        Featurizer(other_rules)


def test_long_tokens_are_matched_in_bounded_time_and_not_cached(small):
    """A 2,000-character token (a pasted hash, a run of letters) costs a bounded number of lookups, not one per
    position, and does not fill the cache."""
    token = "x" * 1990 + "idioten"
    assert small.column_of(token) == 0 and token not in small._cache


@pytest.mark.parametrize("doc,aimed", [
    ("ihr ratten", True), ("du ratte!", True), ("ihr seid doch alle ratten", True), ("diese ratten", True),
    ("solche dreckigen ratten", True), ("die vermehren sich wie ratten", True), ("de zuagroasten san wia ratten", True),
    ("die flüchtlinge sind ratten .", True), ("die polen auf dem hof sind ratten , die klauen", True),
    ("der amtsleiter ist eine ratte", True), ("das sind alles ratten", True),
    # literal: no aiming word, or a predicate in a clause that opens with a place or a time
    ("ratten am spielplatz kirchwiese", False), ("das brot lockt ratten an", False),
    ("im keller der schule sind ratten gesichtet worden", False), ("bei uns im hof sind ratten , wer hilft ?", False),
    ("seit wochen sind ratten am spielplatz", False), ("hier sind überall ratten", False),
    ("es sind ratten", False), ("die zahl der ratten steigt", False),
])
def test_a_word_with_a_literal_sense_counts_as_insult_only_when_aimed(small, doc, aimed):
    """"Ratten" and "Nazis" name animals and a historical party as often as they insult people: unaimed, they count
    in a column of their own (the heads learn its weight from literal and abusive rows); addressed, pointed at,
    compared or predicated of someone, they count as insults."""
    extra = (word_features([doc], 2**12, (1, 1), abuse=small) - word_features([doc], 2**12, (1, 1))).toarray()[0]
    insult, slur, profanity, ambiguous, mentioned = _pseudo_word_columns(ABUSE_TOKENS, 2**12)
    assert (extra[insult] > 0, extra[ambiguous] > 0) == (aimed, not aimed)
    assert extra[slur] == 0 and extra[mentioned] == 0


def test_aiming_words_are_not_looked_for_in_the_previous_text(small):
    """Each text of a batch is read on its own: "ihr" ending one text does not aim the next one's "Ratten", and a
    clause is not opened by the previous text's place ("im keller" | "sind ratten" is a predicate, not a report)."""
    docs = ["im keller", "sind ratten", "ihr", "ratten im hof", "die polen sind", "ratten im keller"]
    extra = (word_features(docs, 2**12, (1, 1), abuse=small) - word_features(docs, 2**12, (1, 1))).toarray()
    insult, slur, profanity, ambiguous, mentioned = _pseudo_word_columns(ABUSE_TOKENS, 2**12)
    assert extra[1, insult] > 0 and extra[1, ambiguous] == 0
    assert extra[3, ambiguous] > 0 and extra[5, ambiguous] > 0 and not extra[2:, insult].any()


def test_the_shipped_lexicon_marks_words_with_a_literal_sense():
    lexicon = abuse_lexicon.load_abuse_lexicon()
    for word in ("nazis", "ratten", "schweine", "säue", "parasiten", "affen", "läuse", "maden", "blutsauger"):
        assert lexicon.kind_of(word) == "ambiguous", word
    assert lexicon.kind_of("bullenschweine") == "insult" and lexicon.kind_of("linkszecken") == "slur"
    for harmless in ("holzecke", "achterpacks", "hurenkinder", "wildschweine", "hausratten"):
        assert lexicon.kind_of(harmless) is None, harmless


@pytest.mark.parametrize("doc", ["er nannte ihn 'idiot' und ging", 'als "idiot" beschimpft', "als „kanaken“ beschimpft",
                                 'sprühten "kanaken raus" an die wand', "hat mich als kanake beschimpft",
                                 "der mann hatte sie als idioten bezeichnet", "kommentare mit begriffen wie zigeunerpack",
                                 "er rief „du idiot!“ und ging", 'er rief "du idiot!" und ging', "«du idiot!»",
                                 "ist das wort idiot strafbar?"])
def test_mentioned_listed_words_count_in_their_own_column(small, doc):
    """A quoted or reported slur is mentioned, not used: it counts in its own column, not in its kind's."""
    extra = (word_features([doc], 2**12, (1, 1), abuse=small) - word_features([doc], 2**12, (1, 1))).toarray()[0]
    insult, slur, profanity, ambiguous, mentioned = _pseudo_word_columns(ABUSE_TOKENS, 2**12)
    assert extra[mentioned] == pytest.approx(0.5) and extra[insult] == 0 and extra[slur] == 0


def test_used_listed_words_are_not_mentioned_even_next_to_a_report_in_another_text(small):
    """"als" without a reporting verb is a comparison; the context rules never look into the next text of a batch."""
    docs = ["ihr seid schlimmer als idioten", "idioten", "beschimpft wurde niemand", "als", "kanaken", "beschimpft",
            'du "beamter" idiot', "mir fehlen die worte, ihr idioten", '"', "idioten", "geht's noch, ihr idioten"]
    extra = (word_features(docs, 2**12, (1, 1), abuse=small) - word_features(docs, 2**12, (1, 1))).toarray()
    insult, slur, profanity, ambiguous, mentioned = _pseudo_word_columns(ABUSE_TOKENS, 2**12)
    assert not extra[:, mentioned].any()
    assert extra[0, insult] > 0 and extra[1, insult] > 0 and extra[4, slur] > 0
    assert all(extra[k, insult] > 0 for k in (6, 7, 9, 10))  # a closed quote, a comma, an apostrophe, another text


ROOT = pathlib.Path(__file__).resolve().parent.parent
ABUSE_SETS = ("abuse_heldout_de", "abuse_test_de", "abuse_test3_de")


def test_abuse_heldout_sets_are_never_trained_on():
    """benchmarks/abuse_heldout.py measures on three files by three writers; that only means something while none
    of their texts is trained on (five round-10 rows that were near-copies of them were dropped before training)."""
    from benchmarks.abuse_heldout import load
    corpus = set(normalise_batch(load_corpus(DEFAULT_CORPUS)["texts"]))
    threats = (ROOT / "detectors" / "data" / "threats_de.tsv").read_text(encoding="utf-8").splitlines()
    written = set(normalise_batch([line.split("\t")[0] for line in threats[1:]]))
    sizes = {"literal_heldout_de": (120, 0), "literal_test_de": (250, 100), "literal_test2_de": (250, 100),
             "literal_test3_de": (250, 100), "obfuscation_test_de": (200, 100)}
    for name in ABUSE_SETS + tuple(sizes):
        data = load(ROOT / "benchmarks" / "data" / f"{name}.tsv")
        size, toxic = sizes.get(name, (260, 130))
        assert len(data["texts"]) == size and data["toxic"].sum() == toxic, name
        assert not set(normalise_batch(data["texts"])) & (corpus | written), name


def test_abuse_heldout_loader_names_a_wrong_kind_and_a_label_against_its_kind(tmp_path):
    from benchmarks.abuse_heldout import load
    path = tmp_path / "abuse.tsv"
    for row, problem in (("Ihr Pack\tnegative\t1\t0\tslurs", "line 2: kind 'slurs'"),
                         ("Scheißwetter\tnegative\t1\t0\tprofanity", "line 2: kind 'profanity' but toxic = 1")):
        path.write_text(f"text\tpolarity\ttoxic\tquestion\tkind\n{row}\n", encoding="utf-8")
        with pytest.raises(ValueError, match=problem):
            load(path)


def test_the_shipped_model_finds_abuse_in_words_it_never_saw_and_spares_reports():
    """On the third held-out set (written after the lexicon, by a writer that never saw it), model 0.5.3 found 45 %
    of the abuse (slurs 8 of 30, made-up insulting compounds 9 of 35); 0.6.0 with the abuse lexicon 67 %, while
    harmless rows called toxic stay under 8 % and neutral reports of insults are not called toxic."""
    from benchmarks.abuse_heldout import load, report_for
    report = report_for(TextClassifier.load(), load(ROOT / "benchmarks" / "data" / "abuse_test3_de.tsv"))
    assert report["toxic"]["recall"] > 0.6
    assert report["toxic"]["harmless_called_toxic"] < 0.08
    assert report["per_kind"]["reported"]["called_toxic"] <= 1
    assert report["per_kind"]["group_harmless"]["called_toxic"] == 0


def test_the_shipped_model_spares_literal_uses_and_still_finds_the_same_words_aimed_at_people():
    """On the deciding literal set (written in session 14 by a writer that saw nothing of the project), model 0.6.0
    called 20 of 150 harmless texts toxic (remembrance posts naming the Nazis 11 of 50, real animals 8 of 50) and
    found 80 of 100 abusive uses of the same words; 0.6.1, with the ambiguous column, calls 8 harmless texts toxic
    and finds 86."""
    from benchmarks.abuse_heldout import load, report_for
    report = report_for(TextClassifier.load(), load(ROOT / "benchmarks" / "data" / "literal_test2_de.tsv"))
    kinds = report["per_kind"]
    harmless = sum(kinds[k]["called_toxic"] for k in ("remembrance", "animals", "objects"))
    found = sum(kinds[k]["called_toxic"] for k in ("nazi_insult", "vermin"))
    assert harmless <= 10 and kinds["remembrance"]["called_toxic"] <= 4
    assert found >= 84


def test_the_shipped_model_reads_disguised_abuse_and_spares_stars_and_digits():
    """On the disguised-abuse set (written in session 14 by a writer that saw nothing of the project), model 0.6.1
    found 40 of 100 insults written against filters ("A****loch", "V0ll1d10ten", "Idiot*innen"); 0.6.2 reads them
    as the words they hide and finds 79 (0.6.3, which no longer reads "_" as a mask, 77), while none of the 100
    harmless texts full of gender stars, line numbers, masked swearing and markup is called toxic."""
    from benchmarks.abuse_heldout import load, report_for
    report = report_for(TextClassifier.load(), load(ROOT / "benchmarks" / "data" / "obfuscation_test_de.tsv"))
    kinds = report["per_kind"]
    assert sum(kinds[k]["called_toxic"] for k in ("masked", "leet", "gendered")) >= 75
    assert sum(kinds[k]["called_toxic"] for k in ("gender", "codes", "masked_profanity", "markup")) <= 2


def test_models_of_format_1_load_and_unknown_formats_are_refused(tmp_path):
    """Format 2 (model 0.6.0) exists so that a reader of format 1, which would silently drop the abuse columns,
    refuses such models; format 1 models (0.5.x and older, or `train --task` on them) still load unchanged."""
    import json
    import shutil
    from detectors.classifier import ModelError
    shipped = TextClassifier.load()
    assert shipped.info["format_version"] == 2 and "abuse" in shipped.info["features"]
    old = tmp_path / "old"
    shutil.copytree(default_model_dir(), old)
    info = json.loads((old / "model.json").read_text(encoding="utf-8"))
    for version, loads in ((1, True), (3, False), (None, False)):
        info["format_version"] = version
        (old / "model.json").write_text(json.dumps(info), encoding="utf-8")
        if loads:
            assert TextClassifier.load(old).info["format_version"] == 1
        else:
            with pytest.raises(ModelError, match="unsupported format_version"):
                TextClassifier.load(old)


@pytest.mark.parametrize("token,kind", [
    # masks (as normalise_batch leaves them: runs of three or more marks arrive as two), digits, gender marks
    ("a**loch", "insult"), ("h*rensohn", "insult"), ("wi**ser", "insult"), ("f*tze", "insult"), ("k*nake", "slur"),
    ("dr*cksack", "insult"), ("beamten*pack", "dehumanising"), ("n*zis", "ambiguous"),
    ("v0ll1d10ten", "insult"), ("4rschl0ch", "insult"), ("hur3nsohn", "insult"), ("sp4st", "insult"),
    ("idiot*innen", "insult"), ("schmarotzer*innen", "dehumanising"),
    # masked swearing stays profanity; a mask that fits words of several kinds is read as the mildest
    ("sch**wetter", "profanity"), ("verd**t", "profanity"), ("f**", None),
    # harmless stars, digits and gender marks
    ("bürger*innen", None), ("lehrer_innen", None), ("kolleg*innen", None), ("b27", None), ("s5", None), ("3g", None),
    ("4er-pack", None), ("6er-pack", None), ("10erpack", None), ("stadtfest2026", None), ("**wichtig", None),
    ("preise*", None), ("co2", None), ("mp3", None), ("st**tsanwalt", None), ("m**ll", None), ("spa**ten", None),
    # underscores join words in hashtags and codes; they are no mask (review of 0.6.2)
    ("ka_polizei", None), ("rathaus_e", None), ("a_b", None), ("bericht_2026_final", None), ("img_2034", None),
    # long tokens are not read as disguised
    ("a**loch" + "x" * 40, None),
])
def test_disguised_tokens_are_read_as_the_word_they_hide(token, kind):
    assert abuse_lexicon.load_abuse_lexicon().kind_of(token) == kind
