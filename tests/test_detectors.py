"""Detectors: one conformance check for all, then the seasonal baseline and the storm-level mapping."""

import copy
import pickle
import random
from datetime import datetime, timedelta, timezone

import pytest

from detectors.base import AnomalyDetector
from detectors.seasonal import SeasonalVolume, z_to_score
from detectors.storm import ScopeStormScorer, StormThresholds, explain, storm_level
from monitor.demo.sampling import poisson

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday


def _calm_count(t, rng, scale=1.0):
    base = 6 if 8 <= t.hour < 21 else 0.4
    return poisson(rng, base * scale)


DETECTORS = [
    lambda: SeasonalVolume(interval_seconds=300),
    lambda: SeasonalVolume(interval_seconds=300, counts=False, diurnal_prior=False),
]


@pytest.mark.parametrize("make", DETECTORS)
def test_conformance_score_before_learn_and_bounded_state(make):
    detector = make()
    assert isinstance(detector, AnomalyDetector)
    rng = random.Random(3)
    sizes = []
    for i in range(12 * 24 * 10):
        x = {"t": T0 + timedelta(minutes=5 * i), "value": _calm_count(T0 + timedelta(minutes=5 * i), rng)}
        before = pickle.dumps(detector.__dict__)
        score = detector.score_one(x)
        assert pickle.dumps(detector.__dict__) == before, "score_one must not change state"
        assert 0.0 <= score <= 1.0
        assert detector.score_one(x) == score
        detector.learn_one(x)
        if i % 1000 == 0:
            sizes.append(len(pickle.dumps(detector)))
    assert max(sizes[1:]) == min(sizes[1:]), "state must not grow with the stream"


def test_seasonal_baseline_learns_day_night_and_flags_a_daytime_spike():
    detector = SeasonalVolume(interval_seconds=300)
    rng = random.Random(1)
    for i in range(12 * 24 * 14):
        t = T0 + timedelta(minutes=5 * i)
        detector.learn_one({"t": t, "value": _calm_count(t, rng)})
    noon = T0 + timedelta(days=14, hours=12)
    night = T0 + timedelta(days=14, hours=3)
    assert 4.5 < detector.expected(noon) < 7.5
    assert detector.expected(night) < 1.0
    assert detector.score_one({"t": noon, "value": 7}) < 0.1
    assert detector.score_one({"t": noon, "value": 40}) > 0.9
    assert detector.score_one({"t": noon, "value": 0}) == 0.0, "only increases are anomalous"


def test_a_storm_does_not_poison_the_baseline():
    detector = SeasonalVolume(interval_seconds=300)
    rng = random.Random(2)
    for i in range(12 * 24 * 7):
        t = T0 + timedelta(minutes=5 * i)
        detector.learn_one({"t": t, "value": _calm_count(t, rng)})
    noon = T0 + timedelta(days=7, hours=12)
    before = detector.expected(noon + timedelta(days=1))
    for i in range(36):  # three hours of a 10x storm
        detector.learn_one({"t": noon + timedelta(minutes=5 * i), "value": 60})
    after = detector.expected(noon + timedelta(days=1))
    assert after < before * 1.5


def test_z_to_score_is_monotone():
    values = [z_to_score(z) for z in (-1, 0, 1, 2, 4, 7, 12)]
    assert values == sorted(values) and values[0] == 0.0 and values[-1] > 0.99


def _signals(**overrides):
    base = {
        "count": 60.0, "expected": 6.0, "volume_ratio": 10.0, "volume_z": 12.0, "negative_share": 0.7,
        "usual_negative_share": 0.2, "toxic_share": 0.1, "question_share": 0.1, "positive_share": 0.1,
        "platforms": 3.0,
    }
    return {**base, **overrides}


