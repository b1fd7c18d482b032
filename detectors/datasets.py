"""Parsers for labelled training files (GermEval 2017/2018/2021, generic CSV) with file:line error messages."""
from __future__ import annotations

import csv
import io
import pathlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from detectors.classifier import POLARITY_LABELS

TASKS = ("polarity", "toxicity", "question")
FORMATS = ("germeval2018", "germeval2017", "germeval2021", "csv")
# Label names per task, in the order of the integer labels the trainer uses.
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "polarity": POLARITY_LABELS,
    "toxicity": ("0", "1"),
    "question": ("0", "1"),
    # Not a head of the shipped model; only the evaluation harness uses it (GermEval 2021 subtask 3).
    "factclaiming": ("0", "1"),
}
# Column that holds a task's label in the generic CSV format.
CSV_LABEL_COLUMN = {"polarity": "polarity", "toxicity": "toxic", "question": "question"}
# Which GermEval 2021 column a task reads; GermEval 2021 has no polarity or question labels.
GERMEVAL2021_COLUMN = {"toxicity": "Sub1_Toxic", "factclaiming": "Sub3_FactClaiming"}
# Stratified 5-fold cross-validation (used for calibration) needs at least this many examples per class.
MIN_PER_CLASS = 5
_BINARY = {"0": 0, "1": 1, "false": 0, "true": 1}


class DatasetError(ValueError):
    """A training file cannot be used; the message names the file and, where it applies, the line."""

    def __init__(self, path: str | pathlib.Path, line: int | None, message: str):
        self.path, self.line, self.message = str(path), line, message
        super().__init__(f"{path}:{line}: {message}" if line is not None else f"{path}: {message}")


@dataclass
class Dataset:
    """Texts with integer labels (indices into label_names) and the source line of every example."""

    path: str
    fmt: str
    task: str
    texts: list[str]
    labels: np.ndarray
    label_names: tuple[str, ...]
    lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.label_names))
        return {name: int(n) for name, n in zip(self.label_names, counts)}


def _read_text(path: pathlib.Path) -> str:
    """Whole file as UTF-8 (BOM tolerated); a decoding error reports the line of the bad byte."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(path, None, "file not found") from None
    except IsADirectoryError:
        raise DatasetError(path, None, "is a directory, expected a file") from None
    except OSError as exc:
        raise DatasetError(path, None, f"cannot read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(path, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8") from None
    if not text.strip():
        raise DatasetError(path, None, "file is empty")
    return text


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers; universal newlines so CRLF files work."""
    for number, line in enumerate(io.StringIO(text, newline=None), 1):
        line = line.rstrip("\n")
        if line.strip():
            yield number, line


def _label(path, line: int, task: str, raw: str, what: str) -> int:
    value = raw.strip().lower()
    if task == "polarity":
        if value in POLARITY_LABELS:
            return POLARITY_LABELS.index(value)
        allowed = "|".join(POLARITY_LABELS)
    else:
        if value in _BINARY:
            return _BINARY[value]
        allowed = "0|1"
    raise DatasetError(path, line, f"unknown {what} label {raw!r}, expected {allowed}")


def _unsupported(path, fmt: str, task: str, supported: tuple[str, ...]) -> DatasetError:
    return DatasetError(path, None, f"format {fmt} has no labels for task {task!r} (it supports: {', '.join(supported)})")


def parse_germeval2018(path: pathlib.Path, text: str, task: str):
    """text<TAB>OFFENSE|OTHER<TAB>ABUSE|INSULT|PROFANITY|OTHER; `|LBR|` marks line breaks in the tweets."""
    if task != "toxicity":
        raise _unsupported(path, "germeval2018", task, ("toxicity",))
    fine = ("ABUSE", "INSULT", "PROFANITY", "OTHER")
    for number, line in _lines(text):
        parts = line.split("\t")
        if len(parts) != 3:
            raise DatasetError(path, number, f"expected 3 tab-separated fields (text, coarse, fine label), got {len(parts)}")
        if parts[1] not in ("OFFENSE", "OTHER"):
            raise DatasetError(path, number, f"unknown coarse label {parts[1]!r}, expected OFFENSE|OTHER")
        if parts[2] not in fine:
            raise DatasetError(path, number, f"unknown fine label {parts[2]!r}, expected {'|'.join(fine)}")
        yield number, parts[0].replace("|LBR|", " "), int(parts[1] == "OFFENSE")


