"""Decision stage: turns storm assessments into alert events with playbook, link and owners."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.alerting.state import AlertPolicy, OpenAlert, step
from monitor.config import DetectionSettings, Settings
from monitor.domain import AlertEvent, StormAssessment

if TYPE_CHECKING:
    from monitor.playbooks import Playbook


def playbook_url(base_url: str, playbook_id: str) -> str:
    return f"{base_url.rstrip('/')}/playbooks/{playbook_id}"


# Why an open alert escalates without a higher level (see alerting.state.step), as the alert's reason says it.
ESCALATION_NOTES = {
    "kind": "Lage wird feindselig",
    "wave": "neue Welle nach einer Pause",
    "volume": "Menge seit der letzten Meldung mehr als verdoppelt",
}


def _rate(signals: dict[str, float]) -> float:
    """Mentions per bucket of the assessed window, comparable between the bucket and the window view."""
    return signals.get("count", 0.0) / max(signals.get("window_buckets", 1.0), 1.0)


class AlertDecider:
    """Holds the open alert of every scope and emits an AlertEvent for each transition."""

    def __init__(self, settings: Settings, playbooks: dict[str, "Playbook"]):
        self.settings = settings
        self.playbooks = playbooks
        self._open: dict[str, OpenAlert] = {}
        self._playbook_of: dict[str, str] = {}
        self._resolved_at: dict[str, datetime] = {}
        self._scope_cache: dict[str, tuple[DetectionSettings, AlertPolicy]] = {}

    def _scope_settings(self, scope: str) -> tuple[DetectionSettings, AlertPolicy]:
        # detection_for validates a scope's overrides on every call, and decide() runs for every bucket
        cached = self._scope_cache.get(scope)
        if cached is None:
            detection = self.settings.detection_for(scope)
            policy = AlertPolicy(
                open_level=detection.open_level, candystorm_open_level=detection.candystorm_open_level,
                resolve_level=detection.resolve_level,
                resolve_after_buckets=detection.resolve_after_buckets, update_after_buckets=detection.update_after_buckets,
                new_wave_after_buckets=detection.new_wave_after_buckets, volume_escalation=detection.volume_escalation,
            )
            cached = self._scope_cache[scope] = (detection, policy)
        return cached

    def _policy(self, scope: str) -> AlertPolicy:
        return self._scope_settings(scope)[1]

    def open_alerts(self) -> list[OpenAlert]:
        return list(self._open.values())

    def decide(self, assessment: StormAssessment) -> AlertEvent | None:
        scope = assessment.scope
        before = self._open.get(scope)
        policy = self._policy(scope)
        if before is None and assessment.level < policy.open_level:
            return None  # the common case: calm and nothing open
        resolved_at = self._resolved_at.get(scope)
        cooldown = timedelta(minutes=self.settings.detection.bucket_minutes * policy.resolve_after_buckets)
        after, event = step(
            before,
            scope=scope,
            level=assessment.level,
            kind=assessment.kind,
            at=assessment.at,
            policy=policy,
            cooling_down=resolved_at is not None and assessment.at - resolved_at < cooldown,
            surging=before is not None and self._surging(assessment),
            rate=_rate(assessment.signals),
        )
        if after is None:
            self._open.pop(scope, None)
        else:
            self._open[scope] = after
        if event is None:
            return None
        alert = after or before
        assert alert is not None
        playbook_id = self._choose_playbook(alert, assessment, event)
        reason = assessment.reason
        if event == "escalated" and alert.note in ESCALATION_NOTES:
            reason = f"{ESCALATION_NOTES[alert.note]} – {reason}"  # a dash: the reason itself may hold a colon
        if event == "resolved":
            minutes = policy.resolve_after_buckets * self.settings.detection.bucket_minutes
            reason = f"seit {minutes} Minuten wieder ruhig (Stufe {assessment.level})"
            self._resolved_at[scope] = assessment.at
            self._playbook_of.pop(alert.alert_id, None)
        return AlertEvent(
            event=event,
            alert_id=alert.alert_id,
            at=assessment.at,
            scope=scope,
            kind=alert.kind,
            level=assessment.level,
            peak_level=alert.peak_level,
            playbook=playbook_id,
            playbook_url=playbook_url(self.settings.web.base_url, playbook_id),
            owners=self._owners(playbook_id),
            reason=reason,
            signals=dict(assessment.signals),
            top_terms=list(assessment.top_terms),
            samples=list(assessment.samples),
            opened_at=alert.opened_at,
            explanation=assessment.explanation,
        )

    def _surging(self, assessment: StormAssessment) -> bool:
        """Volume still clearly raised: a storm whose tone softens for a while has not ended yet."""
        signals = assessment.signals
        detection = self._scope_settings(assessment.scope)[0]
        return (
            signals.get("volume_ratio", 0.0) >= detection.volume_ratio_levels[1]
            and signals.get("count", 0.0) >= detection.min_count / 2
        )

    def _choose_playbook(self, alert: OpenAlert, assessment: StormAssessment, event: str) -> str:
        # the playbook is chosen when the alert opens and re-chosen on escalation (hate speech may appear later);
        # updates and the resolution keep the one the team is already working with
        if event in ("opened", "escalated") or alert.alert_id not in self._playbook_of:
            from monitor.playbooks import choose_playbook

            chosen = choose_playbook(
                self.settings.playbook_rules,
                self.settings.default_playbook,
                kind=alert.kind,
                scope=alert.scope,
                level=assessment.level,
                toxic_share=assessment.signals.get("toxic_share", 0.0),
                top_terms=assessment.top_terms,
            )
            self._playbook_of[alert.alert_id] = chosen
        return self._playbook_of[alert.alert_id]

    def _owners(self, playbook_id: str) -> list[str]:
        playbook = self.playbooks.get(playbook_id)
        if playbook is None:
            return []
        return self.settings.owners_of([role.id for role in playbook.roles])
