"""File replay: read recorded mentions from JSONL or CSV, line by line, never giving up on the whole file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Iterator

from monitor.collectors.base import RawRecord

MAX_LINE_BYTES = 1_000_000
_CSV_METRICS = ("likes", "shares", "replies", "comments", "reactions", "views")


def detect_format(path: Path, declared: str | None = None) -> str:
    if declared:
        return declared
    suffixes = [s.lower() for s in path.suffixes]
    if ".csv" in suffixes:
        return "csv"
    return "jsonl"


def read_records(path: str | Path, fmt: str | None = None, *, start_line: int = 0) -> Iterator[RawRecord]:
    """Yield one RawRecord per non-empty line (JSONL) or row (CSV), from `start_line` on (a checkpoint)."""
    file_path = Path(path)
    kind = detect_format(file_path, fmt)
    if kind == "csv":
        yield from _read_csv(file_path, start_line)
    else:
        yield from _read_jsonl(file_path, start_line)


def _decode(raw: bytes, source: str, number: int) -> tuple[str | None, RawRecord | None]:
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        preview = raw[:2000].decode("utf-8", errors="replace")
        return None, RawRecord(source, number, problem=f"not UTF-8 (byte {exc.start})", raw=preview)


def _read_jsonl(path: Path, start_line: int) -> Iterator[RawRecord]:
    source = str(path)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number <= start_line or not raw.strip():
                continue
            if len(raw) > MAX_LINE_BYTES:
                preview = raw[:2000].decode("utf-8", errors="replace")
                yield RawRecord(source, number, problem=f"line longer than {MAX_LINE_BYTES} bytes", raw=preview)
                continue
            text, failure = _decode(raw, source, number)
            if failure:
                yield failure
                continue
            assert text is not None
            try:
                payload = json.loads(text)
            except json.JSONDecodeError as exc:
                yield RawRecord(source, number, problem=f"invalid JSON: {exc.msg} at column {exc.colno}", raw=text[:2000])
                continue
            yield RawRecord(source, number, payload=payload, raw=text if len(text) < 2000 else "")


def _csv_row(row: dict[str, str | None]) -> dict[str, object]:
    record: dict[str, object] = {k: (v if v != "" else None) for k, v in row.items() if k and k not in _CSV_METRICS}
    metrics: dict[str, object] = {}
    for name in _CSV_METRICS:
        value = row.get(name)
        if value not in (None, ""):
            try:
                metrics[name] = int(float(value))  # type: ignore[arg-type]
            except ValueError:
                metrics[name] = value  # normalisation rejects it with the field name
    if metrics:
        record["metrics"] = metrics
    return record


def _read_csv(path: Path, start_line: int) -> Iterator[RawRecord]:
    """CSV with a header row using the JSONL field names; metric columns (likes, shares, ...) are gathered."""
    source = str(path)
    with path.open("rb") as binary:
        header_raw = binary.readline()
        header_text, failure = _decode(header_raw, source, 1)
        if failure or header_text is None:
            yield failure or RawRecord(source, 1, problem="empty file")
            return
        header = next(csv.reader([header_text]), [])
        if "text" not in header:
            yield RawRecord(source, 1, problem=f"CSV header has no 'text' column: {header[:10]}", raw=header_text[:2000])
            return
        # physical lines are decoded one by one so that one bad byte costs one row, not the file;
        # quoted fields with embedded newlines are joined until the row is complete.
        number = 1
        pending = ""
        pending_start = 0
        for raw in binary:
            number += 1
            text, failure = _decode(raw, source, number)
            if failure:
                pending = ""
                yield failure
                continue
            assert text is not None
            if not pending:
                pending_start = number
            pending += text
            if pending.count('"') % 2 == 1:
                continue  # inside a quoted field
            chunk, pending = pending, ""
            if pending_start <= start_line or not chunk.strip():
                continue
            values = next(csv.reader(io.StringIO(chunk)), [])
            if len(values) != len(header):
                yield RawRecord(
                    source, pending_start, problem=f"expected {len(header)} columns, found {len(values)}", raw=chunk[:2000]
                )
                continue
            yield RawRecord(source, pending_start, payload=_csv_row(dict(zip(header, values))), raw=chunk[:2000])
        if pending:
            yield RawRecord(source, pending_start, problem="unterminated quoted field at end of file", raw=pending[:2000])
