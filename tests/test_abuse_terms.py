"""A deployment's own abuse terms: added to the model's abuse lexicon without retraining, checked at start, and
followed by everything that loads the deployment's base model (classify, corrections, retention)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from detectors.abuse_lexicon import AbuseTermsError, build
from detectors.classifier import ModelError, TextClassifier
from monitor.adapted import load_base, rebuild_if_outdated
from monitor.config import check_settings, load_settings
from monitor.correct_cmd import correct
from monitor.pipeline import enricher_from
from monitor.storage import Store
from monitor.storage.schema import mentions

ROOT = Path(__file__).resolve().parent.parent
HEADER = "term\tkind\tmatch\n"
# A made-up insulting compound the shipped lexicon does not know, and texts that hold none of the local terms.
INSULT = "Die Schreibtischfurzer im Rathaus pennen schon wieder"
OTHERS = ["Danke für die schnelle Hilfe!", "Wann hat das Bürgeramt offen?", "Ihr Idioten im Rathaus!",
          "Wir erinnern an die Opfer der Nazis.", "Ratten am Spielplatz Kirchwiese", "Scheißwetter heute 🌧️"]


def _terms(tmp_path: Path, rows: str, name: str = "terms.tsv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_local_terms_extend_words_heads_and_exceptions():
    shipped = build((HEADER + "pack\tdehumanising\thead\nsixpack\texcept\tword\nnazi\tambiguous\tword\n").encode(), "s.tsv")
    local = shipped.with_local_terms(build((HEADER + "furzer\tinsult\thead\nbeamtenpack\texcept\tword\n"
                                            "sixpack\tinsult\tword\nnazi\tinsult\tword\n").encode(), "local.tsv"))
    assert local.kind_of("schreibtischfurzer") == "insult" and shipped.kind_of("schreibtischfurzer") is None
    assert shipped.kind_of("beamtenpack") == "dehumanising" and local.kind_of("beamtenpack") is None  # local exception
    assert shipped.kind_of("sixpack") is None and local.kind_of("sixpack") == "insult"  # local word beats exception
    assert local.kind_of("nazis") == "insult"  # a local entry wins over the shipped kind
    assert local.sha256 == shipped.sha256 and local.local_sha256 is not None and shipped.local_sha256 is None


@pytest.mark.parametrize("rows, fragment", [
    ("furzer\tinsultt\thead\n", "line 2: kind 'insultt'"),
    ("furzer\tinsult\n", "line 2: expected 3 tab-separated cells"),
    ("Furzer\tinsult\thead\n", "line 2: term 'Furzer' must be one lower-case token"),
])
def test_a_broken_terms_file_names_the_file_and_line(tmp_path, rows, fragment):
    path = _terms(tmp_path, rows)
    with pytest.raises(ModelError, match=f"{path}: {fragment}"):
        TextClassifier.load(None, path)


def test_a_missing_or_undecodable_terms_file_is_named(tmp_path):
    with pytest.raises(ModelError, match="nope.tsv: the abuse terms file does not exist"):
        TextClassifier.load(None, tmp_path / "nope.tsv")
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes((HEADER + "schnösel\tinsult\tword\n").encode("latin-1"))
    with pytest.raises(ModelError, match="latin1.tsv: not UTF-8"):
        TextClassifier.load(None, latin1)


def test_a_model_without_abuse_features_refuses_terms(tmp_path):
    from detectors.textfeatures import Featurizer, default_features

    with pytest.raises(AbuseTermsError, match="no abuse-lexicon features"):
        Featurizer(default_features(), _terms(tmp_path, "furzer\tinsult\thead\n"))


def test_terms_change_the_texts_that_hold_them_and_no_other(tmp_path):
    base = TextClassifier.load()
    local = TextClassifier.load(None, _terms(tmp_path, "furzer\tinsult\thead\n"))
    before, after = base.predict([INSULT] + OTHERS), local.predict([INSULT] + OTHERS)
    assert before.toxic[0] < before.toxic_threshold < after.toxic[0]
    for head in ("negative", "neutral", "positive", "toxic", "question"):
        assert np.array_equal(getattr(before, head)[1:], getattr(after, head)[1:]), head
    # the features changed, so an adapted model of the plain base must not be used with the terms
    assert base.fingerprint != local.fingerprint and base.abuse_terms_sha256 is None
    assert local.abuse_terms_sha256 == hashlib.sha256((tmp_path / "terms.tsv").read_bytes()).hexdigest()


def _deployment(tmp_path: Path, terms: str | None) -> Path:
    db = tmp_path / "sw.db"
    config = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    config["database"]["url"] = f"sqlite:///{db}"
    config["playbooks_dir"] = str(ROOT / "playbooks")
    if terms is not None:
        config.setdefault("classifier", {})["abuse_terms"] = terms
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def test_config_resolves_the_terms_next_to_it_and_check_names_a_broken_file(tmp_path):
    _terms(tmp_path, "furzer\tinsult\thead\n")
    settings = load_settings(_deployment(tmp_path, "terms.tsv"), environ={})
    assert settings.classifier.abuse_terms == (tmp_path / "terms.tsv").resolve()
    env = {settings.privacy.pseudonym_key_env: "k" * 16}
    assert not [p for p in check_settings(settings, "c.yaml", env) if "abuse_terms" in p]
    _terms(tmp_path, "furzer\tinsult\n")
    problems = check_settings(settings, "c.yaml", env)
    assert any("classifier.abuse_terms:" in p and "line 2: expected 3 tab-separated cells" in p for p in problems)


def test_the_pipeline_and_the_adapted_model_follow_the_terms(tmp_path):
    """Corrections were learned on the plain base; once the deployment adds terms, the adapted model no longer fits
    its base, and the start of `stormwatch run` relearns it on the base with the terms."""
    config = _deployment(tmp_path, None)
    db = tmp_path / "sw.db"
    at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    with Store.open(f"sqlite:///{db}") as store, store.engine.begin() as conn:
        conn.execute(mentions.insert(), {
            "platform": "facebook", "external_id": "m1", "scope": "stadt", "kind": "comment", "text": INSULT,
            "created_at": at, "ingested_at": at, "negative": 0.1, "neutral": 0.8, "positive": 0.1, "toxic": 0.0,
            "question": 0.0, "sentiment": "neutral",
        })
    result = CliRunner().invoke(correct, ["--config", str(config), "--platform", "facebook", "--id", "m1",
                                          "--polarity", "negative"])
    assert result.exit_code == 0, result.output
    plain = load_settings(config)
    assert enricher_from(plain).adapted

    _terms(tmp_path, "furzer\tinsult\thead\n")
    with_terms = load_settings(_deployment(tmp_path, "terms.tsv"))
    stale = enricher_from(with_terms)
    assert not stale.adapted  # learned on another base: not used, not silently mixed
    assert stale.scorer.predict([INSULT]).is_toxic()[0]
    with Store.open(with_terms.database.url) as store:
        assert rebuild_if_outdated(with_terms, store, datetime(2026, 3, 2, tzinfo=timezone.utc)) is not None
    relearned = enricher_from(with_terms)
    assert relearned.adapted
    assert relearned.classifier.fingerprint == load_base(with_terms.classifier).fingerprint


def test_classify_takes_terms_on_the_command_line(tmp_path):
    terms = _terms(tmp_path, "furzer\tinsult\thead\n")
    command = [sys.executable, "-m", "monitor.cli", "classify", "--abuse-terms", str(terms)]
    done = subprocess.run(command, input=INSULT + "\n", capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)
    assert row["toxic"] > TextClassifier.load().toxic_threshold
    broken = subprocess.run(command[:-1] + [str(tmp_path / "nope.tsv")], input="x\n", capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert broken.returncode == 2 and "nope.tsv: the abuse terms file does not exist" in broken.stderr


def test_the_shipped_example_parses_and_comments_are_skipped(tmp_path):
    example = build((ROOT / "config" / "abuse_terms.example.tsv").read_bytes(), "example")
    assert not example.words and not example.heads and not example.exceptions  # examples are commented out
    local = build((HEADER + "# added 2026-11-22 after the Kita storm\nhyäne\tinsult\thead\n").encode(), "t.tsv")
    assert local.kind_of("knöllchenhyänen") == "insult" and local.kind_of("#") is None
