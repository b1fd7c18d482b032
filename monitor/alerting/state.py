"""The alert state machine of one scope: open once, escalate on a new peak, resolve once after sustained calm."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone

ALERTING_KINDS = frozenset({"shitstorm", "question_surge", "candystorm"})


@dataclass(frozen=True)
class AlertPolicy:
    open_level: int = 3
    resolve_level: int = 1
    resolve_after_buckets: int = 6
    update_drop: int = 2  # a de-escalation is reported only when the level falls this far below the last report
    update_after_buckets: int = 3  # ... and stays there this long: levels jump between buckets in a live storm
    reopen_margin: int = 1  # within the cool-down after a resolution, reopening needs open_level + this
    # Good news can wait for a clear wave: a busy, friendly evening must not page anyone as a "Candystorm".
    candystorm_open_level: int = 4
    new_wave_after_buckets: int = 6  # calm this long, then back at open_level: a new wave, reported as escalation
    volume_escalation: float = 2.0  # at open_level, the volume this many times the last report's: escalation


@dataclass(frozen=True)
class OpenAlert:
    alert_id: str
    scope: str
    kind: str
    opened_at: datetime
    level: int
    peak_level: int
    reported_level: int
    calm_streak: int = 0
    low_streak: int = 0  # buckets in a row at least update_drop below the reported level
    lull: int = 0  # the longest calm streak since the last report (opened or escalated)
    reported_rate: float = 0.0  # mentions per bucket at the last report
    note: str = ""  # why the last escalation: level | kind | wave | volume


def alert_id_for(scope: str, opened_at: datetime) -> str:
    """`scope-YYYYMMDDTHHMMZ`: the Z promises UTC, so an aware time in another zone is converted first."""
    moment = opened_at.astimezone(timezone.utc) if opened_at.tzinfo else opened_at
    return f"{scope}-{moment.strftime('%Y%m%dT%H%MZ')}"


def step(
    alert: OpenAlert | None,
    *,
    scope: str,
    level: int,
    kind: str,
    at: datetime,
    policy: AlertPolicy,
    cooling_down: bool = False,
    surging: bool = False,
    rate: float = 0.0,
) -> tuple[OpenAlert | None, str | None]:
    """One bucket's decision: (new state, event or None). Pure; the caller owns time and side effects.

    Hysteresis: an alert opens at `open_level` but resolves only after `resolve_after_buckets` consecutive
    buckets at or below `resolve_level`, so a storm that pauses for a bucket does not resolve and reopen.
    `cooling_down` (the caller's memory of a recent resolution) raises the bar for reopening, so the
    ragged tail of a storm does not page the team a second time. `surging` (volume still well above the
    baseline) keeps an open alert from calming down even when the mood of one window looks milder.

    One alert per scope: a second storm while one is open is reported on the open alert as an escalation
    (note says why), when it is clearly new, at `open_level` or above:
    - `level`: a new peak level;
    - `kind`: a Shitstorm starts while a question surge or Candystorm alert is open (hostile trumps
      benign: the alert turns into a Shitstorm and its playbook is chosen again); a question surge or
      Candystorm during an open Shitstorm stays part of the Shitstorm alert;
    - `wave`: the scope was calm for `new_wave_after_buckets` buckets since the last report, then rose again;
    - `volume`: `rate` (mentions per bucket) reached `volume_escalation` times the rate at the last report.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 11, 12, tzinfo=timezone.utc)
    >>> policy = AlertPolicy(resolve_after_buckets=2)
    >>> state, event = step(None, scope="s", level=3, kind="shitstorm", at=t, policy=policy, rate=20); event
    'opened'
    >>> state, event = step(state, scope="s", level=5, kind="shitstorm", at=t, policy=policy, rate=30); event
    'escalated'
    >>> state, event = step(state, scope="s", level=5, kind="shitstorm", at=t, policy=policy, rate=70)
    >>> event, state.note
    ('escalated', 'volume')
    >>> state, event = step(state, scope="s", level=0, kind="calm", at=t, policy=policy); event is None
    True
    >>> state, event = step(state, scope="s", level=0, kind="calm", at=t, policy=policy); event, state
    ('resolved', None)
    """
    if alert is None:
        needed = policy.open_level + (policy.reopen_margin if cooling_down else 0)
        if kind == "candystorm":
            needed = max(needed, policy.candystorm_open_level)
        if level >= needed and kind in ALERTING_KINDS:
            opened = OpenAlert(alert_id_for(scope, at), scope, kind, at, level, level, level, reported_rate=rate)
            return opened, "opened"
        return None, None
    if level <= policy.resolve_level and not surging:
        streak = alert.calm_streak + 1
        if streak >= policy.resolve_after_buckets:
            return None, "resolved"
        return replace(alert, level=level, calm_streak=streak, lull=max(alert.lull, streak),
                       low_streak=alert.low_streak + 1), None
    current = replace(alert, level=level, calm_streak=0)
    note = _escalation(alert, level, kind, policy, rate)
    if note:
        if kind in ALERTING_KINDS and kind != alert.kind and alert.kind != "shitstorm":
            current = replace(current, kind=kind)  # e.g. a question surge that turns hostile becomes a shitstorm
        return replace(current, peak_level=max(level, alert.peak_level), reported_level=level, lull=0, low_streak=0,
                       reported_rate=rate, note=note), "escalated"
    if level <= alert.reported_level - policy.update_drop:
        streak = alert.low_streak + 1
        if streak >= policy.update_after_buckets:
            return replace(current, reported_level=level, low_streak=0), "updated"
        return replace(current, low_streak=streak), None
    return replace(current, low_streak=0), None


def _escalation(alert: OpenAlert, level: int, kind: str, policy: AlertPolicy, rate: float) -> str:
    """Why this bucket escalates the open alert ("" if it does not); see step()."""
    if level > alert.peak_level:
        return "level"
    if level < policy.open_level or kind not in ALERTING_KINDS:
        return ""
    if kind == "shitstorm" and alert.kind != "shitstorm":
        return "kind"
    if alert.lull >= policy.new_wave_after_buckets:
        return "wave"
    if alert.reported_rate > 0 and rate >= policy.volume_escalation * alert.reported_rate:
        return "volume"
    return ""
