"""Web pages: overview, playbooks, alert timeline, metrics and health, 404s, escaping; and a real uvicorn server."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import uvicorn
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

from monitor.config import Settings
from monitor.domain import AlertEvent, NotificationRecord
from monitor.metrics import Metrics
from monitor.playbooks import load_playbooks
from monitor.web.app import create_app, parse_time

try:
    from tests.receivers import free_port
except ImportError:  # pytest run without the project root on sys.path: tests/ itself is there
    from receivers import free_port  # type: ignore[no-redef]

PLAYBOOKS = load_playbooks(Path(__file__).resolve().parent.parent / "playbooks")
HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'

SETTINGS = Settings.model_validate(
    {
        "roles": [
            {"id": "social_media", "name": "Social-Media-Redaktion", "owners": [{"name": "Anna Beispiel"}, {"name": "Ben Test"}]},
            {"id": "pressestelle", "name": "Pressestelle", "owners": [{"name": "Jonas Muster", "contact": "+49 30 1234"}]},
            {"id": "behoerdenleitung", "name": "Behördenleitung", "owners": [{"name": "Dr. Eva Leitung"}]},
        ]
    }
)


class FakeStore:
    """The five read methods of the storage engineer's Store, over plain dicts."""

    def __init__(self) -> None:
        self.alerts: dict[str, dict] = {}
        self.events: dict[str, list[dict]] = {}
        self.log: dict[str, list[dict]] = {}

    def open_alerts(self) -> list[dict]:
        return [a for a in self.alerts.values() if a["status"] != "resolved"]

    def recent_alerts(self, limit: int) -> list[dict]:
        return sorted(self.alerts.values(), key=lambda a: parse_time(a["opened_at"]), reverse=True)[:limit]

    def get_alert(self, alert_id: str) -> dict | None:
        return self.alerts.get(alert_id)

    def alert_events(self, alert_id: str) -> list[dict]:
        return self.events.get(alert_id, [])

    def notification_log(self, alert_id: str) -> list[dict]:
        return self.log.get(alert_id, [])


def alert(alert_id: str, **changes) -> dict:
    base = {
        "id": alert_id, "scope": "stadt-musterstadt", "kind": "shitstorm", "status": "open", "level": 4,
        "peak_level": 5, "playbook": "empoerungswelle", "opened_at": datetime(2026, 3, 14, 8, 50, tzinfo=timezone.utc),
        "updated_at": "2026-03-14T09:20:00Z", "resolved_at": None, "reason": "Volumen 20-fach über üblich",
        "signals": {"count": 142.0, "expected": 7.0, "volume_ratio": 20.28, "negative_share": 0.78, "usual_negative_share": 0.21},
    }
    return {**base, **changes}


@pytest.fixture
def fake_store() -> FakeStore:
    store = FakeStore()
    store.alerts["a-1"] = alert("a-1")
    store.alerts["a-0"] = alert(
        "a-0", scope="polizei", kind="candystorm", status="resolved", level=0, peak_level=3, playbook="candystorm",
        opened_at="2026-03-01T10:00:00Z", resolved_at="2026-03-01T14:00:00Z", signals='{"positive_share": 0.8}',
    )
    store.events["a-1"] = [
        {"id": 1, "alert_id": "a-1", "event": "opened", "at": "2026-03-14T08:50:00Z", "level": 3,
         "reason": "Volumen 8-fach", "signals": {}, "payload": {"samples": [HOSTILE, "Unverschämt!"]}},
        {"id": 2, "alert_id": "a-1", "event": "escalated", "at": "2026-03-14T09:10:00Z", "level": 5,
         "reason": "überwiegend negativ", "signals": {}, "payload": '{"samples": ["Skandal"]}'},
        {"id": 3, "alert_id": "a-1", "event": "updated", "at": "2026-03-14T09:25:00Z", "level": 5,
         "reason": "weiter hoch", "signals": {}, "payload": {"samples": ["Schande", "Wir wissen, wo ihr wohnt."],
                                                             "threat_samples": [1]}},
    ]
    store.log["a-1"] = [
        {"alert_id": "a-1", "event": "opened", "target_id": "team", "target": "json://hooks.example/***",
         "at": "2026-03-14T08:50:02Z", "success": True, "attempts": 1, "reason": "route 0: level 3 >= 3, event opened", "error": None},
        {"alert_id": "a-1", "event": "opened", "target_id": "mail", "target": "mailto://smtp.example",
         "at": "2026-03-14T08:50:09Z", "success": False, "attempts": 3, "reason": "route 0: level 3 >= 3, event opened",
         "error": "Connection refused"},
    ]
    return store


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def client(fake_store: FakeStore, registry: CollectorRegistry) -> TestClient:
    app = create_app(settings=SETTINGS, playbooks=PLAYBOOKS, store=fake_store, metrics_registry=registry)
    return TestClient(app)


