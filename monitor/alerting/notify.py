"""Delivery of alert events through Apprise: pure routing, retries, and a log record for every outcome."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import apprise

from monitor.alerting.message import render_message
from monitor.config import NotificationRoute, NotificationSettings, NotificationTarget
from monitor.domain import AlertEvent, NotificationRecord

if TYPE_CHECKING:
    from monitor.playbooks import Playbook

log = logging.getLogger(__name__)

# short: delivery runs inside the pipeline, and a target that is down for minutes needs a fallback, not patience
BACKOFF_SECONDS = (0.5, 2.0, 5.0)
MAX_ERROR_CHARS = 300


def route_reason(index: int, route: NotificationRoute, event: AlertEvent) -> str | None:
    """Why a route matches an event, or None when it does not; every condition is stated in the reason."""
    if event.event not in route.events:
        return None
    if event.level < route.min_level and not _resolves_routed_alert(route, event):
        return None
    if route.scopes and event.scope not in route.scopes:
        return None
    if route.kinds and event.kind not in route.kinds:
        return None
    parts = [f"route {index}:"]
    if event.level >= route.min_level:
        parts.append(f"level {event.level} >= {route.min_level},")
    else:
        parts.append(f"peak level {event.peak_level} >= {route.min_level},")
    if route.scopes:
        parts.append(f"scope {event.scope},")
    if route.kinds:
        parts.append(f"kind {event.kind},")
    parts.append(f"event {event.event}")
    return " ".join(parts)


def _resolves_routed_alert(route: NotificationRoute, event: AlertEvent) -> bool:
    # A resolved alert is calm by definition (level <= resolve_level); whoever got the alarm must get the
    # all-clear too, so a resolution is judged by the peak level the alert reached.
    return event.event == "resolved" and event.peak_level >= route.min_level


def select_targets(settings: NotificationSettings, event: AlertEvent) -> list[tuple[NotificationTarget, str]]:
    """(target, reason) for every target of every matching route, each target once, in route order."""
    by_id = {t.id: t for t in settings.targets}
    chosen: dict[str, tuple[NotificationTarget, str]] = {}
    for index, route in enumerate(settings.routes):
        reason = route_reason(index, route, event)
        if reason is None:
            continue
        for target_id in route.targets:
            if target_id in by_id and target_id not in chosen:
                chosen[target_id] = (by_id[target_id], reason)
    return list(chosen.values())


class Notifier:
    """Sends alert events to their targets; records every outcome and never raises into the pipeline."""

    def __init__(
        self,
        settings: NotificationSettings,
        playbooks: dict[str, Playbook],
        *,
        record: Callable[[NotificationRecord], None],
        zone: ZoneInfo,
        clock: Callable[[], datetime],
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self.playbooks = playbooks
        self.record = record
        self.zone = zone
        self.clock = clock
        self.environ = environ
        self.sleep = sleep

    def deliver(self, event: AlertEvent) -> list[NotificationRecord]:
        records: list[NotificationRecord] = []
        try:
            targets = select_targets(self.settings, event)
        except Exception:  # noqa: BLE001 - a routing bug must not take the pipeline down
            log.exception("routing failed for alert %s", event.alert_id)
            return records
        for target, reason in targets:
            try:
                record = self._deliver_one(event, target, reason)
            except Exception:  # noqa: BLE001 - one broken target (or clock) must not cost the others their alert
                log.exception("delivery to %s failed unexpectedly", target.id)
                continue
            records.append(record)
            try:
                self.record(record)
            except Exception:  # noqa: BLE001 - a failing log store must not stop the other targets
                log.exception("could not store the notification record for %s", target.id)
        return records

    def _deliver_one(self, event: AlertEvent, target: NotificationTarget, reason: str) -> NotificationRecord:
        def outcome(success: bool, attempts: int, error: str | None = None) -> NotificationRecord:
            return NotificationRecord(
                alert_id=event.alert_id,
                event=event.event,
                target_id=target.id,
                target=target.url.masked(),
                at=self.clock(),
                success=success,
                attempts=attempts,
                reason=reason,
                error=error,
            )

        try:
            url = target.url.resolve(dict(self.environ) if self.environ is not None else None)
        except KeyError as exc:
            return outcome(False, 0, f"not sent: {exc.args[0]}")
        try:
            title, body = render_message(
                event, self.playbooks.get(event.playbook), language=target.language, zone=self.zone
            )
        except Exception as exc:  # noqa: BLE001 - report instead of losing the alert silently
            log.exception("could not render the message for %s", target.id)
            return outcome(False, 0, f"message could not be rendered: {type(exc).__name__}")
        secrets = _secret_values(target, self.environ)
        attempts = 0
        error: str | None = None
        for attempt in range(self.settings.retries + 1):
            if attempt:
                self.sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])
            attempts += 1
            ok, error = _send(url, title, body)
            if ok:
                return outcome(True, attempts)
            error = _scrub(error or "delivery failed", secrets)
            log.warning("notification to %s failed (attempt %d): %s", target.id, attempts, error)
        return outcome(False, attempts, error)


def _send(url: str, title: str, body: str) -> tuple[bool, str | None]:
    """One delivery attempt with a fresh Apprise object, so that one target's state never leaks into another."""
    try:
        sender = apprise.Apprise()
        if not sender.add(url):
            return False, "Apprise does not accept this URL (unknown schema or missing parameters)"
        result = sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
        if result:
            return True, None
        return False, _apprise_error(result)
    except Exception as exc:  # noqa: BLE001 - Apprise plugins may raise; the caller must never see it
        return False, f"{type(exc).__name__}: {exc}"


def _apprise_error(result: Any) -> str:
    # Apprise >= 2 returns a result object that carries the plugin's log lines; older ones return a bool.
    messages: list[str] = []
    logs = getattr(result, "logs", None)
    if callable(logs):
        try:
            for entry in logs():
                level = str(getattr(entry, "level", "")).upper()
                message = str(getattr(entry, "message", entry))
                if any(word in level for word in ("WARN", "ERROR", "CRIT")) and message not in messages:
                    messages.append(message)
        except Exception:  # noqa: BLE001 - diagnostics are best effort
            pass
    status = getattr(getattr(result, "status", None), "name", None)
    text = " ".join(messages) or (f"Apprise status {status}" if status else "Apprise reported a failure")
    return text[:MAX_ERROR_CHARS]


def _secret_values(target: NotificationTarget, environ: Mapping[str, str] | None) -> list[str]:
    env = os.environ if environ is None else environ
    return [env[name] for name in target.url.env_names() if env.get(name)]


def _scrub(text: str, secrets: list[str]) -> str:
    """Error texts may quote the URL they failed on; the resolved secrets must not reach the log."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
