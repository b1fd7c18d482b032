"""`stormwatch classify`: texts in, one JSON object per text out, classified in vectorised batches."""

from __future__ import annotations

import json
from typing import IO, Iterator

from detectors.classifier import ModelError, TextClassifier


def _texts(lines: IO[str], jsonl: bool, errors: IO[str]) -> Iterator[str]:
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not jsonl:
            yield line
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text = record["text"] if isinstance(record, dict) else None
        except (json.JSONDecodeError, KeyError):
            text = None
        if not isinstance(text, str):
            errors.write(f"stormwatch classify: line {number}: expected a JSON object with a string 'text'\n")
            text = ""  # keep one output line per input line, so outputs stay aligned with inputs
        yield text


def classify_stream(
    lines: IO[str], out: IO[str], errors: IO[str], *, model_dir: str | None, jsonl: bool, batch_size: int = 4096,
    abuse_terms: str | None = None,
) -> int:
    try:
        classifier = TextClassifier.load(model_dir, abuse_terms)
    except ModelError as exc:
        errors.write(f"stormwatch classify: {exc}\n")
        return 2
    batch: list[str] = []

    def emit() -> None:
        scores = classifier.predict(batch)
        out.write("".join(json.dumps(scores.row(i), ensure_ascii=False) + "\n" for i in range(len(batch))))
        batch.clear()

    for text in _texts(lines, jsonl, errors):
        batch.append(text)
        if len(batch) >= batch_size:
            emit()
    if batch:
        emit()
    out.flush()
    return 0
