"""Checks that the storm simulator yields valid, deterministic streams whose episodes show where the truth says."""
import re
from collections import Counter
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from monitor.config import PlannedEvent
from monitor.demo.simulate import SHAPES, simulate

BERLIN = ZoneInfo("Europe/Berlin")
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
FIELDS = {"platform", "id", "created_at", "text", "author", "scope", "kind", "parent_id", "url", "metrics"}
STORMS = [s for s in SHAPES if s != "calm"]


@cache
def _sim(shape, seed=1):
    return simulate(shape, seed=seed)


def _utc(ts):
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(rows, start, end):
    return sum(1 for r in rows if start <= r["created_at"] < end)


@pytest.mark.parametrize("shape", SHAPES)
def test_rows_are_valid_mentions(shape):
    rows, truth = _sim(shape)
    assert len(rows) > 3000
    seen = set()
    for r in rows:
        assert set(r) == FIELDS
        assert TS.match(r["created_at"]), r["created_at"]
        assert r["scope"] == "stadt-sim" and r["text"].strip()
        assert re.fullmatch(r"u-[0-9a-f]{8}", r["author"])
        assert r["kind"] in {"comment", "reply"} and r["parent_id"]  # one own account: everything hangs under posts
        assert (r["platform"], r["id"]) not in seen, r["id"]
        seen.add((r["platform"], r["id"]))
    stamps = [r["created_at"] for r in rows]
    assert stamps == sorted(stamps)
    for episode in truth:
        assert {"scope", "kind", "onset", "peak", "end", "shape", "over_3x"} <= set(episode)
        assert episode["shape"] == shape and episode["onset"] <= episode["peak"] < episode["end"]


@pytest.mark.parametrize("shape", ["slow_build", "during_planned_event", "candystorm"])
def test_deterministic_for_a_seed(shape):
    assert simulate(shape, seed=5) == simulate(shape, seed=5)
    assert simulate(shape, seed=5)[0] != simulate(shape, seed=6)[0]


@pytest.mark.parametrize("shape", STORMS)
def test_episode_raises_volume_against_the_week_before(shape):
    rows, truth = _sim(shape)
    assert truth
    for episode in truth:
        peak = _utc(episode["peak"])
        now = _count(rows, _iso(peak - timedelta(hours=1)), _iso(peak + timedelta(hours=1)))
        before = _count(rows, _iso(peak - timedelta(days=7, hours=1)), _iso(peak - timedelta(days=7, hours=-1)))
        assert now >= 5 * max(before, 1), (episode, now, before)


def test_kinds_and_timing_per_shape():
    kinds = {s: [e["kind"] for e in _sim(s)[1]] for s in STORMS}
    assert kinds["question_surge"] == ["question_surge"] and kinds["candystorm"] == ["candystorm"]
    assert kinds["overlapping"] == ["shitstorm", "shitstorm"]
    first, second = _sim("overlapping")[1]
    assert _utc(second["onset"]) - _utc(first["onset"]) == timedelta(hours=3)
    local = lambda s: _utc(_sim(s)[1][0]["onset"]).astimezone(BERLIN)  # noqa: E731
    assert local("night").hour == 23
    assert local("weekend").weekday() == 5
    assert local("slow_build").weekday() < 5 and 12 <= local("slow_build").hour <= 17


def test_sudden_spike_reaches_15x_within_15_minutes():
    rows, (episode,) = _sim("sudden_spike")
    onset = _utc(episode["onset"])
    window = lambda t: _count(rows, _iso(t + timedelta(minutes=15)), _iso(t + timedelta(minutes=45)))  # noqa: E731
    assert window(onset) >= 10 * max(window(onset - timedelta(days=7)), 1)


def test_planned_event_is_declarable_and_covers_the_onset():
    (episode,) = _sim("during_planned_event")[1]
    event = PlannedEvent(**{**episode["planned_event"], "start": _utc(episode["planned_event"]["start"]),
                            "end": _utc(episode["planned_event"]["end"])})
    assert event.scopes == ["stadt-sim"] and event.expected_volume_factor == 3.0
    assert event.start <= _utc(episode["onset"]) < event.end
    rows = _sim("during_planned_event")[0]
    # before the storm starts, the live stream alone roughly triples the volume
    start, onset = event.start, _utc(episode["onset"])
    now = _count(rows, _iso(start), _iso(onset))
    before = _count(rows, _iso(start - timedelta(days=7)), _iso(onset - timedelta(days=7)))
    assert 1.8 * before <= now <= 5 * before


def test_storm_brings_new_authors_and_spreads_across_platforms():
    rows, (episode,) = _sim("slow_build")
    onset, end = episode["onset"], episode["end"]
    earlier = {r["author"] for r in rows if r["created_at"] < onset}
    during = [r for r in rows if onset <= r["created_at"] < end]
    assert sum(r["author"] not in earlier for r in during) / len(during) > 0.4
    early = Counter(r["platform"] for r in during if r["created_at"] < _iso(_utc(onset) + timedelta(minutes=80)))
    late = Counter(r["platform"] for r in during if r["created_at"] >= episode["peak"])
    assert early["facebook"] / sum(early.values()) > late["facebook"] / sum(late.values())
    assert len(late) == 5


def test_calm_has_no_episode_and_quieter_weekends():
    rows, truth = _sim("calm")
    assert truth == []
    per_day = Counter(_utc(r["created_at"]).astimezone(BERLIN).date() for r in rows)
    weekday = [n for d, n in per_day.items() if d.weekday() < 5]
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    assert len(weekend) == 4 and len(weekday) == 10
    assert sum(weekend) / len(weekend) < 0.9 * sum(weekday) / len(weekday)


def test_unknown_shape_and_short_streams_are_refused():
    with pytest.raises(ValueError):
        simulate("tornado")
    with pytest.raises(ValueError):
        simulate("slow_build", days=7)
    assert simulate("calm", days=3)[1] == []
