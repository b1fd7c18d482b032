"""Turn one raw record from a collector into a Mention: validated fields, UTC time, clean text, pseudonymised author."""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import zlib
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Mapping

from detectors.language import guess_language
from monitor.domain import Mention

MAX_TEXT_CHARS = 20_000
MAX_FIELD_CHARS = 512
_TAG = re.compile(r"<[^>]{0,2000}>")
_BREAK_TAG = re.compile(r"<\s*(br|/p|p|/div|div|li)\b[^>]{0,200}>", re.IGNORECASE)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_DUP_NOISE = re.compile(r"[\W\d_]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class InputError(ValueError):
    """A record that cannot become a mention; the message names the field and the problem."""


class Pseudonymiser:
    """Keyed hash of (platform, author): stable within a deployment, not reversible without the key.

    The key never leaves the process; rotating it starts new pseudonyms (authors then count as new).
    """

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the pseudonym key must have at least 16 bytes")
        self._key = key
        self.pseudonym = lru_cache(maxsize=200_000)(self._pseudonym)

    def _pseudonym(self, platform: str, author: str) -> str:
        digest = hmac.new(self._key, f"{platform}\x1f{author}".encode("utf-8"), hashlib.sha256).hexdigest()
        return "p-" + digest[:20]


def clean_text(text: str) -> str:
    """Strip HTML, unescape entities and fold whitespace; cap the length so one huge text cannot stall the chain."""
    if len(text) > MAX_TEXT_CHARS * 4:
        text = text[: MAX_TEXT_CHARS * 4]
    if "<" in text:
        text = _SCRIPT.sub(" ", text)
        text = _BREAK_TAG.sub(" ", text)
        text = _TAG.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    text = " ".join(text.split())
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS] + " …"
    return text


def duplicate_fingerprint(text: str) -> int:
    """A hash that is equal for copy-paste texts differing only in case, punctuation, digits and spacing."""
    return zlib.crc32(_DUP_NOISE.sub("", text.lower()).encode("utf-8"))


def parse_created_at(value: Any) -> datetime:
    if isinstance(value, bool):
        raise InputError("created_at: expected an ISO 8601 time or Unix seconds, got a boolean")
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value  # milliseconds are common in platform exports
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise InputError(f"created_at: Unix time {value!r} is out of range") from None
    if not isinstance(value, str) or not value.strip():
        raise InputError("created_at: missing or empty")
    text = value.strip()
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"created_at: not an ISO 8601 time: {value[:60]!r}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _identifier(record: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = record.get(key)
    if (
        type(value) is str
        and 0 < len(value) <= MAX_FIELD_CHARS
        and value.isprintable()
        and not value[0].isspace()
        and not value[-1].isspace()
    ):
        return value  # the usual case, checked in C: a clean, short string
    if value is None or value == "":
        if required:
            raise InputError(f"{key}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"{key}: expected a string, got {type(value).__name__}")
    text = str(value).strip()
    if not text or len(text) > MAX_FIELD_CHARS:
        raise InputError(f"{key}: empty or longer than {MAX_FIELD_CHARS} characters")
    if _CONTROL.search(text):
        if key in ("author", "parent_id"):  # losing a mention over a stray byte in a side field would cost more
            text = _CONTROL.sub("", text) or "?"
        else:
            raise InputError(f"{key}: contains control characters")
    return text


def _metrics(value: Any) -> dict[str, int]:
    if not value:
        if value is None or isinstance(value, (dict, list)):
            return {}
    if not isinstance(value, dict) and not isinstance(value, Mapping):
        raise InputError(f"metrics: expected an object, got {type(value).__name__}")
    counts: dict[str, int] = {}
    for name, count in value.items():
        if isinstance(count, bool) or not isinstance(count, (int, float)) or count < 0:
            raise InputError(f"metrics.{name}: expected a non-negative number")
        counts[str(name)[:64]] = int(count)
    return counts


def normalise(record: Any, *, pseudonymiser: Pseudonymiser, default_scope: str) -> Mention:
    """Validate and clean one record; raise InputError naming the field and the problem."""
    if not isinstance(record, dict) and not isinstance(record, Mapping):
        raise InputError(f"expected a JSON object, got {type(record).__name__}")
    platform = _identifier(record, "platform", required=True)
    external_id = _identifier(record, "id", required=True)
    assert platform is not None and external_id is not None
    raw_text = record.get("text")
    if not isinstance(raw_text, str):
        raise InputError("text: missing" if raw_text is None else f"text: expected a string, got {type(raw_text).__name__}")
    text = clean_text(raw_text)
    scope = _identifier(record, "scope", required=False) or default_scope
    kind = (_identifier(record, "kind", required=False) or "comment").lower()
    if not _IDENT.match(kind):
        raise InputError(f"kind: not an identifier: {kind[:40]!r}")
    author = _identifier(record, "author", required=False)
    url = record.get("url")
    if url is not None and not isinstance(url, str):
        raise InputError("url: expected a string")
    return Mention(
        platform=platform.lower(),
        external_id=external_id,
        created_at=parse_created_at(record.get("created_at")),
        text=text,
        scope=scope,
        kind=kind,
        author=pseudonymiser.pseudonym(platform.lower(), author) if author else None,
        parent_id=_identifier(record, "parent_id", required=False),
        url=url[:2048] if url else None,
        metrics=_metrics(record.get("metrics")),
        language=guess_language(text[:500]),
        text_hash=duplicate_fingerprint(text[:1000]) if text else 0,
    )
