"""Style features (detectors/style.py): the batch computation agrees with the per-text definition."""
from __future__ import annotations

import numpy as np

from detectors.style import FEATURES, style_matrix, style_row

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
    row = dict(zip(FEATURES, style_row("DAS IST EIN SKANDAL!!! Ihr 🤡")))
    assert row["shouted_words"] == 4 / 6 and row["exclamations"] > 0 and row["emoji"] > 0
    assert row["user_mentions"] == row["urls"] == row["questions"] == 0
    calm, loud = style_matrix(["Danke für die Info.", "DANKE FÜR DIE INFO!!!"])
    assert loud[FEATURES.index("upper_share")] == 1.0 > calm[FEATURES.index("upper_share")]
    # every feature stays in a small range, so a weight means the same for short and long texts
    assert np.all(style_matrix(ODD) >= 0) and np.all(style_matrix(ODD) <= 3.0)
