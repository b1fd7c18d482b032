"""Deterministic German demo stream and synthetic mention streams, with their ground-truth episodes."""
from __future__ import annotations

import argparse
import base64
import bisect
import itertools
import json
import math
import random
import sys
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import yaml

HERE = Path(__file__).resolve().parent
TEXTS_PATH = HERE / "texts_de.yaml"
STREAM_PATH = HERE / "stream.jsonl"

PLATFORMS = ("facebook", "instagram", "mastodon", "bluesky", "youtube")
SLOT = 300  # seconds; fine enough for a 5-minute bucketing downstream to see the shape
HOUR = 3600.0

# Relative activity per local hour (Europe/Berlin): almost silent at night, a lunch peak, an evening peak.
_RAW_DIURNAL = (0.25, 0.12, 0.06, 0.04, 0.05, 0.15, 0.45, 0.9, 1.2, 1.35, 1.45, 1.6,
                1.75, 1.6, 1.4, 1.3, 1.35, 1.45, 1.65, 1.9, 2.0, 1.75, 1.1, 0.55)
DIURNAL = tuple(w * 24 / sum(_RAW_DIURNAL) for w in _RAW_DIURNAL)  # mean 1, so daily totals stay daily totals

# Extra mentions per hour over hours since onset; linear between the points, zero outside.
STORM_PROFILE = ((0, 2), (1, 8), (2, 30), (3, 80), (3.5, 140), (4, 180), (5.5, 190), (6.5, 130),
                 (8.5, 70), (10.5, 40), (12.5, 15), (13.5, 6), (15, 0))
SURGE_PROFILE = ((0, 0), (0.15, 32), (0.5, 40), (1.5, 38), (3, 30), (4, 12), (5, 5), (6, 0))
STADTFEST_PROFILE = ((0, 0), (0.1, 12), (1, 15), (2, 12), (2.5, 5), (3.5, 0))

# The demo week: Monday 2026-03-09 00:00 to Friday 2026-03-13 24:00 Europe/Berlin (CET, UTC+1).
DEMO_START = "2026-03-08T23:00:00Z"
DEMO_END = "2026-03-13T23:00:00Z"
STADT, WERKE, ERW = "stadt-birkenfelde", "stadtwerke-birkenfelde", "birkenfelde-erwaehnungen"
STORM_ONSET = "2026-03-11T08:30:00Z"      # 09:30 local: first critical comments under the announcement
STORM_POST_AT = "2026-03-11T08:00:00Z"    # the city announces the felling for the Parkhaus Lindenallee
SPILL_DELAY_H, SPILL_FACTOR = 0.75, 0.35  # the storm reaches the watch-term mentions a little later
SURGE_ONSET = "2026-03-12T15:00:00Z"      # 16:00 local: the water main bursts
SURGE_SPILL_FACTOR = 0.12                 # some residents ask on the city's page instead
STADTFEST_ONSET = "2026-03-10T17:00:00Z"  # 18:00 local: the popular Stadtfest announcement
DEMO_DAILY = {STADT: 165.0, WERKE: 45.0, ERW: 60.0}
WEEKDAY_FACTOR = (1.0, 0.95, 1.0, 1.05, 0.9, 0.8, 0.75)  # Monday first

CALM_MIX = (("calm_neutral", 0.45), ("calm_positive", 0.20), ("calm_question", 0.15), ("calm_critical", 0.20))
OTHER_LANGUAGE_SHARE = 0.015
FRESH_CALM = 0.2  # share of calm mentions by somebody the stream has not seen yet

FIRST_NAMES = ("Sabine", "Jürgen", "Aylin", "Kevin", "Monika", "Dennis", "Ute", "Mehmet", "Katrin", "Sven",
               "Lena", "Horst", "Jessica", "Thorsten", "Elif", "Birgit", "Marco", "Anja", "Olga", "Frank")
EMOJI = {
    "storm": ("😡", "🤬", "😤", "💔", "🌳", "👎", "😠"),
    "calm_positive": ("😊", "👍", "❤️", "🙂", "👏"),
    "calm_question": ("🙏", "🤔"),
    "calm_critical": ("🙄", "😒", "😠"),
    "incident": ("🙏", "😟", "💧", "😰"),
}


