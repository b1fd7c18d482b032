"""The alert state machine: one open and one resolve per storm, no flapping."""

from datetime import datetime, timedelta, timezone

import pytest

from monitor.alerting.state import AlertPolicy, step

T0 = datetime(2026, 3, 11, 9, tzinfo=timezone.utc)


def _events(levels, kinds=None, policy=AlertPolicy(open_level=3, resolve_level=1, resolve_after_buckets=3)):
    state, events = None, []
    for i, level in enumerate(levels):
        kind = (kinds or {}).get(i, "shitstorm" if level >= 2 else "calm")
        state, event = step(state, scope="s", level=level, kind=kind, at=T0 + timedelta(minutes=5 * i), policy=policy)
        if event:
            events.append((i, event))
    return events, state


def test_storm_opens_escalates_and_resolves_once():
    events, state = _events([0, 1, 3, 4, 4, 5, 3, 2, 1, 0, 0, 0, 0])
    # winding down straight to calm: the team hears "resolved", not an update first and a resolve right after
    assert events == [(2, "opened"), (3, "escalated"), (5, "escalated"), (10, "resolved")]
    assert state is None
    eager = AlertPolicy(open_level=3, resolve_level=1, resolve_after_buckets=3, update_after_buckets=1)
    events, _ = _events([0, 1, 3, 4, 4, 5, 3, 2, 1, 0, 0, 0, 0], policy=eager)
    assert events == [(2, "opened"), (3, "escalated"), (5, "escalated"), (6, "updated"), (10, "resolved")]


def test_a_flapping_level_does_not_flap_the_alert():
    events, state = _events([3, 0, 3, 1, 3, 0, 0, 3, 1, 1, 1])
    assert [e for _, e in events] == ["opened", "resolved"]


def test_significant_calming_is_an_update_but_not_every_wobble():
    events, _ = _events([5, 4, 5, 3, 4, 2, 2, 2])
    assert events == [(0, "opened"), (7, "updated")]  # the drop to 2 held for update_after_buckets (3)


def test_a_level_jumping_between_buckets_sends_no_updates():
    # live storms jump: 5 -> 3 -> 5 -> 3 ... is one storm at level 5, not a stream of de-escalations
    events, state = _events([5, 3, 5, 3, 5, 3, 3, 5, 2, 5])
    assert events == [(0, "opened")]
    assert state.reported_level == 5 and state.low_streak == 0


def test_levels_below_open_level_or_non_alert_kinds_do_not_open():
    events, _ = _events([2, 2, 2, 1])
    assert events == []
    events, _ = _events([4, 4], kinds={0: "surge", 1: "calm"})
    assert events == []


def test_question_surge_turning_hostile_becomes_a_shitstorm():
    events, state = _events([3, 5], kinds={0: "question_surge", 1: "shitstorm"})
    assert events == [(0, "opened"), (1, "escalated")]
    assert state.kind == "shitstorm"


def test_alert_id_is_stable_for_the_opening_bucket():
    _, state = _events([3, 4])
    assert state.alert_id == "s-20260311T0900Z"


@pytest.mark.parametrize("resolve_after", [1, 2, 6])
def test_resolve_after_is_respected(resolve_after):
    policy = AlertPolicy(open_level=3, resolve_level=1, resolve_after_buckets=resolve_after)
    events, _ = _events([3] + [0] * 10, policy=policy)
    assert events[-1] == (resolve_after, "resolved")


def test_reopening_during_cool_down_needs_a_higher_level():
    policy = AlertPolicy(open_level=3, resolve_level=1, resolve_after_buckets=3)
    state, event = step(None, scope="s", level=3, kind="shitstorm", at=T0, policy=policy, cooling_down=True)
    assert (state, event) == (None, None)
    state, event = step(None, scope="s", level=4, kind="shitstorm", at=T0, policy=policy, cooling_down=True)
    assert event == "opened"