@pytest.mark.parametrize(
    "overrides, level, kind",
    [
        ({}, 5, "shitstorm"),  # ratio 10 -> 5; a majority is negative, but the tone is not aggressive enough for 6
        ({"volume_ratio": 25.0, "toxic_share": 0.4}, 6, "shitstorm"),
        ({"volume_ratio": 25.0, "toxic_share": 0.1}, 5, "shitstorm"),
        ({"volume_ratio": 25.0, "negative_share": 0.5}, 4, "shitstorm"),
        ({"volume_ratio": 25.0, "platforms": 1.0}, 3, "shitstorm"),
        ({"negative_share": 0.2}, 1, "surge"),  # volume alone is not a Shitstorm
        ({"negative_share": 0.3, "usual_negative_share": 0.3}, 1, "surge"),
        ({"negative_share": 0.2, "question_share": 0.6}, 5, "question_surge"),
        ({"negative_share": 0.1, "positive_share": 0.7}, 5, "candystorm"),
        # 15 mentions, 60 % positive where 27 % is usual: within chance for so few, so not a Candystorm
        ({"count": 15.0, "negative_share": 0.1, "positive_share": 0.6, "usual_positive_share": 0.27}, 1, "surge"),
        ({"count": 60.0, "negative_share": 0.1, "positive_share": 0.6, "usual_positive_share": 0.27}, 5, "candystorm"),
        ({"count": 5.0}, 1, "calm"),  # too few mentions for a surge, but negative
        ({"count": 3.0, "negative_share": 0.1}, 0, "calm"),
        ({"volume_z": 2.0}, 1, "calm"),  # not significant
        ({"volume_ratio": 3.5}, 3, "shitstorm"),
        ({"volume_ratio": 2.5}, 2, "shitstorm"),
    ],
)
def test_storm_level_mapping(overrides, level, kind):
    got_level, got_kind, reason = storm_level(_signals(**overrides), StormThresholds())
    assert (got_level, got_kind) == (level, kind), reason


def _bucket(t, count, negative_share=0.2, toxic_share=0.0, question_share=0.15, positive_share=0.2, platforms=("facebook",)):
    return {
        "t": t, "count": count, "negative": count * negative_share, "toxic": count * toxic_share,
        "questions": count * question_share, "positive": count * positive_share, "new_authors": 0,
        "platforms": list(platforms) if count else [],
    }


def _run(scorer, buckets):
    readings = []
    for x in buckets:
        reading = scorer.score_one(x)
        scorer.learn_one(x, reading)
        readings.append(reading)
    return readings


def test_calm_week_stays_below_alert_level():
    rng = random.Random(5)
    scorer = ScopeStormScorer(bucket_seconds=300)
    buckets = []
    for i in range(12 * 24 * 7):
        t = T0 + timedelta(minutes=5 * i)
        count = _calm_count(t, rng, scale=1.5)
        share = rng.uniform(0.1, 0.4)
        buckets.append(_bucket(t, count, negative_share=share))
    levels = [r.level for r in _run(scorer, buckets)]
    assert max(levels) <= 1


def test_building_storm_is_seen_early_and_question_surge_is_not_a_shitstorm():
    rng = random.Random(6)
    scorer = ScopeStormScorer(bucket_seconds=300)
    calm = [_bucket(T0 + timedelta(minutes=5 * i), _calm_count(T0 + timedelta(minutes=5 * i), rng)) for i in range(12 * 24 * 3)]
    _run(scorer, calm)
    start = T0 + timedelta(days=3, hours=10)
    storm = [
        _bucket(start + timedelta(minutes=5 * i), 6 * (1 + i), negative_share=0.75, platforms=("facebook", "instagram"))
        for i in range(10)
    ]
    readings = _run(scorer, storm)
    first_3x = next(i for i, b in enumerate(storm) if b["count"] >= 3 * 6)
    first_alert = next(i for i, r in enumerate(readings) if r.level >= 3)
    assert first_alert - first_3x <= 2
    assert {r.kind for r in readings if r.level >= 2} == {"shitstorm"}

    questions = ScopeStormScorer(bucket_seconds=300)
    _run(questions, calm)
    surge = [_bucket(start + timedelta(minutes=5 * i), 60, negative_share=0.25, question_share=0.7) for i in range(6)]
    kinds = {r.kind for r in _run(questions, surge) if r.level >= 2}
    assert kinds == {"question_surge"}


def test_no_alert_during_warmup():
    scorer = ScopeStormScorer(bucket_seconds=300, warmup_hours=12)
    reading = scorer.score_one(_bucket(T0, 500, negative_share=0.9))
    assert reading.level == 0 and reading.reason == "Einlernphase"


def test_score_one_leaves_the_scorer_unchanged():
    scorer = ScopeStormScorer(bucket_seconds=300)
    _run(scorer, [_bucket(T0 + timedelta(minutes=5 * i), 3) for i in range(50)])
    snapshot = copy.deepcopy(scorer.__dict__)
    scorer.score_one(_bucket(T0 + timedelta(hours=5), 80, negative_share=0.9))
    assert pickle.dumps(scorer.__dict__) == pickle.dumps(snapshot)


