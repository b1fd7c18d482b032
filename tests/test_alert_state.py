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
    assert events == [(2, "opened"), (3, "escalated"), (5, "escalated"), (6, "updated"), (10, "resolved")]
    assert state is None


def test_a_flapping_level_does_not_flap_the_alert():
    events, state = _events([3, 0, 3, 1, 3, 0, 0, 3, 1, 1, 1])
    assert [e for _, e in events] == ["opened", "resolved"]


def test_significant_calming_is_an_update_but_not_every_wobble():
    events, _ = _events([5, 4, 5, 3, 4, 2, 2])
    assert [e for _, e in events] == ["opened", "updated"]


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
