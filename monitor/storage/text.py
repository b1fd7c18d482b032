"""Text hygiene at the database boundary: one bad character must not make a whole batch fail."""

from __future__ import annotations


def clean_text(value: str | None) -> str | None:
    """Replace what PostgreSQL or the UTF-8 codec refuse: NUL characters and lone surrogates.

    Such strings come from fuzzed or broken JSON ("\\u0000", "\\ud800"); SQLite would
    store some of them, PostgreSQL none, so both backends get the same cleaned text.
    """
    if value is None:
        return None
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def truncate_utf8(value: str, max_bytes: int) -> str:
    """At most `max_bytes` of UTF-8, cut at a character boundary."""
    encoded = value.encode("utf-8")
    if len(encoded) <= max_bytes:
        return value
    return encoded[:max_bytes].decode("utf-8", "ignore")
