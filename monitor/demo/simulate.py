"""Storm simulator: two-week German mention streams on one scope with one storm shape each, and their ground truth."""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

from monitor.demo.generate import (
    DIURNAL, HOUR, SLOT, STADTFEST_PROFILE, STORM_PROFILE, SURGE_PROFILE, WEEKDAY_FACTOR, ScopeInfo,
    Source, _choose, _interp, _poisson, _profile_peak, _Renderer, _vary, berlin_local, iso, parse_ts,
)

SHAPES = ("calm", "slow_build", "sudden_spike", "night", "weekend", "overlapping", "during_planned_event",
          "question_surge", "candystorm")
SIM_START = "2026-03-01T23:00:00Z"  # Monday 2026-03-02 00:00 Europe/Berlin; no DST change in two weeks
REGULARS = 400

# Weekday factors rescaled to mean 1, so that `daily` stays the average calm volume per day.
WEEKLY = tuple(f * 7 / sum(WEEKDAY_FACTOR) for f in WEEKDAY_FACTOR)

# Extra mentions per hour over hours since onset, in multiples of their peak (scaled per episode below).
SPIKE_PROFILE = ((0, 0), (0.25, 1.0), (1.5, 1.0), (2.5, 0.6), (4, 0.25), (6, 0.08), (7, 0))
# A storm that starts late in the evening: a first burst before midnight, a lull while people sleep,
# a second wave when they wake up and read the night's thread.
NIGHT_PROFILE = ((0, 0), (0.5, 0.35), (1, 0.8), (1.5, 1.0), (2.5, 0.75), (4, 0.3), (6.5, 0.2), (8, 0.55),
                 (9, 0.85), (10.5, 0.7), (12.5, 0.3), (14, 0))
CANDY_PROFILE = ((0, 0), (0.5, 0.3), (1, 0.7), (2, 1.0), (4, 0.85), (6, 0.4), (8, 0.15), (10, 0))
PLANNED_PROFILE = ((0, 1.0), (3, 1.0), (3.001, 0))  # flat for the live stream's three hours

STORM_PEAK = 16.0     # peak extra volume in multiples of the mean hourly calm volume, as generate.SYNTH_STORM_PEAK
SURGE_PEAK = 12.0     # as generate.SYNTH_SURGE_PEAK
SPIKE_FACTOR = 15.0   # the sudden spike: total volume 15x the calm volume of its hour
CANDY_PEAK = 10.0
NIGHT_PEAK = 8.0      # fewer people are awake: the night wave is smaller in absolute numbers
POPULAR_PEAK = 2.2    # the benign popular post: the demo's Stadtfest relative to the demo city's mean hour
PLANNED_FACTOR = 3.0  # the live stream: 3x the calm volume of its hours

# Praise, not the Stadtfest alone: a thank-you wave after, e.g., a rescue or a good decision.
CANDY_MIX = (("calm_positive", 0.62), ("stadtfest", 0.13), ("calm_neutral", 0.15), ("calm_question", 0.06),
             ("calm_critical", 0.04))


@dataclass(frozen=True)
class SimSource(Source):
    """A Source with its own profile (in mentions per hour) and a time stretch, so shapes need no new roles."""

    profile: tuple = ()
    stretch: float = 1.0    # < 1 compresses the profile and the storm's phases (mix, platforms) alike

    def hours(self, t: float) -> float:
        return ((t - self.onset) / HOUR - self.delay_h) / self.stretch

    def rate(self, t: float) -> float:
        return self.scale * _interp(self.profile, self.hours(t))


class _SimRenderer(_Renderer):
    """The generator's renderer, plus the two roles the simulator adds: candystorm and planned (live stream)."""

    def _text(self, source: Source, t: float) -> tuple[str, str]:
        if source.role == "planned":  # a live stream draws the usual kind of comments, just more of them
            return super()._text(replace(source, role="calm"), t)
        if source.role == "candystorm":
            pool = _choose(self.rng, CANDY_MIX)
            deck = self.decks[pool]
            return _vary(deck.draw(), pool, self.rng, deck), pool
        return super()._text(source, t)

    def _author(self, source: Source, scope: ScopeInfo, pool: str) -> str:
        if source.role == "planned":  # the audience of a council live stream are mostly the regulars
            return super()._author(replace(source, role="calm"), scope, pool)
        return super()._author(source, scope, pool)


