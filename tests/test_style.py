"""Style features (detectors/style.py): the vectorised batch computation agrees with a plain per-text one."""
from __future__ import annotations

import math
import re

import numpy as np

from detectors.style import FEATURES, style_matrix
from detectors.textfeatures import MAX_CHARS

_LETTER = re.compile(r"[^\W\d_]")
_UPPER = re.compile(r"[A-ZÄÖÜ]")
_SHOUTED = re.compile(r"(?<!\w)[A-ZÄÖÜẞ]{3,}(?!\w)")
_DIGIT = re.compile(r"\d")
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_URL = re.compile(r"https?://|www\.")
_QUOTES = re.compile("[\"„“”«»]")
_ELLIPSIS = re.compile(r"\.\.\.|…")


def style_row(text: str) -> list[float]:
    """The features of one text, written plainly with regexes and str methods: what style_matrix must compute."""
    text = text[:MAX_CHARS].replace("\x00", " ")
    words = text.split()
    n_words = len(words)
    letters = len(_LETTER.findall(text))
    return [
        math.log1p(len(text)) / math.log1p(MAX_CHARS),
        math.log1p(n_words) / math.log1p(MAX_CHARS / 2),
        min(sum(map(len, words)) / n_words / 10.0, 3.0) if n_words else 0.0,
        len(_UPPER.findall(text)) / letters if letters else 0.0,
        len(_SHOUTED.findall(text)) / n_words if n_words else 0.0,
        math.log1p(text.count("!")) / 3.0,
        math.log1p(text.count("?")) / 3.0,
        math.log1p(len(_EMOJI.findall(text))) / 3.0,
        math.log1p(text.count("@")) / 3.0,
        math.log1p(len(_URL.findall(text))) / 3.0,
        len(_DIGIT.findall(text)) / len(text) if text else 0.0,
        math.log1p(len(_QUOTES.findall(text))) / 3.0,
        math.log1p(len(_ELLIPSIS.findall(text))) / 3.0,
    ]

ODD = ["", " ", "a\x00b", "ÄÖÜ ẞẞẞ GROSS!!", "𝐟𝐚𝐧𝐜𝐲 😂😂 …...", "AB 𝐃𝐮𝐦𝐦", "Tel 𝟏𝟐𝟑", "x" * 3000, "\t\n", "www.x.de https://y",
       "„Hallo“ «x»", "12 34,5 ٣", "ab\x1cc\x1dd\x85e\u2028f", "Wer ist zuständig??? @Stadt @Amt",
       "DAS IST EIN SKANDAL!!! Ihr seid so 🤡🤡🤡", "kaputt \ud83d? \udc00", "Die Sitzung beginnt um 18 Uhr.\n\nTagesordnung: …"]


def test_the_batch_agrees_with_the_definition() -> None:
    fast = style_matrix(ODD)
    assert fast.shape == (len(ODD), len(FEATURES))
    np.testing.assert_allclose(fast, np.array([style_row(t) for t in ODD]), atol=1e-12)
    # one at a time as in a batch: no text leaks into its neighbour
    np.testing.assert_allclose(np.vstack([style_matrix([t]) for t in ODD]), fast, atol=1e-12)
    assert style_matrix([]).shape == (0, len(FEATURES))


def test_the_features_say_what_they_name() -> None:
    row = dict(zip(FEATURES, style_matrix(["DAS IST EIN SKANDAL!!! Ihr 🤡"])[0]))
    assert row["shouted_words"] == 4 / 6 and row["exclamations"] > 0 and row["emoji"] > 0
    assert row["user_mentions"] == row["urls"] == row["questions"] == 0
    calm, loud = style_matrix(["Danke für die Info.", "DANKE FÜR DIE INFO!!!"])
    assert loud[FEATURES.index("upper_share")] == 1.0 > calm[FEATURES.index("upper_share")]
    # every feature stays in a small range, so a weight means the same for short and long texts
    assert np.all(style_matrix(ODD) >= 0) and np.all(style_matrix(ODD) <= 3.0)
