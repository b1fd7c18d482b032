"""A fast language guess from function words: enough to tell German from the few other languages in the stream."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-zäöüßçğışéèàâêîôûñ]+")

# Short, frequent function words per language; overlaps (e.g. "in", "die") are left out on purpose
# so that one shared word does not decide. Chosen by hand from frequency lists of each language.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "de": frozenset(
        "der die das und ist nicht ich ein eine es sie wir ihr zu mit auf für von dem den des sich auch noch "
        "nur wie aber wenn dass schon mal bei was hier jetzt kann gibt wird sind habt haben euch uns mir mich "
        "doch oder ja nein nach über kein keine warum wieso wann wo heute morgen bitte danke stadt".split()
    ),
    "en": frozenset(
        "the and is are was were you your this that with for not have has will would what when where why how "
        "they them our we it's don't can please thanks of to".split()
    ),
    "tr": frozenset("ve bir bu da de çok ne için ile ama gibi var yok ben sen biz mi mı neden nasıl".split()),
    "fr": frozenset("le la les et est une des pour pas que qui dans avec sur vous nous ce cette".split()),
    "it": frozenset("il lo gli che non per una sono della questo come anche ma più".split()),
    "es": frozenset("el los las que por una para con pero como está muy también".split()),
    "nl": frozenset("het een niet van zijn ook maar voor dat wat hoe waarom wij jullie".split()),
    "pl": frozenset("jest nie się że to na jak ale czy dla tak już".split()),
}
_GERMAN_LETTERS = frozenset("äöüß")


_LANGUAGES_OF: dict[str, tuple[str, ...]] = {}
for _language, _words in _FUNCTION_WORDS.items():
    for _word in _words:
        _LANGUAGES_OF[_word] = _LANGUAGES_OF.get(_word, ()) + (_language,)


def guess_language(text: str) -> str:
    """ISO 639-1 code of the most likely language, or 'und' when the text gives no evidence.

    >>> guess_language("Warum ist die Straße schon wieder gesperrt?")
    'de'
    >>> guess_language("Why is the road closed again?")
    'en'
    >>> guess_language("👍👍")
    'und'
    """
    lowered = text.lower()
    hits: dict[str, int] = {}
    for word in _WORD.findall(lowered):
        for language in _LANGUAGES_OF.get(word, ()):
            hits[language] = hits.get(language, 0) + 1
    if not _GERMAN_LETTERS.isdisjoint(lowered):
        hits["de"] = hits.get("de", 0) + 1
    if not hits:
        return "und"
    # ties go to the order of _FUNCTION_WORDS (German first): the stream is mostly German
    return max(_FUNCTION_WORDS, key=lambda language: hits.get(language, 0))