# ---------------------------------------------------------------------------------------------- time
def parse_ts(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def iso(t: float) -> str:
    return datetime.fromtimestamp(int(t), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=64)
def _dst_window(year: int) -> tuple[float, float]:
    """EU rule: summer time from the last Sunday of March to the last Sunday of October, 01:00 UTC."""
    def last_sunday(month: int) -> date:
        d = date(year, month, 31)
        return d - timedelta(days=(d.weekday() + 1) % 7)
    start, end = last_sunday(3), last_sunday(10)
    to_ts = lambda d: datetime(d.year, d.month, d.day, 1, tzinfo=timezone.utc).timestamp()  # noqa: E731
    return to_ts(start), to_ts(end)


def berlin_local(t: float) -> datetime:
    """Wall-clock time in Europe/Berlin, computed without tzdata so that output is identical everywhere."""
    year = datetime.fromtimestamp(t, tz=timezone.utc).year
    begin, end = _dst_window(year)
    offset = 7200 if begin <= t < end else 3600
    return datetime.fromtimestamp(t + offset, tz=timezone.utc).replace(tzinfo=None)


def _interp(points: tuple[tuple[float, float], ...], h: float) -> float:
    if h < points[0][0] or h >= points[-1][0]:
        return 0.0
    for (h0, v0), (h1, v1) in zip(points, points[1:]):
        if h0 <= h < h1:
            return v0 + (v1 - v0) * (h - h0) / (h1 - h0)
    return 0.0


def _profile_peak(points) -> float:
    top = max(v for _, v in points)
    plateau = [h for h, v in points if v >= 0.9 * top]
    return (plateau[0] + plateau[-1]) / 2


# ---------------------------------------------------------------------------------------------- texts
@lru_cache(maxsize=1)
def load_pools(path: str = str(TEXTS_PATH)) -> dict[str, tuple[str, ...]]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return {name: tuple(texts) for name, texts in data.items()}


class _Deck:
    """Draws a pool's texts in shuffled rounds, so that every voice is used before any repeats."""

    def __init__(self, texts: tuple[str, ...], rng: random.Random):
        self.texts, self.rng, self.order = texts, rng, []

    def draw(self) -> str:
        if not self.order:
            self.order = list(self.texts)
            self.rng.shuffle(self.order)
        return self.order.pop()


def _emoji_family(pool: str) -> str | None:
    if pool.startswith("storm_") and pool != "storm_neutral":
        return "storm"
    if pool.startswith("incident_"):
        return "incident"
    return pool if pool in EMOJI else None


def _vary_campaign(text: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.15:
        text = "Bitte teilen!! " + text
    elif r < 0.3:
        text = text + " 🌳🌳"
    elif r < 0.4:
        text = text.replace("#LindenalleeBleibt", "#lindenalleebleibt")
    elif r < 0.5:
        text = text + " #Birkenfelde"
    return text


def _vary(text: str, pool: str, rng: random.Random, deck: _Deck) -> str:
    """Small surface changes, so that repeated voices do not look like a copy-paste campaign."""
    if pool == "storm_campaign":
        return _vary_campaign(text, rng)
    if pool in ("storm_outrage", "storm_toxic") and rng.random() < 0.22:
        sep = " " if not text[-1].isalnum() else rng.choice((". ", " ", "! "))
        text = f"{text}{sep}{deck.draw()}"
    family = _emoji_family(pool)
    r = rng.random()
    if family and r < 0.12:
        text = f"{text} {rng.choice(EMOJI[family])}"
    elif r < 0.16:
        text = text.lower()
    elif r < 0.19 and family == "storm" and len(text) < 80:
        text = text.upper()
    elif r < 0.23 and text.endswith((".", "!")):
        text = text[:-1] if rng.random() < 0.5 else text + "!!"
    return text


def _html_noise(text: str, rng: random.Random) -> str:
    """The kinds of markup and whitespace that real platform APIs hand over, for normalisation to undo."""
    r = rng.random()
    if r < 0.25 and ". " in text:
        return text.replace(". ", ".<br>", 1)
    if r < 0.45:
        return text.replace(" und ", " &amp; ") if " und " in text else f"{text} &amp; so"
    if r < 0.6:
        words = text.split(" ")
        i = rng.randrange(len(words))
        words[i] = f"&quot;{words[i]}&quot;"
        return " ".join(words)
    if r < 0.75:
        return f"  {text.replace(' ', '  ', 2)}\n"
    if r < 0.9:
        return f"<p>{text}</p>"
    return f"{text}<br><br>"


# ---------------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class Source:
    """One strand of traffic on a scope: its calm background, or one episode's extra mentions."""

    scope: str
    role: str               # calm | storm | spill | surge | stadtfest
    onset: float = 0.0      # episode start (epoch seconds); unused for calm
    scale: float = 1.0      # multiplies the role's profile
    delay_h: float = 0.0    # the profile starts this many hours after onset
    group: str = ""         # episodes sharing a group share their crowd of authors
    post_at: float = 0.0    # when the post that the episode gathers under was published

    def hours(self, t: float) -> float:
        return (t - self.onset) / HOUR - self.delay_h


def _storm_mix(h: float, spill: bool) -> tuple[tuple[str, float], ...]:
    """Composition over the storm's life: critical start, campaign phase, toxic peak, slower decay."""
    if h < 1.5:
        mix = (("storm_outrage", 0.55), ("calm_critical", 0.25), ("storm_neutral", 0.20))
    elif h < 3.5:
        mix = (("storm_outrage", 0.55), ("storm_toxic", 0.12), ("storm_campaign", 0.15), ("storm_neutral", 0.18))
    elif h < 6.0:
        mix = (("storm_outrage", 0.42), ("storm_toxic", 0.30), ("storm_campaign", 0.15), ("storm_neutral", 0.13))
    else:
        mix = (("storm_outrage", 0.57), ("storm_toxic", 0.20), ("storm_campaign", 0.05), ("storm_neutral", 0.18))
    if spill:  # watch-term hits carry more hashtag posts and a little less abuse than the comment threads
        mix = tuple((p, w * (1.6 if p == "storm_campaign" else 0.8 if p == "storm_toxic" else 1.0)) for p, w in mix)
    return mix


def _mix(source: Source, t: float) -> tuple[tuple[str, float], ...]:
    role = source.role
    if role == "calm":
        return CALM_MIX
    if role == "stadtfest":
        return (("stadtfest", 0.6), ("calm_positive", 0.2), ("calm_neutral", 0.15), ("calm_question", 0.05))
    if role == "surge":
        return (("incident_question", 0.75), ("incident_info", 0.13), ("calm_critical", 0.07), ("calm_neutral", 0.05))
    return _storm_mix(source.hours(t), spill=role == "spill")


def _storm_platforms(h: float) -> tuple[tuple[str, float], ...]:
    """The storm starts under the Facebook post and jumps to the other networks within two hours."""
    if h < 1.5:
        return (("facebook", 1.0),)
    if h < 3.0:
        return (("facebook", 0.7), ("instagram", 0.3))
    return (("facebook", 0.48), ("instagram", 0.24), ("mastodon", 0.12), ("bluesky", 0.12), ("youtube", 0.04))


def _platforms(source: Source, own: bool, t: float) -> tuple[tuple[str, float], ...]:
    if source.role == "storm":
        return _storm_platforms(source.hours(t))
    if not own:
        return (("bluesky", 0.3), ("mastodon", 0.3), ("instagram", 0.2), ("facebook", 0.12), ("youtube", 0.08))
    if source.scope == WERKE:
        return (("facebook", 0.6), ("instagram", 0.22), ("mastodon", 0.1), ("youtube", 0.08))
    if source.role == "stadtfest":
        return (("facebook", 0.65), ("instagram", 0.35))
    return (("facebook", 0.5), ("instagram", 0.25), ("mastodon", 0.1), ("bluesky", 0.08), ("youtube", 0.07))


def _choose(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    r = rng.random() * sum(w for _, w in weighted)
    for item, w in weighted:
        r -= w
        if r < 0:
            return item
    return weighted[-1][0]


def _profile_rate(source: Source) -> tuple[tuple[float, float], ...]:
    return {"storm": STORM_PROFILE, "spill": STORM_PROFILE, "surge": SURGE_PROFILE,
            "stadtfest": STADTFEST_PROFILE}[source.role]


def _episode_rate(source: Source, t: float) -> float:
    return source.scale * _interp(_profile_rate(source), source.hours(t))


# ---------------------------------------------------------------------------------------------- rendering
@dataclass
class ScopeInfo:
    name: str
    index: int
    own: bool          # the authority's own accounts (comments, replies) or watch-term hits (mentions)
    regulars: int      # people who comment again and again on this scope
    author_base: int   # first author number reserved for this scope's regulars


def _author_id(k: int) -> str:
    # multiplication by an odd constant is a bijection mod 2**32: unique, opaque, and needs no memory
    return f"u-{(k * 0x9E3779B1) & 0xFFFFFFFF:08x}"


def _mix64(x: int) -> int:
    x = (x * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 29)  # still a bijection: xor-shift by at least half the width is invertible


def _b64(x: int, n: int) -> str:
    return base64.urlsafe_b64encode(x.to_bytes(8, "big")).decode()[:n]


_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def _tid(x: int) -> str:
    return "".join(_B32[(x >> (5 * i)) & 31] for i in reversed(range(13)))


# Local times at which each account publishes a post, so that comments hang under a plausible parent.
POST_SCHEDULE = {"facebook": (7.5, 12.0, 17.5), "instagram": (11.0, 18.0), "mastodon": (8.0, 13.0, 17.0),
                 "bluesky": (8.0, 13.0, 17.0), "youtube": (10.0,)}
_EPOCH_DAY = date(2020, 1, 1)


class _Renderer:
    """Turns (time, source) events, in time order, into mention rows; holds the stream's memory."""

    def __init__(self, scopes: dict[str, ScopeInfo], seed: int, author_offset: int):
        self.scopes, self.rng = scopes, random.Random(f"stormwatch-render-{seed}")
        pools = load_pools()
        self.decks = {name: _Deck(texts, self.rng) for name, texts in pools.items()}
        self.counters = dict.fromkeys(PLATFORMS, 0)
        self.last_seq = dict.fromkeys(PLATFORMS, 0)
        self.author_offset = author_offset
        self.next_author = sum(s.regulars for s in scopes.values())
        self.crowds: dict[str, list[str]] = {}
        self.recent: dict[tuple[str, str], deque] = {}
        top = max((s.regulars for s in scopes.values()), default=1)
        self.zipf = list(itertools.accumulate(1.0 / (i + 1) ** 0.8 for i in range(top)))

    # -- authors
    def _fresh(self) -> str:
        self.next_author += 1
        return _author_id(self.author_offset + self.next_author)

    def _regular(self, scope: ScopeInfo) -> str:
        cum = self.zipf[: scope.regulars]
        i = bisect.bisect_left(cum, self.rng.random() * cum[-1])
        return _author_id(self.author_offset + scope.author_base + i)

    def _author(self, source: Source, scope: ScopeInfo, pool: str) -> str:
        r = self.rng.random()
        if source.role in ("calm", "stadtfest"):
            return self._fresh() if r < FRESH_CALM else self._regular(scope)
        crowd = self.crowds.setdefault(source.group or source.scope, [])
        # campaigns run on throwaway accounts; residents in a Grosslage are more often regular followers
        fresh, repeat = (0.95, 0.05) if pool == "storm_campaign" else (0.55, 0.15) if source.role == "surge" \
            else (0.65, 0.25)
        if r < fresh or (r < fresh + repeat and not crowd):
            author = self._fresh()
            if len(crowd) < 20000:
                crowd.append(author)
            return author
        if r < fresh + repeat:
            return self.rng.choice(crowd)
        return self._regular(scope)

    # -- posts and ids
    def _post(self, scope: ScopeInfo, platform: str, t: float, source: Source) -> tuple[str, float]:
        """The parent post: the episode's own post mostly, else a recent scheduled one."""
        if source.post_at and t >= source.post_at and self.rng.random() < 0.85:
            return self._post_id(scope, platform, 9_000_000 + int(source.post_at // 60) % 1_000_000, source.post_at)
        local = berlin_local(t)
        times = POST_SCHEDULE[platform]
        hour = local.hour + local.minute / 60
        today = sum(1 for h in times if h <= hour)
        idx = (local.date() - _EPOCH_DAY).days * len(times) + today - (1 if self.rng.random() < 0.3 else 0)
        day, slot = divmod(idx - 1, len(times))
        posted = datetime.combine(_EPOCH_DAY + timedelta(days=day), datetime.min.time()).replace(tzinfo=timezone.utc)
        post_t = posted.timestamp() + times[slot] * HOUR - 3600  # CET is close enough for a parent's timestamp
        return self._post_id(scope, platform, idx, post_t)

    def _post_id(self, scope: ScopeInfo, platform: str, idx: int, post_t: float) -> tuple[str, float]:
        page = 1000 + scope.index
        if platform == "facebook":
            return f"fb_{page:04d}{idx:07d}", post_t
        if platform == "instagram":
            return f"ig_{17900000000000000 + page * 10_000_000 + idx}", post_t
        if platform == "mastodon":
            return f"md_{(int(post_t * 1000) << 16) | page}", post_t
        if platform == "bluesky":
            return f"bsky_{_tid((int(post_t * 1e6) << 10) | (page & 1023))}", post_t
        return f"yt_{_b64(_mix64(page << 32 | idx), 11)}", post_t

    def _monotone(self, platform: str, value: int) -> int:
        # snowflakes and TIDs grow with time; forcing growth also makes them unique without a set
        value = max(value, self.last_seq[platform] + 1)
        self.last_seq[platform] = value
        return value

    def _new_id(self, platform: str, t: float, parent: str | None) -> str:
        c = self.counters[platform] = self.counters[platform] + 1
        if platform == "facebook":
            return f"{parent}_{c}" if parent else f"fb_9{c:09d}"
        if platform == "instagram":
            return f"ig_{17850000000000000 + c * 13}"
        if platform == "mastodon":
            return f"md_{self._monotone(platform, (int(t * 1000) << 16) | (c & 0xFFFF))}"
        if platform == "bluesky":
            return f"bsky_{_tid(self._monotone(platform, (int(t * 1e6) << 10) | (c & 1023)))}"
        return f"yt_Ugx{_b64(_mix64(c), 11)}"

    def _url(self, scope: ScopeInfo, platform: str, row_id: str, post: str | None, author: str) -> str:
        handle = scope.name.replace("-", "")
        bare = row_id.split("_", 1)[1]
        if platform == "facebook":
            if post is None:
                return f"https://facebook.example/{author}/posts/{bare}"
            return f"https://facebook.example/{handle}/posts/{post[3:]}?comment_id={bare.rsplit('_', 1)[-1]}"
        if platform == "instagram":
            code = _b64(_mix64(int((post or row_id)[3:]) & 0xFFFFFFFFFFFF), 11)
            return f"https://instagram.example/p/{code}/c/{bare}/"
        if platform == "mastodon":
            return f"https://mastodon.example/@{author}/{bare}"
        if platform == "bluesky":
            return f"https://bsky.example/profile/{author}.bsky.example/post/{bare}"
        video = (post or f"yt_{_b64(_mix64(int(author[2:], 16)), 11)}")[3:]
        return f"https://youtube.example/watch?v={video}&lc={bare}"

    # -- text
    def _text(self, source: Source, t: float) -> tuple[str, str]:
        pool = _choose(self.rng, _mix(source, t))
        if source.role == "calm" and self.rng.random() < OTHER_LANGUAGE_SHARE:
            pool = "other_language"
        deck = self.decks[pool]
        text = _vary(deck.draw(), pool, self.rng, deck)
        if self.rng.random() < 0.03:
            text = _html_noise(text, self.rng)
        return text, pool

    def _metrics(self, source: Source, pool: str, own: bool) -> dict:
        mean = {"storm_outrage": 9.0, "storm_toxic": 4.0, "storm_campaign": 1.0}.get(pool, 2.0)
        likes = int(self.rng.expovariate(1 / mean)) if self.rng.random() > 0.3 else 0
        if own:
            return {"likes": likes}
        return {"likes": likes, "reposts": int(self.rng.expovariate(1 / (mean / 3)))}

    def render(self, t: float, source: Source) -> dict:
        scope = self.scopes[source.scope]
        platform = _choose(self.rng, _platforms(source, scope.own, t))
        text, pool = self._text(source, t)
        author = self._author(source, scope, pool)
        key = (scope.name, platform)
        recent = self.recent.setdefault(key, deque(maxlen=40))
        post = None
        if scope.own:
            post, _ = self._post(scope, platform, t, source)
            siblings = [cid for pid, cid in recent if pid == post]
            is_reply = siblings and self.rng.random() < 0.2
            parent = self.rng.choice(siblings) if is_reply else post
            kind = "reply" if is_reply else "comment"
        else:
            is_reply = recent and self.rng.random() < 0.12
            parent = self.rng.choice(recent)[1] if is_reply else None
            kind = "reply" if is_reply else "mention"
        row_id = self._new_id(platform, t, post if platform == "facebook" else None)
        if platform == "youtube" and is_reply:
            row_id = f"{parent}.{row_id[3:]}"  # YouTube names a reply after its top-level comment
        recent.append((post, row_id))
        return {
            "platform": platform, "id": row_id, "created_at": iso(t), "text": text, "author": author,
            "scope": scope.name, "kind": kind, "parent_id": parent,
            "url": self._url(scope, platform, row_id, post, author), "metrics": self._metrics(source, pool, scope.own),
        }


# ---------------------------------------------------------------------------------------------- demo
def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:  # Knuth's product underflows for large means; Poisson sums are Poisson
        half = lam / 2
        return _poisson(rng, half) + _poisson(rng, half)
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _demo_scopes() -> dict[str, ScopeInfo]:
    spec = ((STADT, True, 400), (WERKE, True, 200), (ERW, False, 300))
    scopes, base = {}, 0
    for i, (name, own, regulars) in enumerate(spec):
        scopes[name] = ScopeInfo(name, i, own, regulars, base)
        base += regulars
    return scopes


def _demo_sources() -> list[Source]:
    storm, surge, fest = parse_ts(STORM_ONSET), parse_ts(SURGE_ONSET), parse_ts(STADTFEST_ONSET)
    return [
        Source(STADT, "calm"), Source(WERKE, "calm"), Source(ERW, "calm"),
        Source(STADT, "stadtfest", fest, post_at=fest),
        Source(STADT, "storm", storm, group="lindenallee", post_at=parse_ts(STORM_POST_AT)),
        Source(ERW, "spill", storm, SPILL_FACTOR, SPILL_DELAY_H, group="lindenallee"),
        Source(WERKE, "surge", surge, group="rohrbruch", post_at=surge + 600),
        Source(STADT, "surge", surge, SURGE_SPILL_FACTOR, group="rohrbruch"),
    ]


def _demo_rate(source: Source, t: float) -> float:
    if source.role != "calm":
        return _episode_rate(source, t)
    local = berlin_local(t)
    return DEMO_DAILY[source.scope] * WEEKDAY_FACTOR[local.weekday()] * DIURNAL[local.hour] / 24


def _demo_events(seed: int) -> list[tuple[float, int, Source]]:
    rng = random.Random(f"stormwatch-demo-events-{seed}")
    start, end = parse_ts(DEMO_START), parse_ts(DEMO_END)
    events, n, sources = [], 0, _demo_sources()
    for slot in range(int(start), int(end), SLOT):
        for source in sources:
            lam = _demo_rate(source, slot + SLOT / 2) * SLOT / HOUR
            for _ in range(_poisson(rng, lam)):
                events.append((slot + rng.random() * SLOT, n, source))
                n += 1
    events.sort(key=lambda e: (int(e[0]), e[1]))
    return events


def demo_stream(seed: int = 7) -> list[dict]:
    """The bundled demo week, sorted by created_at."""
    renderer = _Renderer(_demo_scopes(), seed, author_offset=random.Random(f"authors-{seed}").randrange(1 << 31))
    return [renderer.render(t, source) for t, _, source in _demo_events(seed)]


def _episode(scope: str, kind: str, onset: float, profile, delay_h: float = 0.0) -> dict:
    start = onset + delay_h * HOUR
    return {"scope": scope, "kind": kind, "onset": iso(start + profile[0][0] * HOUR),
            "peak": iso(start + _profile_peak(profile) * HOUR), "end": iso(start + profile[-1][0] * HOUR)}


def episodes() -> list[dict]:
    """Ground truth of the demo: the episodes a detector should alert on."""
    storm, surge = parse_ts(STORM_ONSET), parse_ts(SURGE_ONSET)
    return [
        _episode(STADT, "shitstorm", storm, STORM_PROFILE),
        _episode(ERW, "shitstorm", storm, STORM_PROFILE, SPILL_DELAY_H),
        _episode(WERKE, "question_surge", surge, SURGE_PROFILE),
    ]


def benign_episodes() -> list[dict]:
    """Busy stretches of the demo that must not alert (false-alarm checks)."""
    fest = parse_ts(STADTFEST_ONSET)
    surge = parse_ts(SURGE_ONSET)
    return [
        _episode(STADT, "busy_benign", fest, STADTFEST_PROFILE),
        # residents asking the city about the water: ~1.5x on the city's page, not a surge of its own
        _episode(STADT, "question_spillover", surge, SURGE_PROFILE),
    ]


# ---------------------------------------------------------------------------------------------- synthetic
SYNTH_DAILY = 150.0
SYNTH_STORM_PEAK = 16.0   # peak extra volume in multiples of the scope's mean hourly calm volume
SYNTH_SURGE_PEAK = 12.0


@dataclass
class _SyntheticPlan:
    n: int
    scopes: dict[str, ScopeInfo]
    base: dict[str, float]      # calm mentions per hour at an average hour
    sources: list[Source]
    start: float
    slots: int

    def __post_init__(self):
        self.calm_sum = sum(self.base.values())
        self.episodes = [s for s in self.sources if s.role != "calm"]

    def slot_total(self, i: int) -> float:
        """Mentions expected in slot i; the calm part in one product, as scopes share the rhythm."""
        mid = self.start + (i + 0.5) * SLOT
        total = self.calm_sum * self._calm_factor(mid)
        for source in self.episodes:
            total += self.base[source.scope] * _episode_rate(source, mid)
        return total * SLOT / HOUR

    @staticmethod
    def _calm_factor(t: float) -> float:
        local = berlin_local(t)
        return DIURNAL[local.hour] * (0.8 if local.weekday() >= 5 else 1.0)

    def slot_parts(self, i: int) -> list[tuple[Source, float]]:
        mid = self.start + (i + 0.5) * SLOT
        calm = self._calm_factor(mid)
        parts = []
        for source in self.sources:
            if source.role == "calm":
                rate = self.base[source.scope] * calm
            else:
                rate = self.base[source.scope] * _episode_rate(source, mid)
            if rate > 0:
                parts.append((source, rate))
        return parts


def _synthetic_plan(n: int, n_scopes: int, seed: int, start: str, storms: int,
                    daily: float = SYNTH_DAILY) -> _SyntheticPlan:
    rng = random.Random(f"stormwatch-synthetic-plan-{seed}")
    weights = [rng.lognormvariate(0, 0.5) for _ in range(n_scopes)]
    mean_w = sum(weights) / n_scopes
    scopes, base, sources, author_base = {}, {}, [], 0
    for i, w in enumerate(weights):
        name = f"behoerde-{i:03d}" if i % 4 != 3 else f"erwaehnungen-{i:03d}"
        scopes[name] = ScopeInfo(name, i, i % 4 != 3, 300, author_base)
        author_base += 300
        base[name] = daily * w / mean_w / 24
        sources.append(Source(name, "calm"))
    t0 = parse_ts(start)
    days = max(1.0, n / (daily * n_scopes))
    slots = max(1, int(days * 86400 // SLOT))
    for k, (name, kind, onset) in enumerate(_synthetic_storm_times(list(scopes), t0, slots, storms)):
        role, profile = ("storm", STORM_PROFILE) if kind == "shitstorm" else ("surge", SURGE_PROFILE)
        peak = SYNTH_STORM_PEAK if role == "storm" else SYNTH_SURGE_PEAK
        scale = peak / max(v for _, v in profile)
        sources.append(Source(name, role, onset, scale, group=f"episode-{k}", post_at=onset))
    return _SyntheticPlan(n, scopes, base, sources, t0, slots)


def _synthetic_storm_times(names: list[str], t0: float, slots: int, storms: int) -> list[tuple[str, str, float]]:
    """Evenly spaced over the stream on distinct scopes; every other one a question surge."""
    placed = []
    for k in range(storms):
        onset = t0 + (slots * (k + 1) // (storms + 1)) * SLOT
        placed.append((names[(3 + 7 * k) % len(names)], "shitstorm" if k % 2 == 0 else "question_surge", onset))
    return placed


def synthetic_episodes(n_mentions: int, *, n_scopes: int = 20, seed: int = 1,
                       start: str = "2026-03-02T00:00:00Z", storms: int = 3,
                       daily: float = SYNTH_DAILY) -> list[dict]:
    """Ground truth for synthetic_stream() called with the same arguments."""
    plan = _synthetic_plan(n_mentions, n_scopes, seed, start, storms, daily)
    return [_episode(s.scope, "shitstorm" if s.role == "storm" else "question_surge", s.onset,
                     _profile_rate(s)) for s in plan.sources if s.role != "calm"]


def _sorted_uniforms(n: int, rng: random.Random) -> Iterator[float]:
    """n sorted uniforms in one pass and O(1) memory: each is the minimum of those still to come."""
    x = 0.0
    for k in range(n):
        x = 1.0 - (1.0 - x) * (1.0 - rng.random()) ** (1.0 / (n - k))
        yield x


def _synthetic_rows(plan: _SyntheticPlan, seed: int) -> Iterator[dict]:
    rng = random.Random(f"stormwatch-synthetic-events-{seed}")
    totals = list(itertools.accumulate(plan.slot_total(i) for i in range(plan.slots)))
    renderer = _Renderer(plan.scopes, seed, author_offset=random.Random(f"authors-{seed}").randrange(1 << 31))
    slot, parts, cum, last = -1, [], [], plan.start
    for u in _sorted_uniforms(plan.n, rng):
        target = u * totals[-1]
        i = min(bisect.bisect_left(totals, target, lo=max(slot, 0)), plan.slots - 1)
        if i != slot:
            slot, parts = i, plan.slot_parts(i)
            cum = list(itertools.accumulate(r for _, r in parts))
        below = totals[i - 1] if i else 0.0
        frac = min(max((target - below) / (totals[i] - below), 0.0), 1.0)
        t = max(last, plan.start + (i + frac) * SLOT)  # float rounding must never reorder the stream
        last = t
        source = parts[bisect.bisect_left(cum, rng.random() * cum[-1])][0]
        yield renderer.render(t, source)


def synthetic_stream(n_mentions: int, *, n_scopes: int = 20, seed: int = 1,
                     start: str = "2026-03-02T00:00:00Z", storms: int = 3,
                     daily: float = SYNTH_DAILY) -> Iterator[dict]:
    """Exactly n_mentions rows, sorted by created_at, produced lazily; storms at synthetic_episodes() times.

    `daily` is the average calm mentions per scope and day: a small account gets ~150, a city's main
    account with a busy comment section several thousand.
    """
    if n_mentions < 0 or n_scopes < 1 or storms < 0 or daily <= 0:
        raise ValueError("need n_mentions >= 0, n_scopes >= 1, storms >= 0 and daily > 0")
    return _synthetic_rows(_synthetic_plan(n_mentions, n_scopes, seed, start, storms, daily), seed)


# ---------------------------------------------------------------------------------------------- output
def write_jsonl(rows: Iterable[dict], path) -> int:
    """Writes one JSON object per line (UTF-8, '-' for stdout); returns the number of rows."""
    out = sys.stdout if str(path) == "-" else None
    if out is None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        out = open(path, "w", encoding="utf-8", newline="\n")
    n = 0
    try:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    finally:
        if out is not sys.stdout:
            out.close()
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m monitor.demo.generate", description=__doc__)
    ap.add_argument("--out", default=str(STREAM_PATH), help="output JSONL ('-' for stdout)")
    ap.add_argument("--synthetic", type=int, metavar="N", help="write a synthetic stream of N mentions instead")
    ap.add_argument("--seed", type=int, help="random seed (demo default 7, synthetic default 1)")
    ap.add_argument("--scopes", type=int, default=20, help="synthetic: number of scopes")
    ap.add_argument("--storms", type=int, default=3, help="synthetic: number of episodes")
    ap.add_argument("--start", default="2026-03-02T00:00:00Z", help="synthetic: first instant (UTC)")
    ap.add_argument("--episodes", metavar="FILE", help="also write the ground-truth episodes as JSONL")
    args = ap.parse_args(argv)
    if args.synthetic is not None:
        kw = dict(n_scopes=args.scopes, seed=1 if args.seed is None else args.seed, start=args.start,
                  storms=args.storms)
        n = write_jsonl(synthetic_stream(args.synthetic, **kw), args.out)
        truth = synthetic_episodes(args.synthetic, **kw)
    else:
        n = write_jsonl(demo_stream(7 if args.seed is None else args.seed), args.out)
        truth = episodes()
    if args.episodes:
        write_jsonl(truth, args.episodes)
    print(f"wrote {n} mentions to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
