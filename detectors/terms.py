"""Top terms of a storm: words over-represented in the storm's mentions against the scope's usual vocabulary."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable

_TOKEN = re.compile(r"#?[a-zäöüß][a-zäöüß0-9-]{2,}")
STOPWORDS = frozenset(
    """aber alle allem allen aller alles als also am an ander andere anderen auch auf aus bei beim bin bis bist
    da dabei damit dann das dass dem den denn der des dessen deshalb die dies diese diesem diesen dieser dieses
    doch dort du durch ein eine einem einen einer eines einfach er es etwas euch euer eure für gar gegen gibt
    habe haben hab hat hatte hier hin hinter ich ihr ihre ihm ihn ihnen im immer in ins ist ja jede jeder jetzt
    kann kein keine keinen können könnt man mal mehr mein meine mich mir mit muss müssen nach nicht nichts noch
    nun nur ob oder ohne schon sehr sein seine sich sie sind so soll sollen sollte über um und uns unser unsere
    unter viel vom von vor war waren warum was weil welche wenn wer werden wie wieder wieso will wir wird wo
    wurde würde zu zum zur zwar heute morgen gestern danke bitte leider gerade eigentlich echt einfach ganz
    the and you for this that with are not was""".split()
)


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


class TermBaseline:
    """Decayed document frequencies of a scope's usual vocabulary, bounded to `max_terms` entries.

    >>> baseline = TermBaseline()
    >>> baseline.learn(["Schöner Park heute", "Wann fährt der Bus?", "Der Park ist schön"] * 20)
    >>> baseline.top_terms(["Die Bäume in der Lindenallee!", "Lindenallee retten, Bäume bleiben"], k=2)
    ['bäume', 'lindenallee']
    """

    def __init__(self, max_terms: int = 5000, decay: float = 0.999):
        self.max_terms = max_terms
        self.decay = decay
        self._df: Counter[str] = Counter()
        self._docs = 0.0

    def learn(self, texts: Iterable[str]) -> None:
        for text in texts:
            self._docs = self._docs * self.decay + 1
            for term in set(tokens(text)):
                self._df[term] += 1
        if len(self._df) > 2 * self.max_terms:
            # keep the frequent terms: rare ones carry little weight as background anyway
            self._df = Counter(dict(self._df.most_common(self.max_terms)))

    def top_terms(self, texts: list[str], k: int = 5) -> list[str]:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(set(tokens(text)))
        if not counts:
            return []
        n = len(texts)
        background = max(self._docs, 1.0)
        scored = []
        for term, df in counts.items():
            if df < 2 and n > 3:
                continue
            usual = (self._df.get(term, 0) + 0.5) / (background + 1)
            lift = math.log((df / n) / usual)
            scored.append((lift * math.sqrt(df), term))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [term for _, term in scored[:k]]
