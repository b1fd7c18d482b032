"""The web pages behind the alert links: overview, playbooks, alert timeline, plus /metrics and /healthz."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from monitor.alerting.message import explain_fired, explain_signals, kind_name, level_name
from monitor.config import Settings
from monitor.playbooks import Playbook

TEMPLATES = Path(__file__).parent / "templates"
RECENT_ALERTS = 20
STATUS_NAMES = {"open": "offen", "acknowledged": "bestätigt", "resolved": "beendet"}
EVENT_NAMES = {"opened": "geöffnet", "escalated": "verschärft", "updated": "Update", "resolved": "beendet"}


class AlertStore(Protocol):
    """The part of the storage engineer's Store that the pages read."""

    def open_alerts(self) -> list[dict]: ...
    def recent_alerts(self, limit: int) -> list[dict]: ...
    def get_alert(self, alert_id: str) -> dict | None: ...
    def alert_events(self, alert_id: str) -> list[dict]: ...
    def notification_log(self, alert_id: str) -> list[dict]: ...


def parse_time(value: Any) -> datetime | None:
    """Times from the store as datetime or ISO text; naive ones are UTC, as everything stormwatch stores."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def as_mapping(value: Any) -> dict:
    """Signals and payloads may come back from the store as dicts or as JSON text."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        try:
            loaded = json.loads(value)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}
    return {}


def _environment(zone: ZoneInfo) -> Environment:
    # autoescape everywhere: sample texts, terms and reasons come from strangers on the internet
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)

    def local_time(value: Any, with_date: bool = True) -> str:
        moment = parse_time(value)
        if moment is None:
            return "–"
        local = moment.astimezone(zone)
        return local.strftime("%d.%m.%Y, %H:%M Uhr" if with_date else "%H:%M Uhr")

    env.filters["local_time"] = local_time
    env.filters["level_name"] = lambda level, lang="de": level_name(int(level or 0), lang)
    env.filters["kind_name"] = lambda kind, lang="de": kind_name(str(kind), lang)
    env.filters["status_name"] = lambda status: STATUS_NAMES.get(str(status), str(status))
    env.filters["event_name"] = lambda event: EVENT_NAMES.get(str(event), str(event))
    env.filters["signals_text"] = lambda signals: explain_signals(as_mapping(signals), "de")
    env.filters["fired_text"] = lambda explanation: explain_fired(as_mapping(explanation) or None, "de")
    env.filters["due_label"] = _due_label
    return env


def _due_label(minutes: int, language: str = "de") -> str:
    """A step's target time as people say it: 15 Min., 3 Std., 3 Tage."""
    if minutes < 60:
        return f"{minutes} Min." if language == "de" else f"{minutes} min"
    if minutes < 1440 or minutes % 1440:
        hours = minutes / 60
        text = f"{hours:g}".replace(".", ",") if language == "de" else f"{hours:g}"
        return f"{text} Std." if language == "de" else f"{text} h"
    days = minutes // 1440
    if language == "de":
        return "1 Tag" if days == 1 else f"{days} Tage"
    return "1 day" if days == 1 else f"{days} days"


def create_app(
    *,
    settings: Settings,
    playbooks: dict[str, Playbook],
    store: AlertStore,
    metrics_registry: CollectorRegistry,
) -> Starlette:
    env = _environment(settings.zone)

    def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("lang", "de")
        return HTMLResponse(env.get_template(name).render(**context), status_code=status_code)

    def overview(request: Request) -> HTMLResponse:
        open_alerts = store.open_alerts()
        open_ids = {a.get("id") for a in open_alerts}
        recent = [a for a in store.recent_alerts(RECENT_ALERTS) if a.get("id") not in open_ids]
        return page("index.html", open_alerts=open_alerts, recent=recent, playbooks=playbooks)

    def playbook_list(request: Request) -> HTMLResponse:
        lang = _lang(request)
        ordered = sorted(playbooks.values(), key=lambda p: p.title.get(lang))
        return page("playbooks.html", playbooks=ordered, lang=lang)

    def playbook_page(request: Request) -> HTMLResponse:
        lang = _lang(request)
        playbook = playbooks.get(request.path_params["playbook_id"])
        if playbook is None:
            raise HTTPException(404, "Playbook nicht gefunden")
        owners = {role.id: settings.owners_of([role.id]) for role in playbook.roles}
        return page("playbook.html", playbook=playbook, owners=owners, lang=lang)

    def alert_page(request: Request) -> HTMLResponse:
        alert_id = request.path_params["alert_id"]
        alert = store.get_alert(alert_id)
        if alert is None:
            raise HTTPException(404, "Alarm nicht gefunden")
        playbook = playbooks.get(str(alert.get("playbook")))
        return page(
            "alert.html",
            alert=alert,
            signals=as_mapping(alert.get("signals")),
            events=[{**e, "payload": as_mapping(e.get("payload"))} for e in store.alert_events(alert_id)],
            log=store.notification_log(alert_id),
            playbook=playbook,
            checklist=_checklist(playbook, parse_time(alert.get("opened_at"))),
        )

    def metrics(request: Request) -> Response:
        return Response(generate_latest(metrics_registry), media_type=CONTENT_TYPE_LATEST)

    def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    def not_found(request: Request, exc: Exception) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) and exc.detail != "Not Found" else "Seite nicht gefunden"
        return page("not_found.html", status_code=404, detail=detail, path=request.url.path)

    routes = [
        Route("/", overview),
        Route("/playbooks", playbook_list),
        Route("/playbooks/{playbook_id}", playbook_page),
        Route("/alerts/{alert_id}", alert_page),
        Route("/metrics", metrics),
        Route("/healthz", healthz),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found})


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "de"


def _checklist(playbook: Playbook | None, opened_at: datetime | None) -> list[dict[str, Any]]:
    """The playbook's steps with their due time counted from the alert's opening."""
    if playbook is None:
        return []
    return [
        {"step": step, "due": opened_at + timedelta(minutes=step.due_minutes) if opened_at else None}
        for step in playbook.steps
    ]
