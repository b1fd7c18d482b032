"""Playbooks: the shipped files are valid and complete, broken files are reported by file and key, rules choose."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.config import PlaybookMatch, PlaybookRule
from monitor.playbooks import PlaybookError, choose_playbook, load_playbooks

PLAYBOOKS = Path(__file__).resolve().parent.parent / "playbooks"
REQUIRED = {"empoerungswelle", "hassrede", "falschinformation", "grosslage", "candystorm"}
ROLE_IDS = {"social_media", "pressestelle", "behoerdenleitung", "justiziariat", "fachamt", "krisenstab"}


@pytest.fixture(scope="module")
def shipped():
    return load_playbooks(PLAYBOOKS)


def test_shipped_playbooks_load(shipped):
    assert REQUIRED <= set(shipped)


def test_shipped_playbooks_use_the_agreed_role_ids(shipped):
    for playbook in shipped.values():
        assert {r.id for r in playbook.roles} <= ROLE_IDS, playbook.id


def test_every_alert_kind_has_a_playbook(shipped):
    covered = {kind for p in shipped.values() for kind in p.kinds}
    assert covered == {"shitstorm", "question_surge", "candystorm"}


def test_shipped_playbooks_are_bilingual_and_ordered(shipped):
    for playbook in shipped.values():
        for field in ("title", "summary", "holding_statement", "escalation", "do_not"):
            assert playbook.text(field, "de") and playbook.text(field, "en"), (playbook.id, field)
        assert playbook.text("title", "de") != playbook.text("title", "en") or playbook.id == "candystorm"
        assert len(playbook.do_not.de) == len(playbook.do_not.en), playbook.id
        dues = [s.due_minutes for s in playbook.steps]
        assert dues == sorted(dues), f"{playbook.id}: steps should be ordered by their target time"


def test_hate_speech_playbook_keeps_the_practitioners_essentials(shipped):
    text = " ".join(
        [shipped["hassrede"].text("summary", "de")]
        + [f"{s.title.de} {s.details.de}" for s in shipped["hassrede"].steps]
        + [r.title for r in shipped["hassrede"].references]
    )
    for essential in ("Screenshot", "Strafanzeige", "Netiquette", "HessenGegenHetze", "REspect!"):
        assert essential in text


def test_text_falls_back_to_german_and_rejects_unknown_fields(shipped):
    playbook = shipped["empoerungswelle"]
    assert playbook.text("title", "fr") == "Empörungswelle (Shitstorm)"
    with pytest.raises(KeyError):
        playbook.text("steps", "de")


# -- broken files --------------------------------------------------------------------------------------------


def _valid() -> dict:
    return yaml.safe_load((PLAYBOOKS / "candystorm.yaml").read_text(encoding="utf-8"))


def _write(directory: Path, name: str, data: dict | str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _breaks(mutate) -> dict:
    data = _valid()
    mutate(data)
    return data


BROKEN = [
    ("unknown top-level key", lambda d: d.update(colour="red"), "colour: unknown key"),
    ("misspelt nested key", lambda d: d["steps"][0].update(detials={"de": "x", "en": "y"}), "steps.0.detials: unknown key"),
    ("missing English", lambda d: d["title"].pop("en"), "title.en: Field required"),
    ("unknown kind", lambda d: d.update(kinds=["firestorm"]), "kinds.0"),
    ("no kinds", lambda d: d.update(kinds=[]), "kinds:"),
    ("step role not declared", lambda d: d["steps"][0].update(role="krisenstab"), "steps.0.role: 'krisenstab'"),
    ("negative due time", lambda d: d["steps"][0].update(due_minutes=-5), "steps.0.due_minutes"),
    ("duplicate step id", lambda d: d["steps"].append(dict(d["steps"][0])), "duplicate step id(s): anlass-verstehen"),
    ("reference without scheme", lambda d: d.update(references=[{"title": "x", "url": "example.org"}]), "references.0.url"),
    ("missing holding statement", lambda d: d.pop("holding_statement"), "holding_statement: Field required"),
]


@pytest.mark.parametrize("label,mutate,expected", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_playbook_names_file_and_key(tmp_path, label, mutate, expected):
    path = _write(tmp_path, "candystorm", _breaks(mutate))
    with pytest.raises(PlaybookError) as caught:
        load_playbooks(tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message


def test_id_must_equal_file_name(tmp_path):
    _write(tmp_path, "lobeswelle", _valid())
    with pytest.raises(PlaybookError, match=r"lobeswelle.yaml: id: 'candystorm' must equal the file name 'lobeswelle'"):
        load_playbooks(tmp_path)


@pytest.mark.parametrize(
    "content,expected",
    [
        ("id: [unclosed\n", "line 2, column 1: invalid YAML"),
        ("- just\n- a list\n", "(top level): must be a mapping"),
        ("", "(top level): must be a mapping"),
    ],
)
def test_bad_yaml_is_reported(tmp_path, content, expected):
    _write(tmp_path, "kaputt", content)
    with pytest.raises(PlaybookError) as caught:
        load_playbooks(tmp_path)
    assert "kaputt.yaml" in str(caught.value) and expected in str(caught.value)


def test_every_broken_file_is_reported_at_once(tmp_path):
    _write(tmp_path, "candystorm", _breaks(lambda d: d.update(colour="red")))
    _write(tmp_path, "zweites", "id: [\n")
    with pytest.raises(PlaybookError) as caught:
        load_playbooks(tmp_path)
    assert len(caught.value.problems) == 2


def test_empty_and_missing_directories_are_errors(tmp_path):
    with pytest.raises(PlaybookError, match="no playbooks"):
        load_playbooks(tmp_path)
    with pytest.raises(PlaybookError, match="not a directory"):
        load_playbooks(tmp_path / "fehlt")


def test_not_utf8_is_reported(tmp_path):
    (tmp_path / "latin.yaml").write_bytes("id: Empörung\n".encode("latin-1"))
    with pytest.raises(PlaybookError, match="latin.yaml: not UTF-8"):
        load_playbooks(tmp_path)


# -- choosing ------------------------------------------------------------------------------------------------


def rule(playbook: str, **when) -> PlaybookRule:
    return PlaybookRule(playbook=playbook, when=PlaybookMatch(**when))


RULES = [
    rule("hassrede", kinds=["shitstorm"], min_toxic_share=0.2),
    rule("falschinformation", terms_any=["fake", "#gerücht"]),
    rule("grosslage", kinds=["question_surge"], scopes=["stadtwerke"], min_level=3),
    rule("candystorm", kinds=["candystorm"]),
]


@pytest.mark.parametrize(
    "situation,expected",
    [
        (dict(kind="shitstorm", scope="stadt", level=4, toxic_share=0.05, top_terms=["freibad"]), "empoerungswelle"),
        (dict(kind="shitstorm", scope="stadt", level=4, toxic_share=0.2, top_terms=[]), "hassrede"),
        (dict(kind="question_surge", scope="stadt", level=4, toxic_share=0.3, top_terms=[]), "empoerungswelle"),
        (dict(kind="shitstorm", scope="stadt", level=3, toxic_share=0.0, top_terms=["Fake", "bürgermeister"]), "falschinformation"),
        (dict(kind="shitstorm", scope="stadt", level=3, toxic_share=0.0, top_terms=["Gerücht"]), "falschinformation"),
        (dict(kind="shitstorm", scope="stadt", level=3, toxic_share=0.5, top_terms=["fake"]), "hassrede"),
        (dict(kind="question_surge", scope="stadtwerke", level=3, toxic_share=0.0, top_terms=[]), "grosslage"),
        (dict(kind="question_surge", scope="stadtwerke", level=2, toxic_share=0.0, top_terms=[]), "empoerungswelle"),
        (dict(kind="question_surge", scope="polizei", level=5, toxic_share=0.0, top_terms=[]), "empoerungswelle"),
        (dict(kind="candystorm", scope="polizei", level=3, toxic_share=0.0, top_terms=[]), "candystorm"),
    ],
)
def test_first_matching_rule_wins(situation, expected):
    assert choose_playbook(RULES, "empoerungswelle", **situation) == expected


def test_no_rules_means_default():
    chosen = choose_playbook([], "empoerungswelle", kind="candystorm", scope="x", level=6, toxic_share=1, top_terms=[])
    assert chosen == "empoerungswelle"


def test_rule_without_conditions_matches_everything():
    chosen = choose_playbook([rule("grosslage")], "x", kind="shitstorm", scope="s", level=0, toxic_share=0, top_terms=[])
    assert chosen == "grosslage"
