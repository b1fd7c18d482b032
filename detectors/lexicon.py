"""German polarity lexicon from the textblob-de package, expanded to inflected forms, for lexicon features.

Why a lexicon: the polarity head learns from a few thousand hand-written comments, so most words of a new
deployment were never seen in training. A general-purpose lexicon gives every known opinion word a shared
"negative word" / "positive word" feature the head can weigh, which carries over to unseen vocabulary.

Source: textblob-de 0.4.3 (MIT), file `textblob_de/data/de-sentiment.xml`, an approximation of the German
Polarity Lexicon by Manfred Klenner, Simon Clematide, Martin Wiegand and Ronny Peters (version 1.1, 2010) in the
format of the `pattern` project by Markus Killer. The file is read from the installed package (it is not copied
into this repository); the package itself is never imported (it would pull in NLTK for nothing). A model
records the file's SHA-256, so a different lexicon cannot silently change its features.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import pathlib
import re
from typing import NamedTuple

PACKAGE = "textblob_de"
RELATIVE_PATH = ("data", "de-sentiment.xml")
SOURCE = "textblob-de de-sentiment.xml"

_WORD = re.compile(r"<word\s([^>]*)/>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')

# The lexicon lists lemmas; comments use inflected forms. Regular endings only: irregular forms stay unknown,
# which costs recall, never precision.
_ADJECTIVE_ENDINGS = ("e", "en", "er", "es", "em", "ste", "sten", "ster", "este", "esten", "ester")
_NOUN_ENDINGS = ("s", "n", "en", "e", "es")
_VERB_FORMS = ("{s}t", "{s}e", "{s}st", "ge{s}t", "{s}te", "{s}ten", "{s}end")


class LexiconError(RuntimeError):
    """The lexicon package is missing or is not the file a model was trained with."""


class Lexicon(NamedTuple):
    polarity: dict[str, float]  # lower-cased word form -> polarity in [-1, 1], zero-polarity words left out
    sha256: str


def package_file(package: str, requirement: str, relative_path: tuple[str, ...], error: type[Exception],
                 what: str) -> pathlib.Path:
    """A data file inside an installed package, found without importing the package; `error` names the
    requirement to install if the package or the file is missing."""
    spec = importlib.util.find_spec(package)
    distribution = requirement.split("==")[0]
    if spec is None or not spec.submodule_search_locations:
        raise error(f"{what} needs the package {distribution} (pip install {requirement})")
    path = pathlib.Path(next(iter(spec.submodule_search_locations))).joinpath(*relative_path)
    if not path.is_file():
        raise error(f"{distribution} is installed but has no {'/'.join(relative_path)} ({path})")
    return path


def lexicon_path() -> pathlib.Path:
    return package_file(PACKAGE, "textblob-de==0.4.3", RELATIVE_PATH, LexiconError, "the polarity lexicon")


def inflected_forms(lemma: str, part_of_speech: str) -> set[str]:
    """The lemma and its regular inflections, lower-cased.

    >>> sorted(inflected_forms("nerven", "VB"))[:4]
    ['genervt', 'nerve', 'nerven', 'nervend']
    """
    lemma = lemma.lower()
    forms = {lemma}
    if part_of_speech == "JJ":
        forms.update(lemma + ending for ending in _ADJECTIVE_ENDINGS)
    elif part_of_speech == "NN":
        forms.update(lemma + ending for ending in _NOUN_ENDINGS)
    elif part_of_speech == "VB" and lemma.endswith("en") and len(lemma) > 4:
        forms.update(pattern.format(s=lemma[:-2]) for pattern in _VERB_FORMS)
    return forms


def parse(xml: str) -> dict[str, float]:
    """Word form -> polarity. A form listed as a lemma wins over the same string derived as an inflection."""
    lemmas: dict[str, float] = {}
    derived: dict[str, float] = {}
    for entry in _WORD.findall(xml):
        attrs = dict(_ATTR.findall(entry))
        try:
            polarity = float(attrs["polarity"])
            form = attrs["form"]
        except (KeyError, ValueError):
            continue
        if polarity == 0.0 or not form:
            continue
        lemmas.setdefault(form.lower(), polarity)
        for inflected in inflected_forms(form, attrs.get("pos", "")):
            derived.setdefault(inflected, polarity)
    return {**derived, **lemmas}


@functools.lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    path = lexicon_path()
    raw = path.read_bytes()
    return Lexicon(parse(raw.decode("utf-8")), hashlib.sha256(raw).hexdigest())


def check_digest(installed: str, expected: str, source: str, requirement: str,
                 error: type[LexiconError] = LexiconError) -> None:
    """Refuse an installed lexicon file that is not the one a model was trained with."""
    if installed != expected:
        raise error(f"the installed {source} (sha256 {installed[:12]}) is not the one the model was trained with "
                    f"({expected[:12]}); install {requirement} or retrain the model")


def checked_lexicon(expected_sha256: str) -> Lexicon:
    """The installed lexicon, if it is the one a model was trained with."""
    lexicon = load_lexicon()
    check_digest(lexicon.sha256, expected_sha256, SOURCE, "textblob-de==0.4.3")
    return lexicon
