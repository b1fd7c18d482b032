"""Style features of a text that hashed, length-normalised n-grams cannot see: how long it is, how long its words
are, shouting, emoji, punctuation. A head trained by `stormwatch train` learns weights for them next to its
n-gram weights (`training.task_view`), and `TextClassifier` adds their term to that head's logit.

Every feature has a fixed transform to a range of about 0..1, so nothing is fitted to data here and a model only
stores one weight per feature. The n-gram rows are L2-normalised, so without these a head cannot tell a terse
jibe from a long, formal comment made of the same words; on GermEval 2021 (Facebook comments) that was worth about
+0.01 macro-F1 (benchmarks/CLASSIFIER_RESULTS.md).
"""
from __future__ import annotations

import functools
import math
import re
from typing import Sequence

import numpy as np

from detectors.textfeatures import _SEP, MAX_CHARS, code_points

SCHEME = "stormwatch-style-v1"
FEATURES = ("log_chars", "log_words", "mean_word_length", "upper_share", "shouted_words", "exclamations",
            "questions", "emoji", "user_mentions", "urls", "digit_share", "quotes", "ellipses")

_UPPER = re.compile(r"[A-ZÄÖÜ]")  # German capitals; other scripts' cases are rare in these streams
_SHOUTED = re.compile(r"(?<!\w)[A-ZÄÖÜẞ]{3,}(?!\w)")
_URL = re.compile(r"https?://|www\.")
_QUOTES = re.compile("[\"„“”«»]")
_ELLIPSIS = re.compile(r"\.\.\.|…")
_LOG_CHARS = math.log1p(MAX_CHARS)
_LOG_WORDS = math.log1p(MAX_CHARS / 2)


# The character classes counted, per character. Letters are what the regex [^\W\d_] matches, digits what \d
# matches (tests/test_style.py checks the batch computation against a per-text one written with regexes).
_PREDICATES = {
    "letter": lambda c: c.isalnum() and not c.isdecimal() and c != "_",
    "upper": lambda c: bool(_UPPER.fullmatch(c)),
    "digit": str.isdecimal,
    "space": str.isspace,
    "quote": lambda c: bool(_QUOTES.fullmatch(c)),
}
_BMP = 0x10000


@functools.lru_cache(maxsize=1)
def _tables() -> dict[str, np.ndarray]:
    """_PREDICATES per code point of the Basic Multilingual Plane, built on first use (about 50 ms)."""
    chars = [chr(i) for i in range(_BMP)]
    return {name: np.array([predicate(c) for c in chars]) for name, predicate in _PREDICATES.items()}


def _flags(cp: np.ndarray) -> dict[str, np.ndarray]:
    """_PREDICATES for every code point: a table lookup in the BMP; above it (emoji, the "fancy" bold and italic
    letters and digits of social-media posts) per distinct code point, which are few."""
    tables = _tables()
    astral = cp >= _BMP
    flags = {name: table[np.where(astral, 0, cp)] & ~astral for name, table in tables.items()}
    if astral.any():
        distinct, where = np.unique(cp[astral], return_inverse=True)
        for name, predicate in _PREDICATES.items():
            values = np.array([predicate(chr(c)) for c in distinct])
            flags[name][astral] = values[where]
    return flags


def style_matrix(texts: Sequence[str]) -> np.ndarray:
    """FEATURES per text (its first MAX_CHARS characters, as the n-gram features see it), shape (n, len(FEATURES)),
    float64, vectorised over the code points of the joined batch (a per-text version ran at about 12,000 texts/s,
    slower than the n-grams).

    Words are runs of non-space characters; a mean word length is capped at 3 (30 characters); shouted words are
    runs of 3+ German capitals between non-word characters; counts go through log1p and / 3, shares are of the
    letters (capitals), the words (shouted) or the characters (digits); emoji are U+1F300-1FAFF and U+2600-27BF."""
    n = len(texts)
    if n == 0:
        return np.zeros((0, len(FEATURES)))
    cut = [t[:MAX_CHARS].replace(_SEP, " ") for t in texts]  # a NUL inside a text would count as a boundary
    joined = _SEP.join(cut) + _SEP  # every text followed by one separator
    joined, cp = code_points(joined)  # a lone surrogate becomes U+FFFD (one code point for one)
    lengths = np.fromiter(map(len, cut), dtype=np.int64, count=n)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    owner = np.repeat(np.arange(n), lengths + 1)  # the separator after a text is counted with it (it is none of these)
    flags = _flags(cp)

    def count(flags: np.ndarray) -> np.ndarray:
        return np.bincount(owner, weights=flags.astype(np.float64), minlength=n)

    space = flags["space"] | (cp == 0)
    word_start = ~space & np.concatenate([[True], space[:-1]])
    n_words = count(word_start)
    non_space = count(~space)
    letters = count(flags["letter"])

    def matches(pattern: re.Pattern) -> np.ndarray:
        positions = np.fromiter((m.start() for m in pattern.finditer(joined)), dtype=np.int64)
        return np.bincount(np.searchsorted(starts, positions, side="right") - 1, minlength=n).astype(np.float64)

    def share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
        return np.divide(part, whole, out=np.zeros(n), where=whole > 0)

    emoji = ((cp >= 0x1F300) & (cp <= 0x1FAFF)) | ((cp >= 0x2600) & (cp <= 0x27BF))
    return np.column_stack([
        np.log1p(lengths) / _LOG_CHARS,
        np.log1p(n_words) / _LOG_WORDS,
        np.minimum(share(non_space, n_words) / 10.0, 3.0),
        share(count(flags["upper"]), letters),
        share(matches(_SHOUTED), n_words),
        np.log1p(count(cp == ord("!"))) / 3.0,
        np.log1p(count(cp == ord("?"))) / 3.0,
        np.log1p(count(emoji)) / 3.0,
        np.log1p(count(cp == ord("@"))) / 3.0,
        np.log1p(matches(_URL)) / 3.0,
        share(count(flags["digit"]), lengths.astype(np.float64)),
        np.log1p(count(flags["quote"])) / 3.0,
        np.log1p(matches(_ELLIPSIS)) / 3.0,
    ])