def test_overview_lists_open_and_recent_alerts(client):
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="de">' in html
    open_part, recent_part = html.split("Letzte Alarme")
    assert 'href="/alerts/a-1"' in open_part and "Protestgruppen / Echo auf allen Kanälen" in open_part
    assert 'href="/playbooks/empoerungswelle">Empörungswelle (Shitstorm)</a>' in open_part
    assert 'href="/alerts/a-0"' in recent_part and "beendet" in recent_part and "Candystorm" in recent_part
    assert "14.03.2026, 09:50 Uhr" in html  # shown in Europe/Berlin


def test_overview_when_calm():
    app = create_app(settings=SETTINGS, playbooks=PLAYBOOKS, store=FakeStore(), metrics_registry=CollectorRegistry())
    html = TestClient(app).get("/").text
    assert "Keine offenen Alarme" in html


def test_playbook_list(client):
    html = client.get("/playbooks").text
    for playbook in PLAYBOOKS.values():
        assert f'href="/playbooks/{playbook.id}"' in html
    assert "Hassrede und Bedrohung" in html
    assert "Hate speech and threats" in client.get("/playbooks?lang=en").text


def test_playbook_page_in_german(client):
    response = client.get("/playbooks/empoerungswelle")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Empörungswelle (Shitstorm)</h1>" in html
    assert "Zuständig: Social-Media-Redaktion: Anna Beispiel; Social-Media-Redaktion: Ben Test" in html
    assert "Zuständig: Behördenleitung: Dr. Eva Leitung" in html
    assert "+49 30 1234" not in html  # contacts stay off a page that has no access control yet
    assert "Keine Zuständigen konfiguriert." in html  # fachamt has no owners in this config
    assert html.count('type="checkbox"') == len(PLAYBOOKS["empoerungswelle"].steps)
    assert "Ziel: 15 Min. nach Alarm" in html and "Ziel: 3 Tage nach Alarm" in html
    assert "Wir lesen Ihre Kritik und nehmen sie ernst." in html
    assert "Kritik löschen oder Kommentare schließen" in html
    assert "<h2 id=\"escalation\">Eskalation</h2>" in html


def test_playbook_page_in_english(client):
    html = client.get("/playbooks/hassrede?lang=en").text
    assert '<html lang="en">' in html
    assert "<h1>Hate speech and threats</h1>" in html
    assert "Secure evidence" in html and "Common mistakes" in html
    assert 'href="https://hessengegenhetze.de"' in html


def test_alert_page_with_timeline_log_and_checklist(client):
    response = client.get("/alerts/a-1")
    assert response.status_code == 200
    html = response.text
    assert "Shitstorm – stadt-musterstadt" in html
    assert "Höchststand: Stufe 5" in html
    assert "142 Beiträge (üblich: 7) – 20,3-fach; 78 % negativ (üblich 21 %)" in html
    assert "14.03.2026, 10:10 Uhr</strong> – verschärft, Stufe 5 (Sturm): überwiegend negativ" in html
    assert "<q>Skandal</q>" in html  # payload stored as JSON text
    # the sample the classifier read as a likely threat is marked, the others are not
    assert "<q>Wir wissen, wo ihr wohnt.</q> <strong class=\"fail\">mögliche Drohung – prüfen</strong>" in html
    assert html.count("mögliche Drohung") == 1
    assert "zugestellt" in html and "fehlgeschlagen" in html and "(3 Versuche)" in html and "Connection refused" in html
    assert "fällig bis 14.03.2026, 10:05 Uhr" in html  # opened 09:50 Berlin + 15 minutes


