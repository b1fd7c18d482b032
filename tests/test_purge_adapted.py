"""`stormwatch purge` makes the adapted model forget corrections older than the text retention, and survives a broken model."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from detectors.classifier import TextClassifier
from detectors.feedback import STATE_FILE, AdaptiveClassifier
from monitor.adapted import default_state_dir
from monitor.cli import main
from monitor.storage import Store
from monitor.storage.corrections import add_correction

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [f"Bus {i} kommt {'zu spät' if i % 2 else 'pünktlich'} an Haltestelle {i}." for i in range(6)]


@pytest.fixture
def deployment(tmp_path: Path):
    db = tmp_path / "sw.db"
    demo = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    assert "raw_text_days: 30" in demo  # the retention the ages below are chosen around
    config = tmp_path / "config.yaml"
    config.write_text(demo.replace("sqlite:///../var/demo.db", f"sqlite:///{db}"), encoding="utf-8")
    Store.open(f"sqlite:///{db}").close()
    return config, default_state_dir(f"sqlite:///{db}")


def _learn(config: Path, model: AdaptiveClassifier, text: str, at: datetime, **labels) -> None:
    """What `stormwatch correct` does: store the correction, then learn it (purge relearns from the store)."""
    db = config.parent / "sw.db"
    with Store.open(f"sqlite:///{db}") as store:
        add_correction(store.engine, platform="facebook", external_id=text, text=text, at=at, **labels)
    model.learn_one(text, at=at, **labels)


def _as_if_learned_on_another_base_model(state: Path) -> None:
    """What a saved adapted model looks like after an upgrade of the shipped model."""
    stale = json.loads((state / STATE_FILE).read_text(encoding="utf-8"))
    (state / STATE_FILE).write_text(json.dumps({**stale, "base_fingerprint": "0" * 16}), encoding="utf-8")


def _purge(config: Path, *options: str):
    result = CliRunner().invoke(main, ["purge", "--config", str(config), *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1]), result


def _start_service(config: Path, caplog, now: datetime | None = None) -> None:
    """Build the service as `stormwatch run` does at start (relearning included), with its log captured."""
    from prometheus_client import CollectorRegistry

    from monitor.config import load_settings
    from monitor.service import build_service

    settings = load_settings(str(config)).model_copy(update={"playbooks_dir": ROOT / "playbooks"})
    clock = {} if now is None else {"clock": lambda: now}
    with caplog.at_level("INFO", logger="stormwatch"):
        _app, _worker, store = build_service(settings, registry=CollectorRegistry(), **clock)
    store.close()


def test_purge_forgets_replay_items_older_than_the_text_retention(deployment) -> None:
    config, state = deployment
    now = datetime.now(timezone.utc)
    model = AdaptiveClassifier(TextClassifier.load())
    for text, age in zip(TEXTS, (60, 45, 35, 20, 5, 0)):  # the first three are older than 30 days
        _learn(config, model, text, now - timedelta(days=age), polarity="neutral")
    model.save(state)
    counts, _ = _purge(config)
    assert counts["replay_items_forgotten"] == 3 and counts["corrections_relearned"] == 3
    assert counts["texts_erased"] == 0  # the database part still runs and reports as before
    again = AdaptiveClassifier.load(TextClassifier.load(), state)
    # the learners were rebuilt from the three kept corrections: nothing of the expired ones is left
    assert again.reservoir_len == 3 and again.n_corrections == 3
    counts, _ = _purge(config)
    assert counts["replay_items_forgotten"] == 0 and counts["corrections_relearned"] is None


def test_purge_finds_a_model_kept_elsewhere_with_state_dir(deployment, tmp_path) -> None:
    config, default = deployment
    elsewhere = tmp_path / "elsewhere"
    model = AdaptiveClassifier(TextClassifier.load())
    model.learn_one(TEXTS[0], polarity="negative", at=datetime.now(timezone.utc) - timedelta(days=90))
    model.save(elsewhere)
    counts, _ = _purge(config)
    assert counts["replay_items_forgotten"] == 0  # not where the config points
    counts, _ = _purge(config, "--state-dir", str(elsewhere))
    assert counts["replay_items_forgotten"] == 1 and counts["corrections_relearned"] == 0
    assert AdaptiveClassifier.load(TextClassifier.load(), elsewhere).n_corrections == 0 and not default.exists()


def test_purge_without_an_adapted_model_reports_zero(deployment) -> None:
    config, state = deployment
    counts, _ = _purge(config)
    assert counts["replay_items_forgotten"] == 0 and counts["corrections_relearned"] is None
    assert not state.exists()


def test_a_broken_adapted_model_does_not_stop_the_purge(deployment) -> None:
    config, state = deployment
    state.mkdir()
    (state / STATE_FILE).write_text("{not json", encoding="utf-8")
    counts, result = _purge(config)
    assert counts["replay_items_forgotten"] is None and counts["corrections_relearned"] is None
    assert "mentions_deleted" in counts
    assert "warning" in result.stderr and "--reset" in result.stderr


def test_the_running_service_applies_the_same_retention_to_the_adapted_model(deployment, caplog) -> None:
    from prometheus_client import CollectorRegistry

    from monitor.config import load_settings
    from monitor.service import build_service

    config, state = deployment
    now = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    model = AdaptiveClassifier(TextClassifier.load())
    for text, age in zip(TEXTS, (40, 31, 29, 1)):
        _learn(config, model, text, now - timedelta(days=age), polarity="negative")
    model.save(state)
    # the copied demo config's relative playbook path points nowhere from tmp_path
    settings = load_settings(str(config)).model_copy(update={"playbooks_dir": ROOT / "playbooks"})
    _app, worker, store = build_service(settings, registry=CollectorRegistry(), clock=lambda: now)
    try:
        with caplog.at_level("INFO", logger="stormwatch"):
            worker._maybe_purge()
    finally:
        store.close()
    assert AdaptiveClassifier.load(TextClassifier.load(), state).n_corrections == 2
    assert "2 replay items dropped, 2 kept corrections relearned" in caplog.text


def test_purge_waits_for_a_correction_in_progress(deployment) -> None:
    """`correct` and `purge` both load, change and save the model; the lock keeps one from overwriting the other."""
    import fcntl
    import threading

    from monitor.adapted import exclusive

    config, state = deployment
    model = AdaptiveClassifier(TextClassifier.load())
    model.learn_one(TEXTS[0], polarity="negative", at=datetime.now(timezone.utc) - timedelta(days=90))
    model.save(state)
    lock_file = state.with_name(state.name + ".lock")
    results = []
    with exclusive(state):
        # the lock is really held across processes: another open file cannot take it
        with open(lock_file, "a+b") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        purge = threading.Thread(target=lambda: results.append(_purge(config)[0]))
        purge.start()
        purge.join(timeout=1.5)
        assert purge.is_alive() and not results  # blocked until the correction is saved
    purge.join()
    assert results[0]["replay_items_forgotten"] == 1


def test_purge_relearns_every_kept_stored_correction_not_only_the_replay_buffer(deployment) -> None:
    """The replay buffer holds the last `reservoir_size` corrections; the store holds all that retention keeps."""
    import numpy as np

    config, state = deployment
    now = datetime.now(timezone.utc)
    model = AdaptiveClassifier(TextClassifier.load(), reservoir_size=2)
    for text, age in zip(TEXTS, (40, 20, 15, 10, 5)):
        _learn(config, model, text, now - timedelta(days=age), polarity="negative")
    model.save(state)
    counts, _ = _purge(config)
    assert counts["correction_texts_erased"] == 1
    assert counts["replay_items_forgotten"] == 0  # the expired one had already left the ring buffer
    assert counts["corrections_relearned"] == 4  # the ring alone would have kept 2
    again = AdaptiveClassifier.load(TextClassifier.load(), state)
    assert again.updates["polarity"] == 4 and again.reservoir_size == 2  # the model's own settings are kept
    fresh = AdaptiveClassifier(TextClassifier.load(), reservoir_size=2)
    for text, age in zip(TEXTS[1:5], (20, 15, 10, 5)):
        fresh.learn_one(text, polarity="negative", at=now - timedelta(days=age))
    np.testing.assert_allclose(again.probabilities(TEXTS), fresh.probabilities(TEXTS), atol=1e-6)


def test_unreadable_stored_corrections_still_apply_the_retention(deployment) -> None:
    from sqlalchemy import text as sql

    from monitor.adapted import apply_retention
    from monitor.config import load_settings

    config, state = deployment
    now = datetime.now(timezone.utc)
    model = AdaptiveClassifier(TextClassifier.load())
    for text, age in zip(TEXTS, (40, 1)):
        model.learn_one(text, polarity="negative", at=now - timedelta(days=age))
    model.save(state)
    with Store.open(f"sqlite:///{config.parent / 'sw.db'}") as store:
        with store.engine.begin() as conn:
            conn.execute(sql("DROP TABLE corrections"))
        forgotten, warning = apply_retention(load_settings(str(config)), now, store=store)
    assert "stored corrections unreadable" in warning
    assert forgotten == (1, 1)  # from the model's own replay buffer
    assert AdaptiveClassifier.load(TextClassifier.load(), state).updates["polarity"] == 1


def test_the_service_relearns_an_adapted_model_of_an_older_base_model(deployment, caplog) -> None:
    """After an upgrade of the shipped model the adapted model no longer fits; the service relearns it from the stored
    corrections instead of silently classifying without them."""
    from detectors.classifier import ModelError

    config, state = deployment
    now = datetime.now(timezone.utc)
    model = AdaptiveClassifier(TextClassifier.load(), replay=3)
    for text, age in zip(TEXTS, (45, 3, 2)):  # the first is past the 30-day text retention
        _learn(config, model, text, now - timedelta(days=age), polarity="negative")
    model.save(state)
    _as_if_learned_on_another_base_model(state)
    with pytest.raises(ModelError, match="another base model"):
        AdaptiveClassifier.load(TextClassifier.load(), state)
    _start_service(config, caplog, now)
    assert "outdated adapted model relearned: 2 of 3 stored corrections" in caplog.text
    relearned = AdaptiveClassifier.load(TextClassifier.load(), state)
    assert relearned.updates["polarity"] == 2
    assert relearned.replay == 3  # its settings file was readable, so they were kept
    assert "using the adapted model" in caplog.text  # the pipeline classifies with it


def test_the_service_relearns_an_adapted_model_without_the_familiarity_gate(deployment, caplog) -> None:
    """Models saved before the gate (v1-v3) let corrections of one kind of text move every other kind's scores; the
    service relearns them at start, so an upgrade brings the gate without anybody running --rebuild."""
    config, state = deployment
    now = datetime.now(timezone.utc)
    model = AdaptiveClassifier(TextClassifier.load(), replay=3)
    model.gated = False  # as a v3 file loads
    for text, age in zip(TEXTS, (3, 2)):
        _learn(config, model, text, now - timedelta(days=age), polarity="negative")
    model.save(state)
    _start_service(config, caplog, now)
    assert "outdated adapted model relearned: 2 of 2 stored corrections" in caplog.text
    relearned = AdaptiveClassifier.load(TextClassifier.load(), state)
    assert relearned.gated and relearned.updates["polarity"] == 2
    assert relearned.replay == 3  # relearned with its own settings


def test_the_service_starts_when_relearning_fails(deployment, caplog) -> None:
    config, state = deployment
    model = AdaptiveClassifier(TextClassifier.load())
    _learn(config, model, TEXTS[0], datetime.now(timezone.utc), polarity="negative")
    model.save(state)
    _as_if_learned_on_another_base_model(state)
    state.with_name(state.name + ".lock").mkdir()  # the lock cannot be opened: an OSError as on a read-only disk
    _start_service(config, caplog)
    assert "not relearned" in caplog.text and "--rebuild" in caplog.text
    assert "adapted model not used" in caplog.text  # classifies with the base model, says why


def test_the_service_leaves_a_broken_adapted_model_alone(deployment, caplog) -> None:
    config, state = deployment
    state.mkdir()
    (state / STATE_FILE).write_text("{not json", encoding="utf-8")
    _start_service(config, caplog)
    assert (state / STATE_FILE).read_text(encoding="utf-8") == "{not json"  # kept for inspection
    assert "adapted model not used" in caplog.text and "relearned" not in caplog.text


def test_purge_relearns_an_adapted_model_of_another_base_model(deployment) -> None:
    """It cannot be read to forget from, so it would keep what expired corrections taught it; relearned instead."""
    config, state = deployment
    now = datetime.now(timezone.utc)
    model = AdaptiveClassifier(TextClassifier.load(), replay=3)
    for text, age in zip(TEXTS, (40, 1)):
        _learn(config, model, text, now - timedelta(days=age), polarity="negative")
    model.save(state)
    _as_if_learned_on_another_base_model(state)
    counts, _ = _purge(config)
    assert counts["corrections_relearned"] == 1 and counts["correction_texts_erased"] == 1
    again = AdaptiveClassifier.load(TextClassifier.load(), state)  # fits the current base model again
    assert again.updates["polarity"] == 1 and again.holds_before(now - timedelta(days=30)) is False
    assert again.replay == 3  # with the settings saved with the model it replaced


def test_a_reset_during_the_service_start_is_not_undone(deployment) -> None:
    """The start checks for a foreign model before it takes the lock; a reset that gets the lock first wins."""
    import shutil
    import threading

    from monitor.adapted import exclusive, rebuild_if_outdated
    from monitor.config import load_settings

    config, state = deployment
    model = AdaptiveClassifier(TextClassifier.load())
    _learn(config, model, TEXTS[0], datetime.now(timezone.utc), polarity="negative")
    model.save(state)
    _as_if_learned_on_another_base_model(state)
    settings = load_settings(str(config))
    results = []
    with Store.open(f"sqlite:///{config.parent / 'sw.db'}") as store:
        with exclusive(state):  # as `stormwatch correct --reset` holds it
            start = threading.Thread(target=lambda: results.append(
                rebuild_if_outdated(settings, store, datetime.now(timezone.utc))))
            start.start()
            start.join(timeout=1.0)
            assert start.is_alive()  # waiting for the lock
            shutil.rmtree(state)
        start.join()
    assert results == [None] and not state.exists()
