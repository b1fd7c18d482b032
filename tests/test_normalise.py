"""Normalisation: a table of real-looking and broken records."""

from datetime import datetime, timezone

import pytest

from monitor.normalise import InputError, Pseudonymiser, clean_text, duplicate_fingerprint, normalise

PSEUDO = Pseudonymiser(b"test-key-0123456789abcdef")


def _norm(record):
    return normalise(record, pseudonymiser=PSEUDO, default_scope="fallback")


GOOD = {"platform": "facebook", "id": "123_456", "created_at": "2026-03-14T08:49:01Z", "text": "Hallo Stadt!"}


def test_minimal_record_gets_defaults():
    mention = _norm(GOOD)
    assert mention.platform == "facebook"
    assert mention.external_id == "123_456"
    assert mention.created_at == datetime(2026, 3, 14, 8, 49, 1, tzinfo=timezone.utc)
    assert mention.scope == "fallback"
    assert mention.kind == "comment"
    assert mention.author is None


@pytest.mark.parametrize(
    "created_at, expected",
    [
        ("2026-03-14T09:49:01+01:00", datetime(2026, 3, 14, 8, 49, 1, tzinfo=timezone.utc)),
        ("2026-03-14 08:49:01", datetime(2026, 3, 14, 8, 49, 1, tzinfo=timezone.utc)),
        (1773478141, datetime(2026, 3, 14, 8, 49, 1, tzinfo=timezone.utc)),
        (1773478141000, datetime(2026, 3, 14, 8, 49, 1, tzinfo=timezone.utc)),
    ],
)
def test_times_become_utc(created_at, expected):
    assert _norm({**GOOD, "created_at": created_at}).created_at == expected


def test_html_entities_and_whitespace_are_cleaned():
    mention = _norm({**GOOD, "text": "  Bäume&amp;Parkhaus<br>  <b>nein</b>\n\n danke  "})
    assert mention.text == "Bäume&Parkhaus nein danke"
    assert clean_text("<script>alert(1)</script>Hallo") == "Hallo"


def test_author_is_pseudonymised_and_stable():
    a = _norm({**GOOD, "author": "Erika Mustermann"})
    b = _norm({**GOOD, "id": "other", "author": "Erika Mustermann"})
    c = _norm({**GOOD, "platform": "instagram", "author": "Erika Mustermann"})
    assert a.author == b.author
    assert a.author != c.author  # the same handle on another platform is not the same person
    assert "Erika" not in a.author and a.author.startswith("p-")


def test_language_is_guessed():
    assert _norm({**GOOD, "text": "Warum ist die Straße schon wieder gesperrt?"}).language == "de"
    assert _norm({**GOOD, "text": "Why is the road closed again?"}).language == "en"


def test_huge_text_is_capped():
    mention = _norm({**GOOD, "text": "Wort " * 200_000})
    assert len(mention.text) <= 20_002


def test_copy_paste_fingerprint_ignores_punctuation_and_case():
    assert duplicate_fingerprint("Rettet die Lindenallee!!! #LindenalleeBleibt") == duplicate_fingerprint(
        "rettet die Lindenallee #lindenalleebleibt"
    )
    assert duplicate_fingerprint("Rettet die Lindenallee") != duplicate_fingerprint("Rettet den Stadtpark")


@pytest.mark.parametrize(
    "record, problem",
    [
        (["not", "an", "object"], "expected a JSON object"),
        ({k: v for k, v in GOOD.items() if k != "platform"}, "platform: missing"),
        ({k: v for k, v in GOOD.items() if k != "id"}, "id: missing"),
        ({k: v for k, v in GOOD.items() if k != "text"}, "text: missing"),
        ({**GOOD, "text": 42}, "text: expected a string"),
        ({**GOOD, "created_at": "yesterday"}, "created_at: not an ISO 8601 time"),
        ({**GOOD, "created_at": None}, "created_at: missing"),
        ({**GOOD, "created_at": True}, "created_at: expected"),
        ({**GOOD, "created_at": 1e20}, "out of range"),
        ({**GOOD, "id": {"nested": 1}}, "id: expected a string"),
        ({**GOOD, "metrics": [1, 2]}, "metrics: expected an object"),
        ({**GOOD, "metrics": {"likes": -1}}, "metrics.likes"),
        ({**GOOD, "kind": "a b c"}, "kind: not an identifier"),
        ({**GOOD, "url": 5}, "url: expected a string"),
        ({**GOOD, "id": "12\x0034"}, "id: contains control characters"),
        ({**GOOD, "scope": "a\nb"}, "scope: contains control characters"),
    ],
)
def test_broken_records_name_the_field(record, problem):
    with pytest.raises(InputError, match=problem):
        _norm(record)


def test_short_pseudonym_key_is_refused():
    with pytest.raises(ValueError):
        Pseudonymiser(b"short")