def _at(day: int, hour: float) -> float:
    """Epoch seconds of local wall-clock `hour` on `day` days after SIM_START, DST-corrected."""
    t = parse_ts(SIM_START) + day * 86400 + hour * HOUR
    local = berlin_local(t)
    want_hour = hour % 24
    drift = (local.hour + local.minute / 60) - want_hour  # only non-zero across a DST switch
    if drift > 12:
        drift -= 24
    elif drift < -12:
        drift += 24
    return t - drift * HOUR


def _calm_factor(t: float) -> float:
    local = berlin_local(t)
    return DIURNAL[local.hour] * WEEKLY[local.weekday()]


def _episode_source(role: str, onset: float, profile, peak_per_hour: float, *, group: str, stretch: float = 1.0,
                    post_at: float | None = None, scope: str) -> SimSource:
    top = max(v for _, v in profile)
    return SimSource(scope, role, onset, peak_per_hour / top, group=group,
                     post_at=onset - 1800 if post_at is None else post_at, profile=tuple(profile), stretch=stretch)


def _truth(source: SimSource, kind: str, shape: str) -> dict:
    span = lambda h: iso(source.onset + h * source.stretch * HOUR)  # noqa: E731
    return {"scope": source.scope, "kind": kind, "onset": span(source.profile[0][0]),
            "peak": span(_profile_peak(source.profile)), "end": span(source.profile[-1][0]), "shape": shape}


