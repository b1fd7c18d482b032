"""The NAB scorer in benchmarks/nab.py on small hand-made series, against the paper's definitions."""

import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.nab import DEFAULT_COSTS, MAX_TP, normalised, probation_length, scaled_sigmoid, score_file  # noqa: E402

T0 = datetime(2014, 4, 1)
N = 1000  # probation: 150 rows
STAMPS = [T0 + timedelta(minutes=5 * i) for i in range(N)]
WINDOW = (STAMPS[500], STAMPS[549])  # 50 rows


def _detect(*rows):
    hits = [False] * N
    for r in rows:
        hits[r] = True
    return hits


def _norm(hits, profile="standard", windows=(WINDOW,)):
    return normalised([score_file(STAMPS, hits, windows)], DEFAULT_COSTS[profile])


def test_sigmoid_and_probation_follow_the_paper():
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(3.0) == -1.0
    assert probation_length(1000) == 150 and probation_length(100_000) == 750


@pytest.mark.parametrize("profile", list(DEFAULT_COSTS))
def test_perfect_detector_scores_100_and_null_detector_0(profile):
    assert _norm(_detect(500), profile) == pytest.approx(100.0)
    assert _norm(_detect(), profile) == pytest.approx(0.0)


def test_only_the_earliest_detection_in_a_window_counts():
    assert _norm(_detect(500, 510, 540)) == pytest.approx(100.0)
    score = score_file(STAMPS, _detect(510, 500), [WINDOW])
    assert score.detected == 1 and score.false_positives == 0


def test_early_detection_beats_a_late_one():
    early, middle, late = _norm(_detect(505)), _norm(_detect(525)), _norm(_detect(549))
    assert 100 > early > middle > late > 0
    # the last row of a window: position -1/50, worth almost nothing but still more than a miss
    assert late == pytest.approx(50 * (1 + scaled_sigmoid(-1 / 50) / MAX_TP), rel=1e-9)


def test_false_positive_costs_per_profile():
    # far from any window (before it): a full fpWeight each; 1 window, so null = -fn, perfect = tp
    for profile, costs in DEFAULT_COSTS.items():
        expected = 100 * (costs["tpWeight"] - costs["fpWeight"] + costs["fnWeight"]) / (costs["tpWeight"] + costs["fnWeight"])
        assert _norm(_detect(200, 500), profile) == pytest.approx(expected)
    assert _norm(_detect(200, 500), "reward_low_FP_rate") < _norm(_detect(200, 500), "standard")


def test_false_positive_right_after_a_window_costs_less_than_one_far_away():
    near = score_file(STAMPS, _detect(500, 552), [WINDOW]).fp_parts[0]
    far = score_file(STAMPS, _detect(500, 900), [WINDOW]).fp_parts[0]
    assert -1.0 == far < near < 0.0


def test_probationary_period_is_not_scored():
    score = score_file(STAMPS, _detect(10, 100), [(STAMPS[20], STAMPS[60])])
    assert score.windows == 0 and score.false_positives == 0 and score.detected == 0
    assert normalised([score], DEFAULT_COSTS["standard"]) is None


def test_missed_window_costs_fn_weight():
    costs = DEFAULT_COSTS["reward_low_FN_rate"]
    score = score_file(STAMPS, _detect(), [WINDOW, (STAMPS[800], STAMPS[849])])
    assert score.windows == 2 and score.raw(costs) == -2 * costs["fnWeight"]


def test_delay_is_measured_from_the_window_start():
    score = score_file(STAMPS, _detect(512), [WINDOW])
    assert score.delays_min == [60.0]


# -- detect-series' score stage (monitor/series.py) ----------------------------------------------------------

from monitor.series import PeakGate, detect_series  # noqa: E402


def _rows(values, minutes=5):
    return [(str(i), T0 + timedelta(minutes=minutes * i), float(v)) for i, v in enumerate(values)]


def _noise(n, seed=5):
    import random

    rng = random.Random(seed)
    return [50 + rng.gauss(0, 2) for _ in range(n)]


def test_detect_series_is_online_no_score_depends_on_later_rows():
    values = _noise(3000)
    values[2500:2510] = [90] * 10
    full = [s for _, _, s in detect_series(_rows(values))]
    prefix = [s for _, _, s in detect_series(_rows(values[:2505]))]
    assert full[:2505] == prefix
    assert max(full[2500:2510]) >= 0.5 > max(full[600:2500])


def test_peak_gate_keeps_the_floor_on_a_calm_stream_and_raises_the_bar_on_a_spiky_one():
    calm, spiky = PeakGate(4.0, 1.35, 7, 288), PeakGate(4.0, 1.35, 7, 288)
    for i in range(288 * 10):
        calm.step(1.0)
        spiky.step(8.0 if i % 288 == 100 else 1.0)  # one z = 8 spike every day
    assert calm.step(5.0) > 0.5  # above the floor: alert
    assert spiky.step(8.5) < 0.5  # an ordinary day's spike in this stream: no alert
    assert spiky.step(12.0) > 0.5  # clearly above 1.35 x the usual daily peak


def test_a_run_of_moderate_deviations_alerts_through_the_burst_view_only():
    values = _noise(3000)
    for i in range(2500, 2560):
        values[i] = 57.3 if i % 2 else 42.7  # |z| below 4: never a spike on its own, but 5 hours of it
    spike_only = {"burst_alert": 0.0, "shift_alert": 0.0}
    with_burst = {"burst_alert": 2.5, "burst_points": 6, "shift_alert": 0.0}
    scores = {}
    for name, settings in (("spike", spike_only), ("burst", with_burst)):
        scores[name] = [s for _, _, s in detect_series(_rows(values), 0, score_settings=settings)]
    assert max(scores["spike"][2500:2560]) < 0.5 <= max(scores["burst"][2500:2560])
    assert max(scores["burst"][600:2500]) < 0.5
