"""Configuration: one YAML file validated on load, defaults declared once, errors naming file, key and problem."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from datetime import datetime

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_DATABASE_URL = "STORMWATCH_DATABASE_URL"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ID = r"^[a-z0-9][a-z0-9_-]*$"


class ConfigError(Exception):
    """A configuration that cannot be used; `problems` holds one line per key."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class Strict(BaseModel):
    # Unknown keys are errors: a typo in a threshold must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretUrl(str):
    """An Apprise URL that may reference environment variables as ${NAME}.

    The stored value is the template; `resolve()` substitutes at send time, and
    `masked()` is what may be printed or logged.
    """

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(cls, core_schema.str_schema())

    def __repr__(self) -> str:
        return f"SecretUrl({self.masked()!r})"

    def env_names(self) -> list[str]:
        return _ENV_REF.findall(self)

    def resolve(self, environ: dict[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise KeyError(f"environment variable {name} is not set")
            return env[name]

        return _ENV_REF.sub(substitute, self)

    def masked(self) -> str:
        text = _ENV_REF.sub("***", self)
        # user:password@ written inline (discouraged, but possible) is hidden too
        return re.sub(r"(://[^:/@?#]+:)[^@/?#]+@", r"\1***@", text)


class DatabaseSettings(Strict):
    url: str = Field("sqlite:///stormwatch.db", description="SQLAlchemy URL; STORMWATCH_DATABASE_URL overrides it")


class PrivacySettings(Strict):
    pseudonym_key_env: str = Field(
        "STORMWATCH_PSEUDONYM_KEY", description="environment variable holding the HMAC key for author pseudonyms"
    )
    pseudonym_key_fallback: str | None = Field(
        None, description="key used when the variable is unset; only for demos, never in production"
    )
    raw_text_days: int = Field(30, ge=0, description="days after which a mention's text is erased (0 = keep none)")
    mention_days: int = Field(365, ge=1, description="days after which mentions are deleted")
    bucket_days: int = Field(730, ge=1, description="days after which aggregated buckets are deleted")


class WebSettings(Strict):
    base_url: str = Field("http://localhost:8080", description="public address used in alert links")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)


class ClassifierSettings(Strict):
    model: str | None = Field(None, description="model directory; empty = the shipped default model")
    use_corrections: bool = Field(
        True, description="classify with the model adapted from staff corrections (`stormwatch correct`) when there is one"
    )
    adapted_model: str | None = Field(
        None, description="directory of the adapted model; empty = next to a SQLite database file"
    )
    abuse_terms: Path | None = Field(
        None, description="TSV file of the deployment's own abuse terms (format of detectors/data/abuse_de.tsv), "
                          "added to the model's abuse lexicon without retraining; relative to this file"
    )


class DetectionSettings(Strict):
    """Detector thresholds. The defaults are the documented storm-level mapping (docs/storm-levels.md)."""

    bucket_minutes: int = Field(5, ge=1, le=1440)
    baseline_halflife_days: float = Field(7.0, gt=0, description="how fast the seasonal baseline forgets")
    warmup_hours: float = Field(12.0, ge=0, description="no alert before the scope has been watched this long")
    min_count: int = Field(10, ge=1, description="a bucket or window needs at least this many mentions to be a surge")
    min_z: float = Field(4.0, ge=0, description="how many standard deviations above the baseline a surge must be")
    volume_ratio_levels: list[float] = Field(
        [1.5, 2.0, 3.0, 5.0, 8.0, 12.0], description="volume / seasonal baseline needed for levels 1..6"
    )
    negative_share_min: float = Field(0.50, ge=0, le=1, description="negative share needed for a Shitstorm level >= 2")
    negative_share_lift: float = Field(0.15, ge=0, le=1, description="negative share must exceed the usual share by this")
    toxic_share_hurricane: float = Field(0.25, ge=0, le=1, description="toxic share that allows level 6")
    question_share_min: float = Field(0.40, ge=0, le=1, description="question share that makes a surge a question surge")
    positive_share_min: float = Field(0.50, ge=0, le=1, description="positive share that makes a surge a Candystorm")
    kind_share_lift: float = Field(
        0.20, ge=0, le=1, description="question or positive share must exceed the scope's usual share by this"
    )
    kind_share_z: float = Field(
        3.0, ge=0, description="... and by more than chance allows for the number of mentions (binomial z-score)"
    )
    negative_z: float = Field(
        1.0, ge=0, description="the raised negative share must also be beyond chance for that many mentions (z-score)"
    )
    signal_z: float = Field(
        3.0, ge=0, description="z-score at which a corroborating signal (new authors, copy-paste, spread, toxic) fires"
    )
    open_level: int = Field(3, ge=1, le=6, description="storm level at which an alert opens")
    candystorm_open_level: int = Field(
        4, ge=1, le=6, description="level at which a Candystorm (wave of praise) alert opens; good news can wait"
    )
    resolve_level: int = Field(1, ge=0, le=5, description="level at or below which an alert starts to calm down")
    resolve_after_buckets: int = Field(12, ge=1, description="consecutive calm buckets before an alert resolves")
    update_after_buckets: int = Field(
        3, ge=1, description="a lower level must hold this many buckets before a de-escalation update is sent"
    )
    new_wave_after_buckets: int = Field(
        6, ge=1, description="calm buckets after which a renewed surge on an open alert is a new wave (escalation)"
    )
    volume_escalation: float = Field(
        2.0, gt=1, description="an open alert escalates when mentions per bucket reach this multiple of the last report"
    )

    @model_validator(mode="after")
    def _levels_ordered(self) -> "DetectionSettings":
        ratios = self.volume_ratio_levels
        if len(ratios) != 6 or any(b < a for a, b in zip(ratios, ratios[1:])):
            raise ValueError("volume_ratio_levels must be 6 non-decreasing ratios, one per level 1..6")
        if self.resolve_level >= self.open_level:
            raise ValueError("resolve_level must be below open_level (hysteresis)")
        return self


class Account(Strict):
    platform: str
    handle: str


class Scope(Strict):
    id: str = Field(pattern=_ID)
    name: str | None = None
    kind: Literal["account", "term", "topic"] = "account"
    accounts: list[Account] = []
    terms: list[str] = []
    detection: dict[str, Any] = Field({}, description="overrides of detection settings for this scope")


class FileReplayCollector(Strict):
    type: Literal["file_replay"]
    name: str = Field(pattern=_ID)
    path: Path
    format: Literal["jsonl", "csv"] | None = Field(None, description="default: from the file extension")
    scope: str | None = Field(None, description="scope for rows that carry none")
    speed: float = Field(0.0, ge=0, description="0 = as fast as possible; 60 = one minute of stream per second")


Collector = FileReplayCollector


class Owner(Strict):
    name: str
    contact: str | None = Field(None, description="how colleagues reach this owner (shown in the incident page)")


class Role(Strict):
    id: str = Field(pattern=_ID)
    name: str
    owners: list[Owner] = Field(min_length=1)


class NotificationTarget(Strict):
    id: str = Field(pattern=_ID)
    url: SecretUrl = Field(description="Apprise URL; write secrets as ${ENV_VAR}")
    language: Literal["de", "en"] = "de"

    @field_validator("url")
    @classmethod
    def _looks_like_url(cls, value: SecretUrl) -> SecretUrl:
        if "://" not in value:
            raise ValueError("must be an Apprise URL such as mailto://... or json://host/path")
        return value


class NotificationRoute(Strict):
    targets: list[str] = Field(min_length=1)
    min_level: int = Field(0, ge=0, le=6)
    scopes: list[str] = Field([], description="empty = every scope")
    kinds: list[str] = Field([], description="empty = every alert kind")
    events: list[Literal["opened", "updated", "escalated", "resolved"]] = ["opened", "escalated", "resolved"]


class NotificationSettings(Strict):
    targets: list[NotificationTarget] = []
    routes: list[NotificationRoute] = []
    retries: int = Field(2, ge=0, le=10)


class PlaybookMatch(Strict):
    kinds: list[str] = []
    scopes: list[str] = []
    min_level: int = Field(0, ge=0, le=6)
    min_toxic_share: float = Field(0.0, ge=0, le=1)
    terms_any: list[str] = Field([], description="any of these among the alert's top terms")


class PlaybookRule(Strict):
    playbook: str = Field(pattern=_ID)
    when: PlaybookMatch = PlaybookMatch()


class PlannedEvent(Strict):
    """An expected spike (council live stream, election night, press conference): its volume does not alert."""

    name: str
    scopes: list[str] = Field([], description="empty = every scope")
    start: datetime = Field(description="ISO 8601; without an offset it is read in the configured time zone")
    end: datetime
    expected_volume_factor: float = Field(3.0, ge=1.0, le=100.0, description="how many times the usual volume to expect")

    @model_validator(mode="after")
    def _ordered(self) -> "PlannedEvent":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Settings(Strict):
    timezone: str = "Europe/Berlin"
    language: Literal["de", "en"] = "de"
    database: DatabaseSettings = DatabaseSettings()
    privacy: PrivacySettings = PrivacySettings()
    web: WebSettings = WebSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    detection: DetectionSettings = DetectionSettings()
    scopes: list[Scope] = []
    planned_events: list[PlannedEvent] = []
    collectors: list[Collector] = []
    roles: list[Role] = []
    notifications: NotificationSettings = NotificationSettings()
    playbooks_dir: Path = Field(Path("playbooks"), description="relative paths are relative to the config file")
    playbook_rules: list[PlaybookRule] = []
    default_playbook: str = Field("empoerungswelle", pattern=_ID)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
        return value

    @model_validator(mode="after")
    def _events_in_zone(self) -> "Settings":
        zone = ZoneInfo(self.timezone)
        localised = [
            event.model_copy(
                update={
                    "start": event.start if event.start.tzinfo else event.start.replace(tzinfo=zone),
                    "end": event.end if event.end.tzinfo else event.end.replace(tzinfo=zone),
                }
            )
            for event in self.planned_events
        ]
        object.__setattr__(self, "planned_events", localised)  # frozen model: set once, during validation
        return self

    def planned_factor(self, scope: str, start: datetime, end: datetime) -> float:
        """The expected-volume factor of planned events overlapping [start, end) in this scope (1.0 if none)."""
        factor = 1.0
        for event in self.planned_events:
            if (not event.scopes or scope in event.scopes) and event.start < end and start < event.end:
                factor = max(factor, event.expected_volume_factor)
        return factor

    @model_validator(mode="after")
    def _references_exist(self) -> "Settings":
        target_ids = {t.id for t in self.notifications.targets}
        for i, route in enumerate(self.notifications.routes):
            for target in route.targets:
                if target not in target_ids:
                    raise ValueError(f"notifications.routes.{i}.targets: unknown target {target!r}")
        for kind, ids in (("scope", [s.id for s in self.scopes]), ("role", [r.id for r in self.roles])):
            duplicates = sorted({x for x in ids if ids.count(x) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} id(s): {', '.join(duplicates)}")
        for scope in self.scopes:
            try:
                DetectionSettings.model_validate({**self.detection.model_dump(), **scope.detection})
            except ValidationError as exc:
                raise ValueError(f"scopes.{scope.id}.detection: {_first_message(exc)}") from None
        return self

    # -- derived views -------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def detection_for(self, scope: str) -> DetectionSettings:
        """The detection settings of a scope: its overrides on top of the defaults (undeclared scopes get defaults)."""
        for declared in self.scopes:
            if declared.id == scope and declared.detection:
                return DetectionSettings.model_validate({**self.detection.model_dump(), **declared.detection})
        return self.detection

    def owners_of(self, role_ids: list[str]) -> list[str]:
        by_id = {r.id: r for r in self.roles}
        names: list[str] = []
        for role_id in role_ids:
            role = by_id.get(role_id)
            if role is None:
                continue
            for owner in role.owners:
                label = f"{role.name}: {owner.name}"
                if label not in names:
                    names.append(label)
        return names


def _first_message(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def _format_errors(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        lines.append(f"{key}: {message}")
    return lines


def load_settings(path: str | os.PathLike[str], environ: dict[str, str] | None = None) -> Settings:
    """Read and validate a configuration file; raise ConfigError naming the file, key and problem."""
    source = str(path)
    env = os.environ if environ is None else environ
    try:
        raw_text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [f"not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise ConfigError(source, [f"cannot read: {exc.strerror}"]) from None
    try:
        data = yaml.safe_load(raw_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(source, [f"{where}invalid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, ["(top level): must be a mapping of keys to values"])
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, _format_errors(exc)) from None
    return _with_environment(settings, Path(path), env)


def _with_environment(settings: Settings, path: Path, env: dict[str, str] | os._Environ[str]) -> Settings:
    base = path.resolve().parent
    updates: dict[str, Any] = {}
    if not settings.playbooks_dir.is_absolute():
        updates["playbooks_dir"] = (base / settings.playbooks_dir).resolve()
    collectors = [
        c.model_copy(update={"path": (base / c.path).resolve()}) if not c.path.is_absolute() else c for c in settings.collectors
    ]
    updates["collectors"] = collectors
    terms = settings.classifier.abuse_terms
    if terms is not None and not terms.is_absolute():
        updates["classifier"] = settings.classifier.model_copy(update={"abuse_terms": (base / terms).resolve()})
    url = env.get(ENV_DATABASE_URL) or settings.database.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        # a relative SQLite file lives next to the config, not wherever the service was started
        url = "sqlite:///" + str((base / url.removeprefix("sqlite:///")).resolve())
    updates["database"] = settings.database.model_copy(update={"url": url})
    return settings.model_copy(update=updates)


def check_settings(settings: Settings, source: str, environ: dict[str, str] | None = None) -> list[str]:
    """Problems that validation alone cannot see: playbooks that do not exist, unset secrets."""
    from monitor.playbooks import PlaybookError, load_playbooks  # late import: playbooks import config types

    env = os.environ if environ is None else environ
    problems: list[str] = []
    try:
        playbooks = load_playbooks(settings.playbooks_dir)
    except PlaybookError as exc:
        return [f"playbooks_dir: {exc}"]
    known = set(playbooks)
    referenced = [("default_playbook", settings.default_playbook)] + [
        (f"playbook_rules.{i}.playbook", rule.playbook) for i, rule in enumerate(settings.playbook_rules)
    ]
    for key, playbook_id in referenced:
        if playbook_id not in known:
            problems.append(f"{key}: unknown playbook {playbook_id!r} (known: {', '.join(sorted(known))})")
    role_ids = {r.id for r in settings.roles}
    for playbook in playbooks.values():
        for role in playbook.roles:
            if role.id not in role_ids:
                problems.append(f"roles: playbook {playbook.id!r} needs role {role.id!r}, which has no owners")
    for i, target in enumerate(settings.notifications.targets):
        for name in target.url.env_names():
            if name not in env:
                problems.append(f"notifications.targets.{i}.url: environment variable {name} is not set")
    if settings.classifier.abuse_terms is not None:
        from detectors.abuse_lexicon import AbuseTermsError, load_local_terms

        try:
            load_local_terms(settings.classifier.abuse_terms)
        except AbuseTermsError as exc:
            problems.append(f"classifier.abuse_terms: {exc}")
    privacy = settings.privacy
    key = env.get(privacy.pseudonym_key_env) or privacy.pseudonym_key_fallback
    if not key:
        problems.append(f"privacy.pseudonym_key_env: environment variable {privacy.pseudonym_key_env} is not set")
    elif len(key) < 16:
        problems.append("privacy: the pseudonym key must have at least 16 characters")
    return [f"{source}: {p}" for p in problems]