def test_a_storm_that_only_softens_in_tone_stays_open_while_volume_is_raised():
    policy = AlertPolicy(open_level=3, resolve_level=1, resolve_after_buckets=2)
    state, _ = step(None, scope="s", level=4, kind="shitstorm", at=T0, policy=policy)
    for _ in range(5):
        state, event = step(state, scope="s", level=1, kind="surge", at=T0, policy=policy, surging=True)
        assert event in (None, "updated") and state is not None
    state, event = step(state, scope="s", level=1, kind="surge", at=T0, policy=policy)
    state, event = step(state, scope="s", level=0, kind="calm", at=T0, policy=policy)
    assert event == "resolved"



def _t(minutes):
    from datetime import datetime, timedelta, timezone
    return datetime(2026, 3, 11, 12, tzinfo=timezone.utc) + timedelta(minutes=minutes)


def test_a_shitstorm_during_an_open_question_surge_escalates_and_takes_over():
    from monitor.alerting.state import AlertPolicy, step
    policy = AlertPolicy()
    state, event = step(None, scope="s", level=4, kind="question_surge", at=_t(0), policy=policy, rate=30)
    state, event = step(state, scope="s", level=3, kind="shitstorm", at=_t(5), policy=policy, rate=30)
    assert (event, state.kind, state.note) == ("escalated", "shitstorm", "kind")
    # the other way round a benign surge stays part of the Shitstorm alert
    state, event = step(state, scope="s", level=3, kind="question_surge", at=_t(10), policy=policy, rate=30)
    assert event is None and state.kind == "shitstorm"


def test_a_new_wave_after_a_lull_escalates_without_a_new_peak():
    from monitor.alerting.state import AlertPolicy, step
    policy = AlertPolicy(resolve_after_buckets=12, new_wave_after_buckets=6)
    state, event = step(None, scope="s", level=5, kind="shitstorm", at=_t(0), policy=policy, rate=40)
    events = []
    for i in range(1, 8):  # 35 calm minutes: not yet resolved
        state, event = step(state, scope="s", level=1, kind="calm", at=_t(5 * i), policy=policy, rate=3)
        events.append(event)
    state, event = step(state, scope="s", level=4, kind="shitstorm", at=_t(45), policy=policy, rate=25)
    assert events == [None] * 7 and (event, state.note) == ("escalated", "wave")
    # a short dip is no new wave
    state, _ = step(state, scope="s", level=1, kind="calm", at=_t(50), policy=policy, rate=3)
    state, event = step(state, scope="s", level=4, kind="shitstorm", at=_t(55), policy=policy, rate=25)
    assert event is None


def test_fired_signals_are_explained_in_german_and_english():
    from detectors.storm import SignalExplanation
    from monitor.alerting.message import explain_fired
    from monitor.domain import Explanation
    explanation = Explanation([SignalExplanation("volume", 60, 12, 9.0, True),
                               SignalExplanation("negative", 0.72, 0.25, 6.0, True),
                               SignalExplanation("questions", 0.1, 0.15, 0.0, False),
                               SignalExplanation("copy_paste", 0.4, 0.05, 8.0, True)])
    de = explain_fired(explanation, "de")
    assert "60 statt 12" in de and "72 % negativ, üblich 25 %" in de and "Copy-Paste" in de and "Fragen" not in de
    assert "identical texts" in explain_fired(explanation.to_json(), "en")


def test_a_candystorm_needs_a_clear_wave_to_open_while_questions_open_at_the_open_level():
    events, _ = _events([3, 3, 3], kinds={0: "candystorm", 1: "candystorm", 2: "candystorm"})
    assert events == []  # a busy, friendly evening: no page
    events, state = _events([3, 4], kinds={0: "candystorm", 1: "candystorm"})
    assert events == [(1, "opened")] and state.kind == "candystorm"
    events, _ = _events([3], kinds={0: "question_surge"})
    assert events == [(0, "opened")]  # citizens who need information cannot wait
