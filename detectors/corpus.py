"""The project's own labelled German comments (detectors/data/comments_de.tsv): the shipped model's polarity and
question training data, and what the feedback learner's familiarity gate takes as "texts the base model knows"."""
from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

from detectors.classifier import POLARITY_LABELS

DEFAULT_CORPUS = pathlib.Path(__file__).resolve().parent / "data" / "comments_de.tsv"


def load_corpus(path: str | pathlib.Path, extra_columns: tuple[str, ...] = ()) -> dict[str, Any]:
    """The project's own labelled comments: text, polarity, toxic, question, then ``extra_columns`` (held-out
    sets carry more), each returned as a list of strings under its name."""
    if isinstance(extra_columns, str) or {"texts", "polarity", "toxic", "question"} & set(extra_columns):
        raise ValueError(f"extra_columns must be a tuple of names other than the built-in ones, not {extra_columns!r}")
    columns = ["text", "polarity", "toxic", "question", *extra_columns]
    texts, polarity, toxic, question = [], [], [], []
    extra: list[list[str]] = [[] for _ in extra_columns]
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header != columns:
            raise ValueError(f"{path}: header must be {', '.join(columns)} (tab-separated)")
        for number, line in enumerate(handle, 2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != len(columns) or parts[1] not in POLARITY_LABELS or parts[2] not in ("0", "1") \
                    or parts[3] not in ("0", "1") or "" in parts[4:]:
                raise ValueError(f"{path}:{number}: malformed row {line[:60]!r}")
            texts.append(parts[0])
            polarity.append(POLARITY_LABELS.index(parts[1]))
            toxic.append(int(parts[2]))
            question.append(int(parts[3]))
            for values, value in zip(extra, parts[4:]):
                values.append(value)
    as_array = lambda values: np.array(values, dtype=np.int64)  # noqa: E731
    return {"texts": texts, "polarity": as_array(polarity), "toxic": as_array(toxic), "question": as_array(question),
            **dict(zip(extra_columns, extra))}
