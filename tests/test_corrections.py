"""Corrections storage on SQLite and PostgreSQL, and the `correct` command end to end on a SQLite file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from detectors.feedback import STATE_FILE
from monitor.adapted import default_state_dir
from monitor.correct_cmd import correct
from monitor.storage import Store
from monitor.storage import corrections as corr
from monitor.storage.schema import mentions

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parent.parent


def _add_mention(store: Store, external_id: str, text: str | None) -> None:
    with store.engine.begin() as conn:
        conn.execute(mentions.insert(), {
            "platform": "facebook", "external_id": external_id, "scope": "stadt", "kind": "comment", "text": text,
            "created_at": T0, "ingested_at": T0, "negative": 0.1, "neutral": 0.8, "positive": 0.1, "toxic": 0.0,
            "question": 0.0, "sentiment": "neutral",
        })


def test_add_and_list_round_trip(store: Store) -> None:
    first = corr.add_correction(store.engine, platform="facebook", external_id="1", text="Frechheit 😡 \x00",
                                polarity="negative", toxic=True, corrected_by="A. Muster", at=T0)
    second = corr.add_correction(store.engine, platform="facebook", external_id="2", question=False,
                                 at=T0 - timedelta(hours=1))
    assert first != second
    rows = corr.list_corrections(store.engine)
    assert [r["id"] for r in rows] == [second, first]  # oldest first
    row = rows[1]
    assert row["text"] == "Frechheit 😡 \ufffd"  # NUL cleaned so PostgreSQL accepts it too
    assert (row["polarity"], row["toxic"], row["question"], row["corrected_by"]) == ("negative", True, None, "A. Muster")
    assert row["at"] == T0 and row["at"].tzinfo is not None
    assert rows[0]["question"] is False and rows[0]["text"] is None
    assert [r["id"] for r in corr.list_corrections(store.engine, platform="facebook", external_id="2")] == [second]
    assert corr.count_corrections(store.engine) == 2


def test_connection_form_joins_the_callers_transaction(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.engine.begin() as conn:
            corr.add_correction(conn, platform="x", external_id="1", polarity="neutral", at=T0)
            assert corr.count_corrections(conn) == 1
            raise RuntimeError("roll back")
    assert corr.count_corrections(store.engine) == 0


def test_invalid_corrections_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="polarity"):
        corr.add_correction(store.engine, platform="x", external_id="1", polarity="angry")
    with pytest.raises(ValueError, match="at least one"):
        corr.add_correction(store.engine, platform="x", external_id="1")
    assert corr.count_corrections(store.engine) == 0


def test_erase_texts_before_keeps_labels(store: Store) -> None:
    corr.add_correction(store.engine, platform="x", external_id="old", text="alt", polarity="negative",
                        at=T0 - timedelta(days=40))
    corr.add_correction(store.engine, platform="x", external_id="new", text="neu", polarity="positive", at=T0)
    assert corr.erase_texts_before(store.engine, T0 - timedelta(days=30)) == 1
    rows = {r["external_id"]: r for r in corr.list_corrections(store.engine)}
    assert rows["old"]["text"] is None and rows["old"]["polarity"] == "negative"
    assert rows["new"]["text"] == "neu"


def test_mention_text_lookup(store: Store) -> None:
    _add_mention(store, "m1", "Wann kommt der Bus?")
    _add_mention(store, "m2", None)
    assert corr.mention_text(store.engine, "facebook", "m1") == (True, "Wann kommt der Bus?")
    assert corr.mention_text(store.engine, "facebook", "m2") == (True, None)
    assert corr.mention_text(store.engine, "facebook", "nope") == (False, None)


# -- the command --------------------------------------------------------------------------------------


@pytest.fixture
def deployment(tmp_path: Path):
    db = tmp_path / "sw.db"
    demo = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(demo.replace("sqlite:///../var/demo.db", f"sqlite:///{db}"), encoding="utf-8")
    with Store.open(f"sqlite:///{db}") as store:
        _add_mention(store, "m1", "Die Linie 7 fährt ab Montag nur noch alle 20 Minuten.")
        _add_mention(store, "gone", None)
    return config, db


def test_correct_stores_learns_and_resets(deployment) -> None:
    config, db = deployment
    state = default_state_dir(f"sqlite:///{db}")
    assert state == db.with_name("sw.adapted-model")
    runner = CliRunner()
    args = ["--config", str(config), "--platform", "facebook", "--id", "m1", "--polarity", "negative", "--by", "Team"]
    result = runner.invoke(correct, args)
    assert result.exit_code == 0, result.output
    assert "negative" in result.output and "->" in result.output
    assert (state / STATE_FILE).exists()
    lines = {line.split()[0]: line.split() for line in result.output.splitlines() if "->" in line}
    assert float(lines["negative"][3]) > float(lines["negative"][1])  # the corrected label gained probability
    with Store.open(f"sqlite:///{db}") as store:
        rows = corr.list_corrections(store.engine)
    assert [(r["external_id"], r["polarity"], r["corrected_by"]) for r in rows] == [("m1", "negative", "Team")]
    # the replay item carries the stored correction's day, so `stormwatch purge` ages both out together
    from detectors.classifier import TextClassifier
    from detectors.feedback import AdaptiveClassifier, utc_day

    adapted = AdaptiveClassifier.load(TextClassifier.load(), state)
    assert adapted._res_day == [utc_day(rows[0]["at"])]

    again = runner.invoke(correct, args)
    assert "2 corrections learned" in again.output

    reset = runner.invoke(correct, ["--config", str(config), "--reset"])
    assert reset.exit_code == 0 and "removed" in reset.output
    assert not state.exists()
    with Store.open(f"sqlite:///{db}") as store:
        assert corr.count_corrections(store.engine) == 2  # the record of what staff said stays


def test_correct_refuses_unknown_and_learns_nothing_without_text(deployment, tmp_path: Path) -> None:
    config, db = deployment
    runner = CliRunner()
    unknown = runner.invoke(correct, ["--config", str(config), "--platform", "facebook", "--id", "x", "--toxic", "1"])
    assert unknown.exit_code == 1 and "no mention" in unknown.output
    nothing = runner.invoke(correct, ["--config", str(config), "--platform", "facebook", "--id", "m1"])
    assert nothing.exit_code == 2 and "nothing to correct" in nothing.output
    state = tmp_path / "state"
    erased = runner.invoke(correct, ["--config", str(config), "--platform", "facebook", "--id", "gone", "--toxic", "1",
                                     "--state-dir", str(state)])
    assert erased.exit_code == 0 and "cannot learn" in erased.output
    assert not (state / STATE_FILE).exists()
    with Store.open(f"sqlite:///{db}") as store:
        assert corr.count_corrections(store.engine) == 1


def test_correct_threat_flags(deployment) -> None:
    """Staff clear a wrong "mögliche Drohung" flag; a confirmed threat is stored as toxic too; contradictions are
    refused before anything is stored."""
    config, db = deployment
    with Store.open(f"sqlite:///{db}") as store:
        _add_mention(store, "demand", "Frau Kessler, treten Sie zurück. Sofort.")
    runner = CliRunner()
    args = ["--config", str(config), "--platform", "facebook", "--id", "demand"]
    contradiction = runner.invoke(correct, [*args, "--threat", "1", "--toxic", "0"])
    assert contradiction.exit_code == 2 and "contradicts" in contradiction.output
    cleared = runner.invoke(correct, [*args, "--threat", "0", "--by", "Team"])
    assert cleared.exit_code == 0, cleared.output
    threat = next(line.split() for line in cleared.output.splitlines() if line.split()[:1] == ["threat"])
    assert float(threat[3]) < float(threat[1])
    confirmed = runner.invoke(correct, [*args, "--threat", "1"])
    assert confirmed.exit_code == 0, confirmed.output
    with Store.open(f"sqlite:///{db}") as store:
        rows = corr.list_corrections(store.engine)
    assert [(r["threat"], r["toxic"]) for r in rows] == [(False, None), (True, True)]
    assert _adapted(default_state_dir(f"sqlite:///{db}")).updates["threat"] == 2


def test_the_pipeline_classifies_with_the_corrected_model(deployment) -> None:
    """What staff corrected is what the pipeline uses next: same scores as the command printed, back to base on reset."""
    from monitor.config import load_settings
    from monitor.pipeline import enricher_from

    config, db = deployment
    text = "Die Linie 7 fährt ab Montag nur noch alle 20 Minuten."
    settings = load_settings(config)
    before = enricher_from(settings)
    assert not before.adapted
    base_negative = float(before.scorer.predict([text]).negative[0])

    runner = CliRunner()
    args = ["--config", str(config), "--platform", "facebook", "--id", "m1", "--polarity", "negative"]
    for _ in range(3):
        assert runner.invoke(correct, args).exit_code == 0
    printed = [line.split() for line in runner.invoke(correct, args).output.splitlines() if line.split()[:1] == ["negative"]]
    after = enricher_from(settings)
    assert after.adapted
    adapted_negative = float(after.scorer.predict([text]).negative[0])
    assert adapted_negative > base_negative
    assert adapted_negative == pytest.approx(float(printed[0][3]), abs=1e-3)

    off = enricher_from(settings.model_copy(update={"classifier": settings.classifier.model_copy(update={"use_corrections": False})}))
    assert not off.adapted
    assert runner.invoke(correct, ["--config", str(config), "--reset"]).exit_code == 0
    assert not enricher_from(settings).adapted


def _adapted(state: Path):
    from detectors.classifier import TextClassifier
    from detectors.feedback import AdaptiveClassifier

    return AdaptiveClassifier.load(TextClassifier.load(), state)


def test_rebuild_relearns_the_stored_corrections(deployment) -> None:
    """The corrections table is the record: `--rebuild` derives the same adapted model again from it, also when the
    adapted model is gone or was learned for another base model (an upgrade)."""
    import json

    import numpy as np

    config, db = deployment
    state = default_state_dir(f"sqlite:///{db}")
    runner = CliRunner()
    base = ["--config", str(config), "--platform", "facebook", "--id", "m1"]
    for labels in (["--polarity", "negative"], ["--toxic", "0"], ["--polarity", "neutral", "--question", "1"],
                   ["--threat", "0"]):
        assert runner.invoke(correct, [*base, *labels]).exit_code == 0
    assert runner.invoke(correct, ["--config", str(config), "--platform", "facebook", "--id", "gone",
                                   "--toxic", "1"]).exit_code == 0  # stored without text: nothing to relearn
    texts = ["Die Linie 7 fährt ab Montag nur noch alle 20 Minuten.", "Danke für nix, ihr Versager!"]
    learned = _adapted(state).probabilities(texts)

    # an adapted model of another base model cannot be used: the upgrade case
    state_file = state / STATE_FILE
    stale = json.loads(state_file.read_text(encoding="utf-8"))
    state_file.write_text(json.dumps({**stale, "base_fingerprint": "0" * 16}), encoding="utf-8")
    from detectors.classifier import ModelError

    with pytest.raises(ModelError, match="--rebuild"):
        _adapted(state)
    rebuilt = runner.invoke(correct, ["--config", str(config), "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "4 of 5 stored corrections learned" in rebuilt.output
    again = _adapted(state)
    assert again.updates == {"polarity": 2, "toxic": 1, "question": 1, "threat": 1}
    # same steps, same replay draws; `correct` saved (float32 weights) after each correction, the rebuild once
    np.testing.assert_allclose(again.probabilities(texts), learned, atol=1e-6)

    # gone entirely: rebuilt all the same
    import shutil

    shutil.rmtree(state)
    assert runner.invoke(correct, ["--config", str(config), "--rebuild"]).exit_code == 0
    np.testing.assert_allclose(_adapted(state).probabilities(texts), learned, atol=1e-6)


def test_rebuild_does_not_bring_back_corrections_past_the_retention(deployment) -> None:
    """A correction older than the text retention whose text the purge has not erased yet stays forgotten."""
    config, db = deployment
    state = default_state_dir(f"sqlite:///{db}")
    now = datetime.now(timezone.utc)
    text = "Die Linie 7 fährt ab Montag nur noch alle 20 Minuten."
    with Store.open(f"sqlite:///{db}") as store:
        corr.add_correction(store.engine, platform="facebook", external_id="m1", text=text, polarity="negative",
                            at=now - timedelta(days=31))  # the demo config keeps texts 30 days
        corr.add_correction(store.engine, platform="facebook", external_id="m1", text=text, toxic=False,
                            at=now - timedelta(days=1))
    result = CliRunner().invoke(correct, ["--config", str(config), "--rebuild"])
    assert result.exit_code == 0 and "1 of 2 stored corrections learned" in result.output
    assert _adapted(state).updates == {"polarity": 0, "toxic": 1, "question": 0, "threat": 0}


def test_reset_and_rebuild_exclude_each_other(deployment) -> None:
    config, _ = deployment
    result = CliRunner().invoke(correct, ["--config", str(config), "--reset", "--rebuild"])
    assert result.exit_code == 2 and "exclude each other" in result.output


def test_rebuild_does_not_bring_back_what_a_reset_dropped(deployment) -> None:
    config, db = deployment
    state = default_state_dir(f"sqlite:///{db}")
    runner = CliRunner()
    base = ["--config", str(config), "--platform", "facebook", "--id", "m1"]
    assert runner.invoke(correct, [*base, "--polarity", "positive"]).exit_code == 0  # a wrong correction ...
    reset = runner.invoke(correct, ["--config", str(config), "--reset"])
    assert reset.exit_code == 0 and "up to correction 1" in reset.output  # ... that staff reset away
    assert runner.invoke(correct, [*base, "--toxic", "0"]).exit_code == 0
    rebuilt = runner.invoke(correct, ["--config", str(config), "--rebuild"])
    assert rebuilt.exit_code == 0 and "1 of 2 stored corrections learned" in rebuilt.output
    assert _adapted(state).updates == {"polarity": 0, "toxic": 1, "question": 0, "threat": 0}
    # the reset is a fact in the database: the wrong correction is kept as a record, marked withdrawn
    with Store.open(f"sqlite:///{db}") as store:
        rows = corr.list_corrections(store.engine)
    assert [r["withdrawn_at"] is not None for r in rows] == [True, False]
    # a marker file written by a reset of an older version still counts ...
    marker = state.with_name(state.name + ".reset.json")
    marker.write_text('{"after_correction_id": 2}', encoding="utf-8")
    rebuilt = runner.invoke(correct, ["--config", str(config), "--rebuild"])
    assert rebuilt.exit_code == 0 and "0 of 2 stored corrections learned" in rebuilt.output
    # ... and one that cannot be read stops the rebuild instead of guessing
    marker.write_text("{broken", encoding="utf-8")
    broken = runner.invoke(correct, ["--config", str(config), "--rebuild"])
    assert broken.exit_code == 1 and "unreadable reset marker" in broken.output


def test_stored_threat_corrections_do_not_stop_a_relearn_on_a_base_without_a_threat_head(tmp_path: Path) -> None:
    """A deployment that switches to a model without kind heads (trained with its own corpus and no threat labels)
    relearns what it can: the threat labels are dropped, a correction only about the threat flag is skipped."""
    import json
    import shutil

    from detectors.classifier import TextClassifier, default_model_dir
    from monitor.adapted import relearn_stored

    shutil.copytree(default_model_dir(), tmp_path / "m")
    info = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    del info["toxic_kinds"], info["calibration"]["toxic"]["threat_weight"]
    (tmp_path / "m" / "model.json").write_text(json.dumps(info), encoding="utf-8")
    plain = TextClassifier.load(tmp_path / "m")
    rows = [{"id": 1, "text": "Frau Kessler, treten Sie zurück. Sofort.", "polarity": None, "toxic": None,
             "question": None, "threat": False, "at": T0, "withdrawn_at": None},
            {"id": 2, "text": "Wir wissen, wo ihr wohnt.", "polarity": None, "toxic": True, "question": None,
             "threat": True, "at": T0, "withdrawn_at": None}]
    model, learned = relearn_stored(plain, rows)
    assert learned == 1 and model.updates == {"polarity": 0, "toxic": 1, "question": 0, "threat": 0}
    with_kinds, learned = relearn_stored(TextClassifier.load(), rows)
    assert learned == 2 and with_kinds.updates["threat"] == 2
