"""Checks that the bundled demo stream and the synthetic generator keep the shape the detectors rely on."""
import itertools
import json
import re
import types
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.demo.generate import (
    STREAM_PATH, benign_episodes, demo_stream, episodes, load_pools, synthetic_episodes, synthetic_stream,
    write_jsonl,
)

BERLIN = ZoneInfo("Europe/Berlin")
PLATFORMS = {"facebook", "instagram", "mastodon", "bluesky", "youtube"}
KINDS = {"comment", "reply", "mention"}
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
STADT, WERKE, ERW = "stadt-birkenfelde", "stadtwerke-birkenfelde", "birkenfelde-erwaehnungen"


@pytest.fixture(scope="module")
def bundled():
    with open(STREAM_PATH, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _utc(ts):
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _local(row):
    return _utc(row["created_at"]).astimezone(BERLIN)


def _count(rows, scope, start, end):
    return sum(1 for r in rows if r["scope"] == scope and start <= r["created_at"] < end)


def _check_rows(rows):
    seen = set()
    for r in rows:
        assert set(r) == {"platform", "id", "created_at", "text", "author", "scope", "kind", "parent_id", "url",
                          "metrics"}
        assert r["platform"] in PLATFORMS and r["kind"] in KINDS
        assert TS.match(r["created_at"]), r["created_at"]
        assert isinstance(r["text"], str) and r["text"].strip()
        assert re.fullmatch(r"u-[0-9a-f]{8}", r["author"])
        assert r["url"] is None or re.match(r"^https://[a-z.]+\.example/", r["url"])
        assert r["kind"] == "mention" or r["parent_id"], "comments and replies hang under a parent"
        assert all(isinstance(v, int) and v >= 0 for v in r["metrics"].values())
        key = (r["platform"], r["id"])
        assert key not in seen, f"duplicate id {key}"
        seen.add(key)
    stamps = [r["created_at"] for r in rows]
    assert stamps == sorted(stamps)


def test_pools_have_the_promised_sizes():
    minimum = {"calm_neutral": 120, "calm_positive": 80, "calm_question": 80, "calm_critical": 80,
               "storm_outrage": 150, "storm_toxic": 80, "storm_campaign": 10, "incident_question": 120,
               "incident_info": 30}
    pools = load_pools()
    for name, n in minimum.items():
        assert len(set(pools[name])) >= n, name


def test_bundled_file_is_what_the_generator_writes(bundled, tmp_path):
    rows = demo_stream()
    assert rows == bundled
    out = tmp_path / "stream.jsonl"
    assert write_jsonl(rows, out) == len(rows)
    assert out.read_bytes() == STREAM_PATH.read_bytes()


def test_bundled_file_is_valid_mention_jsonl(bundled):
    assert 2000 <= len(bundled) <= 4000
    _check_rows(bundled)
    assert {r["scope"] for r in bundled} == {STADT, WERKE, ERW}
    first, last = _local(bundled[0]), _local(bundled[-1])
    assert first.date().isoformat() >= "2026-03-09" and last.date().isoformat() <= "2026-03-13"


def test_calm_days_follow_a_day_night_rhythm(bundled):
    calm_days = {"2026-03-09", "2026-03-10", "2026-03-13"}
    hours = Counter(_local(r).hour for r in bundled if _local(r).date().isoformat() in calm_days)
    night = sum(hours[h] for h in range(0, 6))
    day = sum(hours[h] for h in range(10, 16))
    assert day > 100
    assert night < 0.15 * day
    assert hours[12] + hours[13] > 2 * (hours[7] + hours[8]) / 2  # the midday peak is above the early morning
    assert hours[19] + hours[20] > hours[15] + hours[16]            # and the evening is busier than the afternoon


def test_calm_volumes_per_scope_are_as_documented(bundled):
    for scope, (low, high) in {STADT: (120, 200), WERKE: (30, 60), ERW: (40, 80)}.items():
        for day in ("2026-03-09", "2026-03-10", "2026-03-13"):
            n = sum(1 for r in bundled if r["scope"] == scope and _local(r).date().isoformat() == day)
            assert low * 0.8 <= n <= high * 1.2, (scope, day, n)


def test_storm_is_many_times_the_usual_volume(bundled):
    storm = _count(bundled, STADT, "2026-03-11T12:00:00Z", "2026-03-11T14:00:00Z")
    usual = (_count(bundled, STADT, "2026-03-09T12:00:00Z", "2026-03-09T14:00:00Z")
             + _count(bundled, STADT, "2026-03-10T12:00:00Z", "2026-03-10T14:00:00Z")) / 2
    assert storm >= 8 * usual
    spill = _count(bundled, ERW, "2026-03-11T12:00:00Z", "2026-03-11T15:00:00Z")
    assert spill >= 8 * max(1, _count(bundled, ERW, "2026-03-10T12:00:00Z", "2026-03-10T15:00:00Z"))
    assert _count(bundled, STADT, "2026-03-12T07:00:00Z", "2026-03-12T09:00:00Z") <= 3 * max(
        1, _count(bundled, STADT, "2026-03-10T07:00:00Z", "2026-03-10T09:00:00Z")), "calm again by Thursday"


def test_storm_authors_are_mostly_new_and_the_campaign_is_copy_paste(bundled):
    onset = "2026-03-11T08:30:00Z"
    before = {r["author"] for r in bundled if r["created_at"] < onset}
    storm = [r for r in bundled
             if r["scope"] == STADT and "2026-03-11T10:30:00Z" <= r["created_at"] < "2026-03-11T16:00:00Z"]
    authors = {r["author"] for r in storm}
    assert len(authors - before) >= 0.6 * len(authors)
    campaign = [r for r in bundled if "#lindenalleebleibt" in r["text"].lower() and r["created_at"] >= onset]
    assert len({r["author"] for r in campaign}) >= 30
    assert not any("lindenallee" in r["text"].lower() for r in bundled if r["created_at"] < onset)
    platforms = Counter(r["platform"] for r in storm)
    assert platforms["facebook"] < 0.8 * len(storm) and min(platforms[p] for p in PLATFORMS) > 0


def test_question_surge_is_mostly_questions(bundled):
    surge = [r for r in bundled
             if r["scope"] == WERKE and "2026-03-12T15:00:00Z" <= r["created_at"] < "2026-03-12T18:00:00Z"]
    usual = sum(_count(bundled, WERKE, f"2026-03-{d}T15:00:00Z", f"2026-03-{d}T18:00:00Z") for d in (9, 10, 11)) / 3
    assert len(surge) >= 8 * max(usual, 1)
    assert sum("?" in r["text"] for r in surge) >= 0.6 * len(surge)


def test_stadtfest_evening_is_busy_but_not_a_storm(bundled):
    tue = _count(bundled, STADT, "2026-03-10T17:00:00Z", "2026-03-10T19:00:00Z")
    mon = _count(bundled, STADT, "2026-03-09T17:00:00Z", "2026-03-09T19:00:00Z")
    thu = _count(bundled, STADT, "2026-03-12T17:00:00Z", "2026-03-12T19:00:00Z")
    assert 1.5 * (mon + thu) / 2 <= tue <= 3.5 * (mon + thu) / 2
    assert benign_episodes()[0]["onset"] == "2026-03-10T17:00:00Z"


def test_episode_ground_truth_matches_the_stream(bundled):
    truth = episodes()
    assert {(e["scope"], e["kind"]) for e in truth} == {(STADT, "shitstorm"), (ERW, "shitstorm"),
                                                        (WERKE, "question_surge")}
    for e in truth:
        assert e["onset"] < e["peak"] < e["end"]
        peak = _utc(e["peak"])
        around = _count(bundled, e["scope"], (peak - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        (peak + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        hour_after = (_utc(e["end"]) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        after = _count(bundled, e["scope"], e["end"], hour_after)
        assert around > 5 * max(after, 1)


def test_synthetic_stream_is_lazy_valid_sorted_and_deterministic():
    stream = synthetic_stream(10_000)
    assert isinstance(stream, types.GeneratorType)
    head = list(itertools.islice(stream, 50))
    rows = head + list(stream)
    assert len(rows) == 10_000
    _check_rows(rows)
    assert list(synthetic_stream(10_000)) == rows
    assert list(itertools.islice(synthetic_stream(10_000, seed=2), 50)) != head
    assert len({r["scope"] for r in rows}) == 20


def test_synthetic_storms_are_at_their_ground_truth_times():
    rows = list(synthetic_stream(10_000, seed=3))
    for e in synthetic_episodes(10_000, seed=3):
        peak = _utc(e["peak"])
        at_peak = _count(rows, e["scope"], (peak - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                         (peak + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        per_hour = Counter(r["created_at"][:13] for r in rows if r["scope"] == e["scope"])
        median = sorted(per_hour.values())[len(per_hour) // 2]
        assert at_peak / 2 >= 4 * median, e


def test_a_huge_synthetic_stream_starts_without_materialising():
    first = list(itertools.islice(synthetic_stream(1_000_000, seed=5), 20))
    assert len(first) == 20 and first[0]["created_at"] >= "2026-03-02T00:00:00Z"
