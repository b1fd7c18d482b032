"""The alert message and its delivery: routing table, Apprise to a real local webhook and SMTP server, retries, log."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.alerting.message import alert_url, explain_signals, render_message, shorten
from monitor.alerting.notify import Notifier, select_targets
from monitor.config import NotificationSettings
from monitor.domain import AlertEvent, NotificationRecord, Sample
from monitor.playbooks import load_playbooks

try:
    from tests.receivers import HttpReceiver, SmtpReceiver, free_port
except ImportError:  # pytest run without the project root on sys.path: tests/ itself is there
    from receivers import HttpReceiver, SmtpReceiver, free_port  # type: ignore[no-redef]

PLAYBOOKS = load_playbooks(Path(__file__).resolve().parent.parent / "playbooks")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)
HOSTILE = "Die Schließung des Freibads ist ein Skandal! Wer hat sich diesen Unsinn ausgedacht? " * 3


def make_event(**changes) -> AlertEvent:
    event = AlertEvent(
        event="opened",
        alert_id="a-20260314-stadt-1",
        at=datetime(2026, 3, 14, 8, 50, tzinfo=timezone.utc),
        scope="stadt-musterstadt",
        kind="shitstorm",
        level=4,
        peak_level=4,
        playbook="empoerungswelle",
        playbook_url="https://stormwatch.musterstadt.de/playbooks/empoerungswelle",
        owners=["Social-Media-Redaktion: Anna Beispiel", "Pressestelle: Jonas Muster"],
        reason="Volumen 20-fach über üblich, überwiegend negativ",
        signals={
            "count": 142.0, "expected": 7.0, "volume_ratio": 20.28, "negative_share": 0.78,
            "usual_negative_share": 0.21, "toxic_share": 0.12, "platforms": 2.0,
        },
        top_terms=["freibad", "schließung", "sommer"],
        samples=[
            Sample("facebook", HOSTILE, None, 0.9, 0.2),
            Sample("instagram", "Typisch Stadtverwaltung, erst handeln, dann denken.", None, 0.8, 0.1),
            Sample("facebook", "Wir stehen bald vor eurer Tür.", None, 0.8, 0.6, possible_threat=True),
            Sample("facebook", "Ich bin enttäuscht.", None, 0.7, 0.0),
            Sample("facebook", "Vierte Stimme, die nicht mehr in die Nachricht passt.", None, 0.7, 0.0),
        ],
        opened_at=datetime(2026, 3, 14, 8, 50, tzinfo=timezone.utc),
    )
    return replace(event, **changes)


# -- the message ---------------------------------------------------------------------------------------------


def test_german_message_says_what_why_how_bad_and_who():
    title, body = render_message(make_event(), PLAYBOOKS["empoerungswelle"])
    assert title == "Alarm: Shitstorm bei stadt-musterstadt – Stufe 4"
    for expected in (
        "Alarm geöffnet: 14.03.2026 um 09:50 Uhr",  # 08:50 UTC is 09:50 in Berlin (CET)
        "Stufe 4 von 6 auf der Shitstorm-Skala: Protestgruppen / Echo auf allen Kanälen",
        "142 Beiträge (üblich: 7) – 20,3-fach; 78 % negativ (üblich 21 %); 12 % beleidigend/bedrohlich",
        "Begriffe: freibad, schließung, sommer",
        "Playbook: Empörungswelle (Shitstorm)",
        "https://stormwatch.musterstadt.de/playbooks/empoerungswelle",
        "Zuständig: Social-Media-Redaktion: Anna Beispiel; Pressestelle: Jonas Muster",
        "https://stormwatch.musterstadt.de/alerts/a-20260314-stadt-1",
    ):
        assert expected in body
    assert "Typisch Stadtverwaltung" in body and "„Wir stehen bald vor eurer Tür.“ (facebook) – mögliche Drohung" in body
    assert body.count("mögliche Drohung") == 1  # only the sample the classifier reads as a threat
    assert "Ich bin enttäuscht." not in body  # at most three samples
    assert HOSTILE.strip() not in body  # long samples are shortened
    assert max(len(line) for line in body.splitlines()) < 200


def test_english_message():
    event = make_event(event="escalated", level=5, peak_level=5)
    title, body = render_message(event, PLAYBOOKS["empoerungswelle"], language="en")
    assert title == "Escalation: Shitstorm at stadt-musterstadt – level 5"
    assert "Level 5 of 6 on the Shitstorm scale: storm" in body
    assert "20.3x; 78% negative (usual 21%)" in body
    assert "Playbook: Wave of outrage (shitstorm)" in body
    assert "\"Wir stehen bald vor eurer Tür.\" (facebook) – possible threat" in body


def test_resolved_message_keeps_peak_and_drops_samples():
    title, body = render_message(make_event(event="resolved", level=1, peak_level=5, signals={}), PLAYBOOKS["empoerungswelle"])
    assert title.startswith("Entwarnung:")
    assert "Höchststand bisher: Stufe 5" in body
    assert "Warum" not in body and "Stimmen" not in body


def test_question_surge_in_summer_time_and_missing_playbook():
    event = make_event(kind="question_surge", at=datetime(2026, 7, 1, 22, 5, tzinfo=timezone.utc), playbook="gibtsnicht")
    title, body = render_message(event, None)
    assert "Informationsbedarf (Großlage)" in title
    assert "02.07.2026 um 00:05 Uhr" in body  # CEST, past midnight
    assert "Playbook gibtsnicht nicht gefunden" in body


@pytest.mark.parametrize(
    "signals,expected",
    [
        ({}, ""),
        ({"count": 12.0}, "12 Beiträge"),
        ({"count": 30.0, "expected": 4.6, "window_minutes": 15.0}, "30 Beiträge in 15 Min. (üblich: 5)"),
        ({"volume_ratio": 3.0}, "3-fach"),
        ({"negative_share": 0.5}, "50 % negativ"),
        ({"question_share": 0.61, "platforms": 1.0}, "61 % Fragen; auf 1 Plattform"),
        ({"positive_share": 0.7, "new_author_share": 0.456}, "70 % positiv; 46 % neue Absender"),
        ({"toxic_share": 0.3, "threats": 1.0}, "30 % beleidigend/bedrohlich; 1 Beitrag mit möglicher Drohung – prüfen"),
        ({"toxic_share": 0.3, "threats": 4.0}, "30 % beleidigend/bedrohlich; 4 Beiträge mit möglicher Drohung – prüfen"),
        ({"toxic_share": 0.3, "threats": 0.0}, "30 % beleidigend/bedrohlich"),
    ],
)
def test_only_present_signals_are_explained(signals, expected):
    assert explain_signals(signals) == expected


def test_shorten_cuts_at_a_word_and_flattens_lines():
    assert shorten("kurz\nund  gut") == "kurz und gut"
    cut = shorten("wort " * 60)
    assert len(cut) <= 140 and cut.endswith("wort…")


def test_alert_url():
    assert alert_url("https://sw.example.de/", "a-1") == "https://sw.example.de/alerts/a-1"


# -- routing -------------------------------------------------------------------------------------------------


def settings(routes: list[dict], targets: list[dict] | None = None, retries: int = 2) -> NotificationSettings:
    targets = targets or [{"id": i, "url": f"json://127.0.0.1/{i}"} for i in ("team", "leitung", "presse", "polizei")]
    return NotificationSettings.model_validate({"targets": targets, "routes": routes, "retries": retries})


ROUTES = [
    {"targets": ["team"], "min_level": 3},
    {"targets": ["leitung", "team"], "min_level": 5, "events": ["opened", "escalated"]},
    {"targets": ["presse"], "scopes": ["stadt-musterstadt"], "kinds": ["shitstorm"], "min_level": 4},
    {"targets": ["polizei"], "kinds": ["question_surge"], "events": ["opened", "updated"]},
]


@pytest.mark.parametrize(
    "changes,expected",
    [
        ({}, {"team": "route 0: level 4 >= 3, event opened",
              "presse": "route 2: level 4 >= 4, scope stadt-musterstadt, kind shitstorm, event opened"}),
        ({"level": 2}, {}),
        ({"level": 6, "event": "escalated"}, {"team": "route 0: level 6 >= 3, event escalated",
                                              "leitung": "route 1: level 6 >= 5, event escalated",
                                              "presse": "route 2: level 6 >= 4, scope stadt-musterstadt, kind shitstorm, event escalated"}),
        ({"event": "updated"}, {}),
        ({"scope": "polizei-nrw"}, {"team": "route 0: level 4 >= 3, event opened"}),
        ({"kind": "question_surge", "level": 3}, {"team": "route 0: level 3 >= 3, event opened",
                                                 "polizei": "route 3: level 3 >= 0, kind question_surge, event opened"}),
        # the all-clear reaches whoever got the alarm: a resolved alert is judged by its peak level
        ({"event": "resolved", "level": 1, "peak_level": 4}, {"team": "route 0: peak level 4 >= 3, event resolved",
                                                             "presse": "route 2: peak level 4 >= 4, scope stadt-musterstadt, kind shitstorm, event resolved"}),
        ({"event": "resolved", "level": 0, "peak_level": 3}, {"team": "route 0: peak level 3 >= 3, event resolved"}),
    ],
)
def test_routing_table(changes, expected):
    chosen = select_targets(settings(ROUTES), make_event(**changes))
    assert {target.id: reason for target, reason in chosen} == expected


def test_a_target_is_chosen_once_with_the_first_matching_route():
    chosen = select_targets(settings(ROUTES), make_event(level=5, peak_level=5))
    assert [t.id for t, _ in chosen] == ["team", "leitung", "presse"]


def test_no_routes_no_targets():
    assert select_targets(settings([]), make_event()) == []


# -- delivery to real local receivers ------------------------------------------------------------------------


class Log:
    def __init__(self) -> None:
        self.records: list[NotificationRecord] = []
        self.sleeps: list[float] = []


def notifier(notification_settings: NotificationSettings, log: Log, environ: dict[str, str] | None = None) -> Notifier:
    return Notifier(
        notification_settings,
        PLAYBOOKS,
        record=log.records.append,
        zone=BERLIN,
        clock=lambda: NOW,
        environ=environ or {},
        sleep=log.sleeps.append,
    )


def mailto(port: int) -> str:
    # plain SMTP without TLS or login: mode=insecure, the sender from `from`, the recipient from `to`
    return f"mailto://127.0.0.1:{port}?mode=insecure&from=stormwatch@musterstadt.de&to=lagedienst@musterstadt.de"


def test_delivers_german_alert_to_webhook_and_mail():
    log = Log()
    with HttpReceiver() as webhook, SmtpReceiver() as smtp:
        targets = [
            {"id": "webhook", "url": f"json://127.0.0.1:{webhook.port}/hooks/${{HOOK_TOKEN}}"},
            {"id": "mail", "url": mailto(smtp.port)},
        ]
        config = settings([{"targets": ["webhook", "mail"], "min_level": 3}], targets)
        records = notifier(config, log, {"HOOK_TOKEN": "geheim-123"}).deliver(make_event())

    assert [(r.target_id, r.success, r.attempts) for r in records] == [("webhook", True, 1), ("mail", True, 1)]
    assert log.records == records and log.sleeps == []

    [post] = webhook.posts
    assert post.path == "/hooks/geheim-123"
    assert post.json["title"] == "Alarm: Shitstorm bei stadt-musterstadt – Stufe 4"
    message = post.json["message"]
    for expected in (
        "Stufe 4 von 6", "stadt-musterstadt", "142 Beiträge (üblich: 7) – 20,3-fach", "78 % negativ (üblich 21 %)",
        "https://stormwatch.musterstadt.de/playbooks/empoerungswelle", "Pressestelle: Jonas Muster",
        "„Typisch Stadtverwaltung, erst handeln, dann denken.“",
    ):
        assert expected in message

    [mail] = smtp.mails
    assert mail.rcpt_tos == ["lagedienst@musterstadt.de"]
    assert mail.subject == "Alarm: Shitstorm bei stadt-musterstadt – Stufe 4"
    assert "Stufe 4 von 6 auf der Shitstorm-Skala: Protestgruppen / Echo auf allen Kanälen" in mail.body
    assert "Begriffe: freibad, schließung, sommer" in mail.body  # umlauts and ß intact
    assert "Zuständig: Social-Media-Redaktion: Anna Beispiel" in mail.body


def test_english_target_gets_english_message():
    log = Log()
    with HttpReceiver() as webhook:
        config = settings([{"targets": ["en"]}], [{"id": "en", "url": f"json://127.0.0.1:{webhook.port}/", "language": "en"}])
        notifier(config, log).deliver(make_event())
    assert webhook.posts[0].json["title"] == "Alert: Shitstorm at stadt-musterstadt – level 4"


def test_failing_target_is_retried_and_logged_while_others_get_the_message():
    log = Log()
    dead = free_port()
    with HttpReceiver() as webhook:
        targets = [
            {"id": "kaputt", "url": f"json://127.0.0.1:{dead}/hook"},
            {"id": "team", "url": f"json://127.0.0.1:{webhook.port}/hook"},
        ]
        config = settings([{"targets": ["kaputt", "team"]}], targets, retries=2)
        records = notifier(config, log).deliver(make_event())

    failed, delivered = records
    assert (failed.target_id, failed.success, failed.attempts) == ("kaputt", False, 3)
    assert failed.error and "127.0.0.1" in failed.error
    assert failed.reason == "route 0: level 4 >= 0, event opened"
    assert failed.at == NOW
    assert len(log.sleeps) == 2 and all(0 < s <= 5 for s in log.sleeps)
    assert (delivered.target_id, delivered.success) == ("team", True)
    assert len(webhook.posts) == 1


def test_webhook_answering_500_counts_as_failure():
    log = Log()
    with HttpReceiver(status=500) as webhook:
        config = settings([{"targets": ["t"]}], [{"id": "t", "url": f"json://127.0.0.1:{webhook.port}/"}], retries=1)
        [record] = notifier(config, log).deliver(make_event())
    assert not record.success and record.attempts == 2 and len(webhook.posts) == 2


def test_missing_secret_is_a_failed_record_not_an_exception():
    log = Log()
    config = settings([{"targets": ["t"]}], [{"id": "t", "url": "json://127.0.0.1:1/${UNSET_TOKEN}"}])
    [record] = notifier(config, log).deliver(make_event())
    assert not record.success and record.attempts == 0
    assert record.error == "not sent: environment variable UNSET_TOKEN is not set"
    assert log.records == [record]


def test_secrets_never_reach_the_records():
    log = Log()
    dead = free_port()
    targets = [
        {"id": "env", "url": f"json://bot:${{HOOK_PASSWORD}}@127.0.0.1:{dead}/${{HOOK_TOKEN}}"},
        {"id": "inline", "url": f"json://bot:klartext-passwort@127.0.0.1:{dead}/x"},
    ]
    config = settings([{"targets": ["env", "inline"]}], targets, retries=0)
    records = notifier(config, log, {"HOOK_TOKEN": "token-4711", "HOOK_PASSWORD": "pw-0815"}).deliver(make_event())
    assert [r.success for r in records] == [False, False]
    text = repr(records)
    for secret in ("token-4711", "pw-0815", "klartext-passwort"):
        assert secret not in text
    assert records[0].target == f"json://bot:***@127.0.0.1:{dead}/***"


def test_unknown_schema_fails_cleanly():
    log = Log()
    config = settings([{"targets": ["t"]}], [{"id": "t", "url": "gibtsnicht://irgendwo"}], retries=1)
    [record] = notifier(config, log).deliver(make_event())
    assert not record.success and "does not accept" in (record.error or "")


def test_failing_record_store_does_not_stop_delivery():
    def broken_store(record: NotificationRecord) -> None:
        raise RuntimeError("database is locked")

    with HttpReceiver() as webhook:
        config = settings([{"targets": ["a", "b"]}], [
            {"id": "a", "url": f"json://127.0.0.1:{webhook.port}/a"},
            {"id": "b", "url": f"json://127.0.0.1:{webhook.port}/b"},
        ])
        sender = Notifier(config, PLAYBOOKS, record=broken_store, zone=BERLIN, clock=lambda: NOW, environ={})
        records = sender.deliver(make_event())
    assert [r.success for r in records] == [True, True] and len(webhook.posts) == 2


def test_threats_are_explained_in_english_too():
    assert explain_signals({"toxic_share": 0.3, "threats": 2.0}, "en") == (
        "30% insulting/threatening; 2 posts with a possible threat – check them")