def _plan(shape: str, days: int, scope: str, mean_hour: float) -> tuple[list[SimSource], list[dict]]:
    """The episode sources and ground truth of a shape; episodes fall in the stream's last full week."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; choose one of {', '.join(SHAPES)}")
    if shape == "calm":
        day = 7 * (days // 7 - 1) + 3 if days >= 14 else days // 2  # a Thursday evening when possible
        post = _episode_source("stadtfest", _at(day, 18), STADTFEST_PROFILE, POPULAR_PEAK * mean_hour,
                               group="popular", post_at=_at(day, 18), scope=scope)
        return [post], []
    if days < 14:
        raise ValueError("storm shapes need days >= 14: a calm week to learn from, then the episode")
    week = 7 * (days // 7 - 1)  # Monday of the last full week
    storm = lambda onset, peak, profile=STORM_PROFILE, **kw: _episode_source(  # noqa: E731
        "storm", onset, profile, peak * mean_hour, scope=scope, **kw)
    if shape == "slow_build":
        s = storm(_at(week + 2, 14), STORM_PEAK, group="slow")
        return [s], [_truth(s, "shitstorm", shape)]
    if shape == "sudden_spike":
        onset = _at(week + 1, 10)
        s = storm(onset, (SPIKE_FACTOR - 1) * _calm_factor(onset), SPIKE_PROFILE, group="spike", post_at=onset - 300)
        return [s], [_truth(s, "shitstorm", shape)]
    if shape == "night":
        s = storm(_at(week + 1, 23), NIGHT_PEAK, NIGHT_PROFILE, group="night")
        return [s], [_truth(s, "shitstorm", shape)]
    if shape == "weekend":
        s = storm(_at(week + 5, 11), STORM_PEAK, group="weekend")
        return [s], [_truth(s, "shitstorm", shape)]
    if shape == "overlapping":
        # two unrelated topics, two crowds: the second starts while the first is still building
        a = storm(_at(week + 2, 12), STORM_PEAK, group="first")
        b = storm(_at(week + 2, 15), 0.75 * STORM_PEAK, group="second")
        return [a, b], [_truth(a, "shitstorm", shape), _truth(b, "shitstorm", shape)]
    if shape == "during_planned_event":
        start = _at(week + 3, 18)
        live = _episode_source("planned", start, PLANNED_PROFILE, (PLANNED_FACTOR - 1) * _calm_factor(start + HOUR)
                               * mean_hour, group="live", post_at=start, scope=scope)
        # a decision announced in the meeting sets it off: a faster build than an afternoon storm
        s = storm(start + 0.75 * HOUR, STORM_PEAK, group="council", stretch=0.6, post_at=start)
        truth = _truth(s, "shitstorm", shape)
        truth["planned_event"] = {"name": "Livestream Ratssitzung", "scopes": [scope], "start": iso(start),
                                  "end": iso(start + 3 * HOUR), "expected_volume_factor": PLANNED_FACTOR}
        return [live, s], [truth]
    if shape == "question_surge":
        s = _episode_source("surge", _at(week + 3, 15), SURGE_PROFILE, SURGE_PEAK * mean_hour, group="incident",
                            post_at=_at(week + 3, 15) + 600, scope=scope)
        return [s], [_truth(s, "question_surge", shape)]
    s = _episode_source("candystorm", _at(week + 4, 16), CANDY_PROFILE, CANDY_PEAK * mean_hour, group="candy",
                        scope=scope)
    return [s], [_truth(s, "candystorm", shape)]


def _mark_threefold(sources: list[SimSource], truth: list[dict], mean_hour: float) -> None:
    """Adds `over_3x`: the first 5-minute bucket in which the expected volume is 3x what it would be without
    the episode (the issue's target counts alert delay from there, not from the first angry comment)."""
    episodes = [s for s in sources if s.role not in ("planned", "stadtfest")]
    for source, episode in zip(episodes, truth):
        t = parse_ts(episode["onset"])
        t -= t % SLOT
        end = parse_ts(episode["end"])
        episode["over_3x"] = None
        while t < end:
            mid = t + SLOT / 2
            usual = mean_hour * _calm_factor(mid) + sum(s.rate(mid) for s in sources if s is not source)
            if usual + source.rate(mid) >= 3 * usual:
                episode["over_3x"] = iso(t)
                break
            t += SLOT


def simulate(shape: str, *, seed: int = 1, days: int = 14, scope: str = "stadt-sim",
             daily: float = 300.0) -> tuple[list[dict], list[dict]]:
    """(mentions sorted by created_at, ground-truth episodes) for one storm shape on one scope; deterministic.

    Episodes carry scope, kind, onset, peak, end, shape, over_3x (start of the first bucket at 3x the usual
    expected volume) and, for `during_planned_event`, the planned event to declare in the config.
    """
    if days < 1 or daily <= 0:
        raise ValueError("need days >= 1 and daily > 0")
    mean_hour = daily / 24
    episode_sources, truth = _plan(shape, days, scope, mean_hour)
    _mark_threefold(episode_sources, truth, mean_hour)
    calm = SimSource(scope, "calm")
    start = parse_ts(SIM_START)
    # one random stream per source: the calm background of a seed is the same for every shape,
    # so shapes differ only by their episode
    rngs = {id(s): random.Random(f"stormwatch-sim-{seed}-{s.role}-{s.group}") for s in (calm, *episode_sources)}
    events, n = [], 0
    for slot in range(int(start), int(start + days * 86400), SLOT):
        mid = slot + SLOT / 2
        for source in (calm, *episode_sources):
            rate = mean_hour * _calm_factor(mid) if source is calm else source.rate(mid)
            rng = rngs[id(source)]
            for _ in range(_poisson(rng, rate * SLOT / HOUR)):
                events.append((slot + rng.random() * SLOT, n, source))
                n += 1
    events.sort(key=lambda e: (int(e[0]), e[1]))
    scopes = {scope: ScopeInfo(scope, 0, True, REGULARS, 0)}
    renderer = _SimRenderer(scopes, f"sim-{shape}-{seed}",
                            author_offset=random.Random(f"authors-sim-{seed}").randrange(1 << 31))
    return [renderer.render(t, source) for t, _, source in events], truth