def test_hostile_sample_text_is_escaped(client):
    html = client.get("/alerts/a-1").text
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html


def test_resolved_alert_with_json_signals(client):
    html = client.get("/alerts/a-0").text
    assert "Candystorm – polizei" in html and "80 % positiv" in html and "Beendet" in html


@pytest.mark.parametrize("path,expected", [
    ("/alerts/gibtsnicht", "Alarm nicht gefunden"),
    ("/playbooks/gibtsnicht", "Playbook nicht gefunden"),
    ("/irgendwas", "Seite nicht gefunden"),
])
def test_not_found_pages_are_german(client, path, expected):
    response = client.get(path)
    assert response.status_code == 404
    assert "<h1>Nicht gefunden</h1>" in response.text and expected in response.text


def test_not_found_escapes_the_path(client):
    response = client.get("/%3Cscript%3Ealert(1)%3C/script%3E")
    assert response.status_code == 404 and "<script>" not in response.text


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_metrics_exposition(client, registry):
    metrics = Metrics(registry)
    metrics.observe_mentions("stadt", "facebook", 5)
    metrics.set_storm_level("stadt", 4)
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert 'stormwatch_ingest_mentions_total{platform="facebook",scope="stadt"} 5.0' in response.text
    assert 'stormwatch_storm_level{scope="stadt"} 4.0' in response.text


# -- metrics -------------------------------------------------------------------------------------------------


def test_metrics_methods(registry):
    from monitor.domain import Bucket

    metrics = Metrics(registry)
    metrics.observe_mentions("stadt", "facebook", 3)
    metrics.observe_mentions("stadt", "facebook", 0)
    metrics.observe_rejected("replay.jsonl")
    metrics.observe_rejected("replay.jsonl", 2)
    at = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)
    event = AlertEvent("opened", "a-1", at, "stadt", "shitstorm", 4, 4, "empoerungswelle", "u", [], "r", {})
    metrics.observe_alert_event(event)
    metrics.observe_notification(NotificationRecord("a-1", "opened", "team", "json://x/***", at, False, 3, "r", "e"))
    metrics.set_bucket(Bucket("stadt", at, at, count=17))
    metrics.set_lag(-2.0)
    metrics.observe_possible_threats("stadt", 2)
    metrics.observe_possible_threats("stadt", 0)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("stormwatch_ingest_mentions_total", scope="stadt", platform="facebook") == 3
    assert value("stormwatch_ingest_rejected_total", source="replay.jsonl") == 3
    assert value("stormwatch_alert_events_total", scope="stadt", kind="shitstorm", event="opened") == 1
    assert value("stormwatch_alert_notifications_total", target="team", outcome="failure") == 1
    assert value("stormwatch_storm_level", scope="stadt") == 4
    assert value("stormwatch_aggregate_bucket_mentions", scope="stadt") == 17
    assert value("stormwatch_pipeline_lag_seconds") == 0
    assert value("stormwatch_classify_possible_threats_total", scope="stadt") == 2


def test_two_metrics_instances_do_not_collide():
    Metrics(CollectorRegistry())
    Metrics(CollectorRegistry())


# -- a real server ---------------------------------------------------------------------------------------------


def test_playbook_page_from_a_real_uvicorn_server(fake_store, registry):
    app = create_app(settings=SETTINGS, playbooks=PLAYBOOKS, store=fake_store, metrics_registry=registry)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        response = httpx.get(f"http://127.0.0.1:{port}/playbooks/grosslage", timeout=5)
        assert response.status_code == 200
        assert "<h1>Großlage mit Informationsbedarf</h1>" in response.text
        assert "Wasser abkochen" in response.text
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"status": "ok"}
    finally:
        server.should_exit = True
        thread.join(timeout=10)
