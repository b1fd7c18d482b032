"""The alert state machine of one scope: open once, escalate on a new peak, resolve once after sustained calm."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

ALERTING_KINDS = frozenset({"shitstorm", "question_surge", "candystorm"})


@dataclass(frozen=True)
class AlertPolicy:
    open_level: int = 3
    resolve_level: int = 1
    resolve_after_buckets: int = 6
    update_drop: int = 2  # a de-escalation is reported only when the level falls this far below the last report
    reopen_margin: int = 1  # within the cool-down after a resolution, reopening needs open_level + this


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


def alert_id_for(scope: str, opened_at: datetime) -> str:
    return f"{scope}-{opened_at.strftime('%Y%m%dT%H%MZ')}"


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
) -> tuple[OpenAlert | None, str | None]:
    """One bucket's decision: (new state, event or None). Pure; the caller owns time and side effects.

    Hysteresis: an alert opens at `open_level` but resolves only after `resolve_after_buckets` consecutive
    buckets at or below `resolve_level`, so a storm that pauses for a bucket does not resolve and reopen.
    `cooling_down` (the caller's memory of a recent resolution) raises the bar for reopening, so the
    ragged tail of a storm does not page the team a second time. `surging` (volume still well above the
    baseline) keeps an open alert from calming down even when the mood of one window looks milder.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 11, 12, tzinfo=timezone.utc)
    >>> policy = AlertPolicy(resolve_after_buckets=2)
    >>> state, event = step(None, scope="s", level=3, kind="shitstorm", at=t, policy=policy); event
    'opened'
    >>> state, event = step(state, scope="s", level=5, kind="shitstorm", at=t, policy=policy); event
    'escalated'
    >>> state, event = step(state, scope="s", level=0, kind="calm", at=t, policy=policy); event is None
    True
    >>> state, event = step(state, scope="s", level=0, kind="calm", at=t, policy=policy); event, state
    ('resolved', None)
    """
    if alert is None:
        needed = policy.open_level + (policy.reopen_margin if cooling_down else 0)
        if level >= needed and kind in ALERTING_KINDS:
            opened = OpenAlert(alert_id_for(scope, at), scope, kind, at, level, level, level)
            return opened, "opened"
        return None, None
    if level <= policy.resolve_level and not surging:
        streak = alert.calm_streak + 1
        if streak >= policy.resolve_after_buckets:
            return None, "resolved"
        return replace(alert, level=level, calm_streak=streak), None
    current = replace(alert, level=level, calm_streak=0)
    if level > alert.peak_level:
        if kind in ALERTING_KINDS and kind != alert.kind and alert.kind != "shitstorm":
            current = replace(current, kind=kind)  # e.g. a question surge that turns hostile becomes a shitstorm
        return replace(current, peak_level=level, reported_level=level), "escalated"
    if level <= alert.reported_level - policy.update_drop:
        return replace(current, reported_level=level), "updated"
    return current, None