def parse_germeval2017(path: pathlib.Path, text: str, task: str):
    """url<TAB>text<TAB>relevance<TAB>sentiment[<TAB>aspects]; quotes are literal text (quoting disabled)."""
    if task != "polarity":
        raise _unsupported(path, "germeval2017", task, ("polarity",))
    for number, line in _lines(text):
        parts = line.split("\t")
        if len(parts) not in (4, 5):
            raise DatasetError(path, number, f"expected 4 or 5 tab-separated fields (url, text, relevance, "
                                             f"sentiment[, aspects]), got {len(parts)}")
        if parts[2] not in ("true", "false"):
            raise DatasetError(path, number, f"unknown relevance {parts[2]!r}, expected true|false")
        yield number, parts[1], _label(path, number, task, parts[3], "sentiment")


def _csv_rows(path: pathlib.Path, text: str, delimiter: str, required: list[str]):
    """Records as dicts with the line each record starts on; checks the header for the required columns."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise DatasetError(path, 1, f"header lacks column(s) {', '.join(missing)} (found: {', '.join(header)})")
        index = {name: header.index(name) for name in required}
        start = reader.line_num + 1
        for record in reader:
            if record and any(cell.strip() for cell in record):
                if len(record) != len(header):
                    raise DatasetError(path, start, f"expected {len(header)} fields like the header, got {len(record)}")
                yield start, {name: record[i] for name, i in index.items()}
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(path, reader.line_num, f"malformed CSV ({exc})") from None


def parse_germeval2021(path: pathlib.Path, text: str, task: str):
    """Comma-separated, double-quoted: comment_id, comment_text, Sub1_Toxic, Sub2_Engaging, Sub3_FactClaiming."""
    if task not in GERMEVAL2021_COLUMN:
        raise _unsupported(path, "germeval2021", task, ("toxicity",))
    column = GERMEVAL2021_COLUMN[task]
    for number, row in _csv_rows(path, text, ",", ["comment_text", column]):
        yield number, row["comment_text"], _label(path, number, task, row[column], column)


def parse_csv(path: pathlib.Path, text: str, task: str):
    """Header row with `text` and the task's label column (polarity / toxic / question); comma, semicolon or tab."""
    if task not in CSV_LABEL_COLUMN:
        raise _unsupported(path, "csv", task, tuple(CSV_LABEL_COLUMN))
    column = CSV_LABEL_COLUMN[task]
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    # The header decides the delimiter: a tab-separated export (like detectors/data/comments_de.tsv) works as is.
    delimiter = max(("\t", ";", ","), key=first.count) if any(d in first for d in "\t;,") else ","
    for number, row in _csv_rows(path, text, delimiter, ["text", column]):
        yield number, row["text"], _label(path, number, task, row[column], column)


PARSERS: dict[str, Callable] = {
    "germeval2018": parse_germeval2018,
    "germeval2017": parse_germeval2017,
    "germeval2021": parse_germeval2021,
    "csv": parse_csv,
}


def load_dataset(path: str | pathlib.Path, fmt: str, task: str, *, min_per_class: int = MIN_PER_CLASS) -> Dataset:
    """Parses and validates a training file; every problem is a DatasetError naming file and line."""
    path = pathlib.Path(path)
    if fmt not in PARSERS:
        raise DatasetError(path, None, f"unknown format {fmt!r}, expected one of {', '.join(FORMATS)}")
    if task not in TASK_LABELS:
        raise DatasetError(path, None, f"unknown task {task!r}, expected one of {', '.join(TASKS)}")
    text = _read_text(path)
    lines, texts, labels = [], [], []
    for number, sample, label in PARSERS[fmt](path, text, task):
        lines.append(number)
        texts.append(sample)
        labels.append(label)
    if not texts:
        raise DatasetError(path, None, "no examples (only a header or blank lines)")
    dataset = Dataset(str(path), fmt, task, texts, np.array(labels, dtype=np.int64), TASK_LABELS[task], lines)
    counts = Counter(dataset.class_counts())
    few = {name: n for name, n in counts.items() if n < min_per_class}
    if few:
        listed = ", ".join(f"{name}: {n}" for name, n in few.items())
        raise DatasetError(path, None, f"too few examples per class for task {task} ({listed}); "
                                       f"need at least {min_per_class} of each of {', '.join(dataset.label_names)}")
    return dataset
