"""Places where the detection layer states the same rule twice are held together here.

ScopeStormScorer._judge inlines storm_level's surge test and its branch below the surge; explain() answers
"which signal fired" separately from storm_level; the English alert text translates the German reasons the
detectors and the decider write. Each pair could drift apart silently; these tests would notice.
"""

from __future__ import annotations

import doctest
import importlib
import random
import re
from datetime import datetime, timedelta, timezone

import pytest

from detectors.storm import ScopeStormScorer, StormThresholds, explain, storm_level
from monitor.alerting.decide import ESCALATION_NOTES
from monitor.alerting.message import translate_reason

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday


def _stream(seed: int) -> list[dict]:
    """Four calm days, then hostile waves, a friendly one, a question surge and small critical bursts."""
    rng = random.Random(seed)
    out = []
    for i in range(12 * 24 * 7):
        t = T0 + timedelta(minutes=5 * i)
        count = rng.randint(2, 8) if 8 <= t.hour < 21 else rng.randint(0, 1)
        shares = {"negative": 0.25, "toxic": 0.02, "questions": 0.15, "positive": 0.2, "new_authors": 0.35,
                  "duplicates": 0.02}
        platforms = {"facebook": count}
        if i > 12 * 24 * 4 and 9 <= t.hour < 20:
            phase = (i // 12) % 8  # one-hour phases
            if phase == 1:  # hostile wave on two platforms, copy-paste and new authors
                count += rng.randint(15, 60)
                shares = {"negative": 0.8, "toxic": 0.3, "questions": 0.05, "positive": 0.02,
                          "new_authors": 0.9, "duplicates": 0.4}
                platforms = {"facebook": count // 2, "instagram": count - count // 2}
            elif phase == 3:
                count += rng.randint(10, 30)
                shares = {**shares, "positive": 0.8, "negative": 0.05}
                platforms = {"facebook": count}
            elif phase == 5:
                count += rng.randint(10, 30)
                shares = {**shares, "questions": 0.75, "negative": 0.1}
                platforms = {"facebook": count}
            elif phase == 7:  # a small critical burst: level 1 below the surge
                count = rng.randint(6, 9)
                shares = {**shares, "negative": 0.9}
                platforms = {"facebook": count}
        out.append({"t": t, "count": count, **{k: v * count for k, v in shares.items()}, "platforms": platforms})
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_scorer_levels_and_explanations_agree_with_storm_level(seed):
    scorer = ScopeStormScorer(bucket_seconds=300)
    th = scorer.thresholds
    seen = set()
    for x in _stream(seed):
        reading = scorer.score_one(x) if x["count"] else scorer.process_empty(x["t"])
        if x["count"]:
            scorer.learn_one(x, reading)
        s = reading.signals
        if "volume_z" not in s or reading.reason == "Einlernphase":
            continue  # the quiet shortcut and the warm-up never consult storm_level
        assert storm_level(s, th)[:2] == (reading.level, reading.kind), (x["t"], s)
        fired = {e.name for e in explain(s, th) if e.fired}
        if reading.level >= 2:
            assert "volume" in fired
        if reading.kind == "shitstorm":
            assert {"volume", "negative"} <= fired
        if reading.kind == "calm" and reading.level == 1:
            assert "negative" in fired and "volume" not in fired
        seen.add((reading.kind, min(reading.level, 2)))
    # the comparison covered every branch, not just calm buckets
    assert {("shitstorm", 2), ("calm", 1), ("calm", 0), ("candystorm", 2), ("question_surge", 2)} <= seen


def test_the_inlined_judgement_agrees_with_storm_level_on_random_windows():
    """_judge inlines storm_level's surge test and its branch below the surge: every window must agree."""
    scorer = ScopeStormScorer(bucket_seconds=300)
    stream = _stream(3)[: 12 * 24 * 4]  # the calm days: a learned baseline, no storm in it
    for x in stream:
        reading = scorer.score_one(x) if x["count"] else scorer.process_empty(x["t"])
        if x["count"]:
            scorer.learn_one(x, reading)
    th = scorer.thresholds
    rng = random.Random(4)
    levels = set()
    for i in range(3000):
        t = stream[-1]["t"] + timedelta(minutes=5 * (1 + i % 200))
        entries = []
        for _ in range(rng.randint(1, 3)):
            count = rng.randint(0, 40)
            x = {"count": count, "negative": count * rng.random(), "positive": count * rng.random() * 0.5,
                 "toxic": count * rng.random() * 0.3, "questions": count * rng.random() * 0.5,
                 "new_authors": count * rng.random(), "duplicates": count * rng.random() * 0.3,
                 "platforms": {"facebook": count}}
            entries.append(scorer._entry(x, scorer.volume.expected(t)))
        reading = scorer._judge(entries, 1.0)
        assert storm_level(reading.signals, th)[:2] == (reading.level, reading.kind), reading.signals
        levels.add((reading.kind, reading.level))
    assert ("calm", 0) in levels and ("calm", 1) in levels and any(kind == "shitstorm" for kind, _ in levels)


_GERMAN = re.compile(r"Stufe|Welle|Beiträge|ruhig|Kritik|Plattform|Ereignis|Absender|Menge|Lage|Einlern|Ton |üblich")


def _reasons() -> set[str]:
    """Every reason storm_level can give on a grid of readings, with the scorer's and the decider's additions."""
    th = StormThresholds()
    reasons = set()
    base = {"count": 40.0, "expected": 5.0, "volume_z": 9.0, "platforms": 1.0, "toxic_share": 0.0,
            "usual_negative_share": 0.25, "usual_question_share": 0.15, "usual_positive_share": 0.2}
    for ratio in (1.0, 2.5, 9.0, 13.0):
        for negative in (0.2, 0.55, 0.8):
            for extra in ({}, {"question_share": 0.8, "question_z": 9.0}, {"positive_share": 0.8, "positive_z": 9.0},
                          {"copy_paste_z": 9.0, "new_author_z": 9.0, "spread_z": 9.0, "platforms": 3.0,
                           "toxic_share": 0.4}, {"new_author_z": 9.0, "spread_z": 9.0}):
                for count in (4.0, 40.0):
                    s = {**base, "volume_ratio": ratio, "negative_share": negative, "count": count,
                         "negative_z": 9.0, **extra}
                    reasons.add(storm_level(s, th)[2])
    reasons |= {r + " (geplantes Ereignis: 2.5-faches Volumen erwartet)" for r in list(reasons)}
    reasons.add("Einlernphase")
    reasons |= {f"{note} – {r}" for note in ESCALATION_NOTES.values() for r in list(reasons)}
    reasons.add("seit 60 Minuten wieder ruhig (Stufe 1)")  # AlertDecider.decide's resolution reason
    return reasons


def test_every_reason_reads_in_english():
    reasons = _reasons()
    assert len(reasons) > 20
    assert any("Stufe begrenzt" in r for r in reasons) and any("Stufe erhöht" in r for r in reasons)
    for reason in reasons:
        english = translate_reason(reason, "en")
        assert not _GERMAN.search(english), (reason, english)
        assert translate_reason(reason, "de") == reason


@pytest.mark.parametrize("module", [
    "detectors.storm", "detectors.shares_surprise", "detectors.spread", "detectors.seasonal", "detectors.copypaste",
    "monitor.alerting.state", "monitor.alerting.message", "detectors.emoji_lexicon", "detectors.lexicon",
])
def test_docstring_examples_hold(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
