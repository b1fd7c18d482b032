"""Configuration: the shipped files validate, broken ones name the file, the key and the problem."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.config import ConfigError, SecretUrl, load_settings

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path, data, name="c.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_demo_config_loads_and_resolves_paths():
    settings = load_settings(ROOT / "config" / "demo.yaml", environ={})
    assert settings.playbooks_dir == ROOT / "playbooks"
    assert settings.database.url == "sqlite:///" + str(ROOT / "var" / "demo.db")
    assert {s.id for s in settings.scopes} == {"stadt-birkenfelde", "stadtwerke-birkenfelde", "birkenfelde-erwaehnungen"}


def test_environment_overrides_database_url(tmp_path):
    path = _write(tmp_path, {"database": {"url": "sqlite:///x.db"}})
    settings = load_settings(path, environ={"STORMWATCH_DATABASE_URL": "postgresql+psycopg://db/stormwatch"})
    assert settings.database.url == "postgresql+psycopg://db/stormwatch"


def test_undeclared_scope_gets_defaults_and_overrides_apply(tmp_path):
    path = _write(tmp_path, {"detection": {"min_count": 10}, "scopes": [{"id": "polizei", "detection": {"min_count": 4}}]})
    settings = load_settings(path, environ={})
    assert settings.detection_for("polizei").min_count == 4
    assert settings.detection_for("never-declared").min_count == 10


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("detection: {open_levl: 3}\n", "detection.open_levl: Extra inputs are not permitted"),
        ("detection: {open_level: nine}\n", "detection.open_level: Input should be a valid integer"),
        ("detection: {open_level: 2, resolve_level: 2}\n", "resolve_level must be below open_level"),
        ("timezone: Mars/Olympus\n", "timezone: unknown time zone"),
        ("scopes: [{id: 'Bad Scope'}]\n", "scopes.0.id: String should match pattern"),
        ("scopes: [{id: a}, {id: a}]\n", "duplicate scope id(s): a"),
        ("notifications: {targets: [{id: t, url: 'no-scheme'}]}\n", "notifications.targets.0.url: must be an Apprise URL"),
        ("notifications: {routes: [{targets: [ghost]}]}\n", "unknown target 'ghost'"),
        ("scopes: [{id: a, detection: {min_count: 0}}]\n", "scopes.a.detection: min_count"),
        ("detection: [1, 2]\n", "detection: Input should be a valid dictionary"),
        ("- just a list\n", "(top level): must be a mapping"),
        ("detection: {open_level: 3\n", "invalid YAML"),
    ],
)
def test_broken_config_names_file_key_and_problem(tmp_path, content, fragment):
    path = _write(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert str(path) in message and fragment in message, message


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: Stra\xdfe\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(bad)


def test_secret_urls_are_masked():
    url = SecretUrl("mailtos://${SMTP_USER}:${SMTP_PASSWORD}@mail.example.org?to=a@example.org")
    assert url.masked() == "mailtos://***:***@mail.example.org?to=a@example.org"
    assert url.resolve({"SMTP_USER": "u", "SMTP_PASSWORD": "geheim"}).startswith("mailtos://u:geheim@")
    assert "geheim" not in SecretUrl("json://user:geheim@host/x").masked()
    with pytest.raises(KeyError, match="SMTP_USER"):
        url.resolve({})


def _check_config(path, env=None):
    return subprocess.run(
        [sys.executable, "-m", "monitor.cli", "check-config", str(path)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})},
    )


def test_check_config_command_accepts_the_shipped_configs():
    for name in ("demo.yaml", "example.yaml"):
        env = {"SMTP_USER": "u", "SMTP_PASSWORD": "p", "STORMWATCH_PSEUDONYM_KEY": "k" * 32, "TEAMS_WEBHOOK": "x/y/z"}
        result = _check_config(ROOT / "config" / name, env)
        assert result.returncode == 0, result.stderr
        assert "ok" in result.stdout


def test_check_config_command_reports_semantic_problems(tmp_path):
    path = _write(tmp_path, {
        "playbooks_dir": str(ROOT / "playbooks"),
        "default_playbook": "gibt-es-nicht",
        "notifications": {"targets": [{"id": "m", "url": "mailto://${NOT_SET_ANYWHERE}@x"}]},
    })
    result = _check_config(path)
    assert result.returncode == 1
    assert f"{path}: default_playbook: unknown playbook 'gibt-es-nicht'" in result.stderr
    assert "NOT_SET_ANYWHERE is not set" in result.stderr
    broken = _write(tmp_path, "detection: {open_levl: 3}\n", "broken.yaml")
    result = _check_config(broken)
    assert result.returncode == 1 and "detection.open_levl" in result.stderr and str(broken) in result.stderr


def _keys(model, prefix=""):
    from pydantic import BaseModel

    for name, field in model.model_fields.items():
        yield prefix + name
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _keys(annotation, prefix + name + ".")


def test_example_config_documents_every_key():
    from monitor.config import Settings

    text = (ROOT / "config" / "example.yaml").read_text(encoding="utf-8")
    missing = [key for key in _keys(Settings) if f"{key.rsplit('.', 1)[-1]}:" not in text]
    assert missing == []


def test_planned_events_are_read_in_the_configured_zone_and_overlap_buckets(tmp_path):
    from datetime import datetime, timedelta, timezone

    path = _write(tmp_path, {"planned_events": [
        {"name": "Ratssitzung", "scopes": ["stadt"], "start": "2026-03-19T17:00:00", "end": "2026-03-19T21:00:00",
         "expected_volume_factor": 4},
        {"name": "Wahlabend", "start": "2026-03-19T18:00:00+01:00", "end": "2026-03-19T23:00:00+01:00"},
    ]})
    settings = load_settings(path, environ={})
    utc = timezone.utc
    assert settings.planned_events[0].start == datetime(2026, 3, 19, 16, 0, tzinfo=utc)  # CET
    def five(hour, minute):
        start = datetime(2026, 3, 19, hour, minute, tzinfo=utc)
        return start, start + timedelta(minutes=5)

    assert settings.planned_factor("stadt", *five(16, 0)) == 4.0
    assert settings.planned_factor("stadt", *five(15, 55)) == 1.0
    assert settings.planned_factor("polizei", *five(17, 0)) == 3.0  # the election night applies to every scope
    broken = _write(tmp_path, {"planned_events": [{"name": "x", "start": "2026-03-19T18:00", "end": "2026-03-19T17:00"}]},
                    "broken.yaml")
    with pytest.raises(ConfigError, match="planned_events.0: Value error, end must be after start|end must be after start"):
        load_settings(broken, environ={})
