"""Crisis playbooks: YAML files validated on load, and the pure rule that picks one for an alert."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from monitor.config import PlaybookRule

_ID = r"^[a-z0-9][a-z0-9_-]*$"
LANGUAGES = ("de", "en")


class PlaybookError(Exception):
    """Playbooks that cannot be used; the message names the file, the key and the problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Strict(BaseModel):
    # Unknown keys are errors: a misspelt "detials" must not silently vanish from the page.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A user-facing text, German first, with its English version."""

    de: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.de


class TextList(_Strict):
    de: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)

    def get(self, language: str) -> list[str]:
        return self.en if language == "en" else self.de


class PlaybookRole(_Strict):
    id: str = Field(pattern=_ID, description="resolved to owners through the configuration's roles")
    name: Text
    duties: Text


class Step(_Strict):
    id: str = Field(pattern=_ID)
    title: Text
    role: str
    due_minutes: int = Field(ge=0, description="target time after the alert opened")
    details: Text


class Reference(_Strict):
    title: str = Field(min_length=1)
    url: str

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        return value


class Playbook(_Strict):
    id: str = Field(pattern=_ID)
    version: int = Field(ge=1)
    title: Text
    kinds: list[Literal["shitstorm", "question_surge", "candystorm"]] = Field(min_length=1)
    summary: Text
    roles: list[PlaybookRole] = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)
    holding_statement: Text
    do_not: TextList
    escalation: Text
    references: list[Reference] = []

    @model_validator(mode="after")
    def _consistent(self) -> "Playbook":
        role_ids = [r.id for r in self.roles]
        step_ids = [s.id for s in self.steps]
        for kind, ids in (("role", role_ids), ("step", step_ids)):
            duplicates = sorted({x for x in ids if ids.count(x) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} id(s): {', '.join(duplicates)}")
        for i, step in enumerate(self.steps):
            if step.role not in role_ids:
                raise ValueError(f"steps.{i}.role: {step.role!r} is not among this playbook's roles")
        return self

    def text(self, field: str, language: str = "de") -> str:
        """One user-facing field in a language (German for anything but "en"); lists come one item a line."""
        value = getattr(self, field, None)
        if isinstance(value, Text):
            return value.get(language)
        if isinstance(value, TextList):
            return "\n".join(value.get(language))
        raise KeyError(f"{field!r} is not a text field of a playbook")

    def role(self, role_id: str) -> PlaybookRole | None:
        return next((r for r in self.roles if r.id == role_id), None)


def load_playbook(path: Path) -> Playbook:
    """Read and validate one playbook file; raise PlaybookError naming the file, key and problem."""
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise PlaybookError([f"{source}: not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise PlaybookError([f"{source}: cannot read: {exc.strerror}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise PlaybookError([f"{source}: {where}invalid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise PlaybookError([f"{source}: (top level): must be a mapping of keys to values"])
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        raise PlaybookError([f"{source}: {line}" for line in _format_errors(exc)]) from None
    if playbook.id != path.stem:
        raise PlaybookError([f"{source}: id: {playbook.id!r} must equal the file name {path.stem!r}"])
    return playbook


def load_playbooks(directory: Path) -> dict[str, Playbook]:
    """All playbooks (*.yaml) of a directory by id; every broken file is reported, not just the first."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PlaybookError([f"{directory}: not a directory"])
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise PlaybookError([f"{directory}: no playbooks (*.yaml) found"])
    playbooks: dict[str, Playbook] = {}
    problems: list[str] = []
    for path in paths:
        try:
            playbook = load_playbook(path)
        except PlaybookError as exc:
            problems.extend(exc.problems)
            continue
        if playbook.id in playbooks:
            # only reachable on case-insensitive file systems or with symlinks, but then it must not pass silently
            problems.append(f"{path}: id: duplicate playbook id {playbook.id!r}")
            continue
        playbooks[playbook.id] = playbook
    if problems:
        raise PlaybookError(problems)
    return playbooks


def _format_errors(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{key}: {message}")
    return lines


def _term(value: str) -> str:
    return value.strip().lstrip("#").casefold()


def rule_matches(
    rule: PlaybookRule, *, kind: str, scope: str, level: int, toxic_share: float, top_terms: list[str]
) -> bool:
    """A rule matches when every condition it states holds; conditions left empty hold always."""
    when = rule.when
    terms = {_term(t) for t in top_terms}
    return (
        (not when.kinds or kind in when.kinds)
        and (not when.scopes or scope in when.scopes)
        and level >= when.min_level
        and toxic_share >= when.min_toxic_share
        and (not when.terms_any or any(_term(t) in terms for t in when.terms_any))
    )


def choose_playbook(
    rules: list[PlaybookRule],
    default: str,
    *,
    kind: str,
    scope: str,
    level: int,
    toxic_share: float,
    top_terms: list[str],
) -> str:
    """The playbook of the first matching rule, else the default.

    >>> from monitor.config import PlaybookMatch
    >>> rules = [PlaybookRule(playbook="hassrede", when=PlaybookMatch(min_toxic_share=0.2))]
    >>> choose_playbook(rules, "empoerungswelle", kind="shitstorm", scope="s", level=4, toxic_share=0.3, top_terms=[])
    'hassrede'
    """
    for rule in rules:
        if rule_matches(rule, kind=kind, scope=scope, level=level, toxic_share=toxic_share, top_terms=top_terms):
            return rule.playbook
    return default