def test_empty_bucket_shortcut_equals_score_then_learn():
    rng = random.Random(9)
    fast, slow = ScopeStormScorer(bucket_seconds=300), ScopeStormScorer(bucket_seconds=300)
    for i in range(12 * 24 * 4):
        t = T0 + timedelta(minutes=5 * i)
        count = _calm_count(t, rng) * (3 if i % 97 < 3 else 1)
        x = _bucket(t, count, negative_share=0.6)
        expected = slow.score_one(x)
        slow.learn_one(x, expected)
        got = fast.process_empty(t) if count == 0 else fast.score_one(x)
        if count:
            fast.learn_one(x, got)
        assert (got.level, got.kind, got.signals) == (expected.level, expected.kind, expected.signals)
    assert pickle.dumps(fast.volume.__dict__) == pickle.dumps(slow.volume.__dict__)
    assert [tuple(e) for e in fast._window] == [tuple(e) for e in slow._window]


def _council_evening(planned_factor, volume):
    rng = random.Random(11)
    scorer = ScopeStormScorer(bucket_seconds=300)
    calm = [_bucket(T0 + timedelta(minutes=5 * i), _calm_count(T0 + timedelta(minutes=5 * i), rng)) for i in range(12 * 24 * 3)]
    _run(scorer, calm)
    start = T0 + timedelta(days=3, hours=18)
    levels = []
    for i in range(24):  # two hours of a council meeting streamed live
        x = {**_bucket(start + timedelta(minutes=5 * i), volume, negative_share=0.55, platforms=("facebook", "youtube")),
             "planned_factor": planned_factor}
        reading = scorer.score_one(x)
        scorer.learn_one(x, reading)
        levels.append(reading.level)
    return max(levels)


def test_planned_event_volume_does_not_alert_but_a_storm_on_top_does():
    assert _council_evening(1.0, 30) >= 3  # the same evening unplanned: an alert
    assert _council_evening(5.0, 30) <= 2  # planned with five times the usual volume: no alert
    assert _council_evening(5.0, 150) >= 3  # a real storm on top of the plan still alerts


def test_corroborating_signals_raise_a_hostile_surge_by_one_level():
    th = StormThresholds()
    two_x = _signals(volume_ratio=2.5)
    assert storm_level(two_x, th)[0] == 2
    assert storm_level({**two_x, "copy_paste_z": 5.0}, th)[0] == 3, "a hostile copy-paste campaign is a strong sign"
    assert storm_level({**two_x, "new_author_z": 5.0}, th)[0] == 2, "one weak corroboration is not enough"
    assert storm_level({**two_x, "new_author_z": 5.0, "spread_z": 5.0}, th)[0] == 3
    assert storm_level({**_signals(volume_ratio=1.7, negative_share=0.2), "copy_paste_z": 9.0}, th)[:2] == (1, "surge")


def test_explanation_agrees_with_the_level():
    th = StormThresholds()
    volume_only = _signals(negative_share=0.2)
    fired = [e.name for e in explain(volume_only, th) if e.fired]
    assert fired == ["volume"] and storm_level(volume_only, th)[0] == 1, "volume alone is not a Shitstorm"
    storm = {**_signals(), "toxic_z": 6.0, "toxic_share": 0.3, "usual_toxic_share": 0.03, "spread_z": 4.0,
             "spread_count": 20.0, "spread_expected": 2.0}
    signals = {e.name: e for e in explain(storm, th)}
    assert signals["negative"].fired and signals["negative"].baseline == 0.2 and signals["negative"].value == 0.7
    assert signals["toxic"].fired and signals["spread"].fired and signals["volume"].baseline == 6.0


def test_scorer_readings_carry_every_detector_on_a_surge():
    rng = random.Random(13)
    scorer = ScopeStormScorer(bucket_seconds=300)
    calm = [_bucket(T0 + timedelta(minutes=5 * i), _calm_count(T0 + timedelta(minutes=5 * i), rng)) for i in range(12 * 24 * 3)]
    _run(scorer, calm)
    storm = {**_bucket(T0 + timedelta(days=3, hours=11), 60, negative_share=0.8), "duplicates": 30, "new_authors": 50}
    reading = scorer.score_one(storm)
    for key in ("negative_z", "toxic_z", "question_z", "positive_z", "new_author_z", "copy_paste_z", "spread_z"):
        assert key in reading.signals
    fired = {e.name for e in scorer.explain(reading) if e.fired}
    assert {"volume", "negative", "copy_paste", "new_author"} <= fired and reading.kind == "shitstorm"
