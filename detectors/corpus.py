"""The project's own labelled German comments (detectors/data/comments_de.tsv): the shipped model's polarity and
question training data, and what the feedback learner's familiarity gate takes as "texts the base model knows"."""
from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

from detectors.classifier import POLARITY_LABELS

DEFAULT_CORPUS = pathlib.Path(__file__).resolve().parent / "data" / "comments_de.tsv"


def load_corpus(path: str | pathlib.Path) -> dict[str, Any]:
    """The project's own labelled comments: text, polarity, toxic, question."""
    texts, polarity, toxic, question = [], [], [], []
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header != ["text", "polarity", "toxic", "question"]:
            raise ValueError(f"{path}: header must be text, polarity, toxic, question (tab-separated)")
        for number, line in enumerate(handle, 2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4 or parts[1] not in POLARITY_LABELS or parts[2] not in "01" or parts[3] not in "01":
                raise ValueError(f"{path}:{number}: malformed row {line[:60]!r}")
            texts.append(parts[0])
            polarity.append(POLARITY_LABELS.index(parts[1]))
            toxic.append(int(parts[2]))
            question.append(int(parts[3]))
    as_array = lambda values: np.array(values, dtype=np.int64)  # noqa: E731
    return {"texts": texts, "polarity": as_array(polarity), "toxic": as_array(toxic), "question": as_array(question)}
