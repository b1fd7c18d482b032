"""Buckets per scope: counts, new authors, copy-paste, empty intervals, lateness."""

from datetime import datetime, timedelta, timezone

from monitor.aggregate import Bucketer
from monitor.domain import Mention

T0 = datetime(2026, 3, 11, 9, 0, tzinfo=timezone.utc)


def _m(minute, scope="a", author="p-1", text_hash=1, platform="facebook", negative=0.0, ident=None):
    return Mention(platform, ident or f"{scope}-{minute}-{author}-{text_hash}", T0 + timedelta(minutes=minute), "x",
                   scope, author=author, text_hash=text_hash, negative=negative)


def test_counts_authors_duplicates_and_empty_buckets():
    b = Bucketer(width_seconds=300, lateness_seconds=0)
    for mention in [_m(0, author="p-1", negative=0.5), _m(1, author="p-1", text_hash=2), _m(2, author="p-2"),
                    _m(16, author="p-1"), _m(17, author="p-3", platform="instagram")]:
        assert b.add(mention)
    closed = list(b.close_ready())
    assert [c.bucket.start.minute for c in closed] == [0, 5, 10]  # 15-20 is still open
    first = closed[0].bucket
    assert (first.count, first.unique_authors, first.new_authors, first.duplicates) == (3, 2, 2, 1)
    assert first.negative == 0.5
    assert closed[1].bucket.count == 0 and closed[1].mentions == []
    rest = list(b.close_ready(flush=True))
    last = rest[0].bucket
    assert (last.count, last.new_authors, last.platforms) == (2, 1, {"facebook": 1, "instagram": 1})


def test_late_mentions_are_not_counted_after_close():
    b = Bucketer(width_seconds=300, lateness_seconds=60)
    b.add(_m(0))
    b.add(_m(7))  # watermark 9:07 -> 9:06 after lateness: bucket 9:00-9:05 closes
    assert len(list(b.close_ready())) == 1
    assert b.add(_m(3, author="p-9")) is False and b.late == 1
    assert b.add(_m(6, author="p-9")) is True


def test_scopes_are_independent_and_a_long_gap_is_bounded():
    b = Bucketer(width_seconds=300, lateness_seconds=0)
    b.add(_m(0, scope="a"))
    b.add(_m(0, scope="b"))
    b.add(_m(60 * 24 * 30, scope="a"))  # a month later
    closed = list(b.close_ready())
    per_scope = {s: [c for c in closed if c.bucket.scope == s] for s in "ab"}
    assert len(per_scope["a"]) <= 1 + 288 and len(per_scope["b"]) <= 1 + 288
    assert per_scope["a"][0].bucket.count == 1


def test_closing_many_buckets_at_once_keeps_every_empty_bucket():
    b = Bucketer(width_seconds=300, lateness_seconds=0)
    for day in range(3):
        b.add(_m(day * 24 * 60, author=f"p-{day}"))
    b.add(_m(3 * 24 * 60 + 7, author="p-x"))
    closed = list(b.close_ready())
    starts = [c.bucket.start for c in closed]
    assert len(closed) == 3 * 288 + 1  # every 5 minutes of three days, none skipped, none twice
    assert all(later - earlier == timedelta(minutes=5) for earlier, later in zip(starts, starts[1:]))
    assert sum(c.bucket.count for c in closed) == 3
