"""Aggregate enriched mentions into fixed time buckets per scope, closing them as event time moves on."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterator

from monitor.domain import Bucket, Mention


@dataclass(slots=True)
class ClosedBucket:
    """A bucket with the mentions that fell into it (kept only until the detectors have seen them)."""

    bucket: Bucket
    mentions: list[Mention]


@dataclass
class _OpenBucket:
    bucket: Bucket
    mentions: list[Mention] = field(default_factory=list)
    authors: set[str] = field(default_factory=set)
    fingerprints: set[int] = field(default_factory=set)


class _AuthorMemory:
    """Authors seen in one scope, bounded: the least recently active are forgotten first."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def first_time(self, author: str) -> bool:
        if author in self._seen:
            self._seen.move_to_end(author)
            return False
        self._seen[author] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True


class _ScopeBuckets:
    def __init__(self, scope: str, width: int, authors_capacity: int):
        self.scope = scope
        self.width = width
        self.open: dict[int, _OpenBucket] = {}
        self.closed_until: int | None = None  # epoch seconds: every bucket ending at or before this is closed
        self.authors = _AuthorMemory(authors_capacity)


class Bucketer:
    """Fixed-width event-time buckets per scope.

    A bucket closes once the watermark (the newest event time seen, less `lateness_seconds`) passes its end.
    Closing also emits the empty buckets in between, because a quiet interval is information too. A mention
    older than the closed range is late: it is stored by the pipeline but no longer counted.
    """

    def __init__(self, width_seconds: int = 300, lateness_seconds: int = 120, authors_capacity: int = 100_000):
        self.width = width_seconds
        self.lateness = lateness_seconds
        self.authors_capacity = authors_capacity
        self._scopes: dict[str, _ScopeBuckets] = {}
        self.watermark: int | None = None
        self.late = 0
        self.max_gap_seconds = 86_400 - 86_400 % width_seconds

    def _scope(self, scope: str) -> _ScopeBuckets:
        state = self._scopes.get(scope)
        if state is None:
            state = self._scopes[scope] = _ScopeBuckets(scope, self.width, self.authors_capacity)
        return state

    def add(self, mention: Mention) -> bool:
        """Count a mention; returns False if it arrived after its bucket had closed."""
        epoch = int(mention.created_at.timestamp())
        start = epoch - epoch % self.width
        state = self._scope(mention.scope)
        if state.closed_until is not None and start < state.closed_until:
            self.late += 1
            return False
        slot = state.open.get(start)
        if slot is None:
            begin = datetime.fromtimestamp(start, tz=timezone.utc)
            slot = state.open[start] = _OpenBucket(Bucket(mention.scope, begin, begin + timedelta(seconds=self.width)))
        bucket = slot.bucket
        bucket.count += 1
        bucket.negative += mention.negative
        bucket.positive += mention.positive
        bucket.toxic += mention.toxic
        bucket.questions += mention.question
        bucket.platforms[mention.platform] = bucket.platforms.get(mention.platform, 0) + 1
        bucket.reach += sum(mention.metrics.values()) if mention.metrics else 0
        if mention.author:
            if mention.author not in slot.authors:
                slot.authors.add(mention.author)
                bucket.unique_authors += 1
            if state.authors.first_time(mention.author):
                bucket.new_authors += 1
        if mention.text_hash:
            if mention.text_hash in slot.fingerprints:
                bucket.duplicates += 1
            else:
                slot.fingerprints.add(mention.text_hash)
        slot.mentions.append(mention)
        if self.watermark is None or epoch > self.watermark:
            self.watermark = epoch
        return True

    def close_ready(self, *, flush: bool = False) -> Iterator[ClosedBucket]:
        """Close every bucket whose end the watermark has passed (all of them with flush), in time order per scope."""
        if self.watermark is None:
            return
        limit = self.watermark - self.lateness
        if flush:
            limit = self.watermark + self.width
        boundary = limit - limit % self.width  # buckets ending at or before this close
        for state in self._scopes.values():
            yield from self._close_scope(state, boundary)

    def _close_scope(self, state: _ScopeBuckets, boundary: int) -> Iterator[ClosedBucket]:
        if state.closed_until is None:
            if not state.open:
                return
            state.closed_until = min(state.open)
        start = state.closed_until
        if boundary <= start:
            return
        for begin in sorted(b for b in state.open if b < boundary):
            yield from self._empty(state.scope, max(start, begin - self.max_gap_seconds), begin)
            slot = state.open.pop(begin)
            yield ClosedBucket(slot.bucket, slot.mentions)
            start = begin + self.width
        yield from self._empty(state.scope, max(start, boundary - self.max_gap_seconds), boundary)
        state.closed_until = max(start, boundary)

    def _empty(self, scope: str, start: int, end: int) -> Iterator[ClosedBucket]:
        """Empty buckets in [start, end); a long silence yields at most its last `max_gap_seconds`, because
        a day of quiet tells the detectors all they need and one far-off timestamp must not emit millions."""
        for begin in range(start, end, self.width):
            moment = datetime.fromtimestamp(begin, tz=timezone.utc)
            yield ClosedBucket(Bucket(scope, moment, moment + timedelta(seconds=self.width)), [])
