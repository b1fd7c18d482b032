"""Copy-paste campaigns: the share of near-duplicate texts in a bucket (MinHash over word shingles) as a surprise."""

from __future__ import annotations

import random
import re
import zlib
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from detectors.shares_surprise import ShareSurprise

_WORD = re.compile(r"\w+")
_PRIME = (1 << 31) - 1  # a Mersenne prime: a * h + b stays below 2**62 for 31-bit a, h, b, so uint64 never overflows


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    # fixed seed: the same text gets the same signature in every process and on every run
    rng = random.Random(20260302)
    a = np.array([rng.randrange(1, _PRIME) for _ in range(num_perm)], dtype=np.uint64)
    b = np.array([rng.randrange(0, _PRIME) for _ in range(num_perm)], dtype=np.uint64)
    return a[:, None], b[:, None]


def shingle_hashes(text: str, shingle_size: int = 2) -> list[int]:
    """31-bit CRC32 hashes of the word shingles of a text (lower-cased, punctuation dropped), deduplicated.

    CRC32, not Python's hash(), so that hashes do not change with PYTHONHASHSEED.

    >>> shingle_hashes("Rücktritt, sofort!") == shingle_hashes("rücktritt sofort")
    True
    """
    words = _WORD.findall(text.lower())
    if len(words) < shingle_size:
        grams = [" ".join(words)] if words else []  # a short text is one shingle of all its words
    else:
        grams = [" ".join(words[i : i + shingle_size]) for i in range(len(words) - shingle_size + 1)]
    return list({zlib.crc32(g.encode()) & 0x7FFFFFFF for g in grams})


def minhash_signatures(texts: Sequence[str], shingle_size: int = 2, num_perm: int = 32, min_words: int = 4) -> tuple[np.ndarray, list[int]]:
    """MinHash signatures (one row per kept text) and the indices of the texts kept (those with >= min_words words).

    All texts of a bucket are hashed in one vectorised pass, which is what makes this fast in Python.

    >>> sig, kept = minhash_signatures(["Die Stadt lügt uns alle an", "ok", "Die Stadt lügt uns alle an!"])
    >>> kept, sig.shape, bool((sig[0] == sig[1]).all())
    ([0, 2], (2, 32), True)
    """
    hashes: list[int] = []
    starts: list[int] = []
    kept: list[int] = []
    for i, text in enumerate(texts):
        if len(_WORD.findall(text)) < min_words:
            continue  # "Schande!" or an emoji repeats by chance, not by campaign
        h = shingle_hashes(text, shingle_size)
        starts.append(len(hashes))
        hashes.extend(h)
        kept.append(i)
    if not kept:
        return np.zeros((0, num_perm), dtype=np.uint64), kept
    a, b = _permutations(num_perm)
    values = (a * np.array(hashes, dtype=np.uint64)[None, :] + b) % _PRIME
    return np.minimum.reduceat(values, np.array(starts), axis=1).T.copy(), kept


def count_near_duplicates(
    texts: Sequence[str], shingle_size: int = 2, num_perm: int = 32, bands: int = 8, threshold: float = 0.5, min_words: int = 4
) -> int:
    """How many texts have at least one near-duplicate (estimated Jaccard >= threshold) among the others.

    Locality-sensitive hashing on bands of the signature finds candidates in linear time; each candidate is
    checked against the first text of its band bucket only, so a campaign of a thousand copies costs a
    thousand comparisons, not half a million.

    >>> base = "Die Stadtverwaltung hat die Bürger wieder einmal nicht gefragt und entscheidet über unsere Köpfe hinweg"
    >>> count_near_duplicates([base, base.replace("wieder einmal", "erneut"), "Wann ist das Bürgerbüro heute geöffnet bitte"])
    2
    """
    signatures, kept = minhash_signatures(texts, shingle_size, num_perm, min_words)
    n = len(kept)
    if n < 2:
        return 0
    rows = num_perm // bands
    duplicate = np.zeros(n, dtype=bool)
    for band in range(bands):
        block = signatures[:, band * rows : (band + 1) * rows]
        first: dict[bytes, int] = {}
        for i, key in enumerate(map(bytes, block)):
            j = first.setdefault(key, i)
            if j != i and not (duplicate[i] and duplicate[j]):
                if np.count_nonzero(signatures[i] == signatures[j]) >= threshold * num_perm:
                    duplicate[i] = duplicate[j] = True
    return int(duplicate.sum())


class CopyPasteCampaign:
    """Online detector of a raised share of near-duplicate texts in a bucket (copy-paste campaigns, bots).

    x is ``{"texts": [...]}``, the texts of one bucket of one scope. Texts with at least `min_words` words
    get a MinHash signature over word shingles (CRC32 plus 32 universal hash permutations, deterministic
    across processes); a text counts as a duplicate when another text of the same bucket reaches an
    estimated Jaccard similarity of `threshold`, so copies with small edits still count. The share of
    duplicates is judged by a ShareSurprise against the scope's usual share (some repetition is normal:
    "Danke!" threads, quoted slogans), learned from calm buckets only. Memory: only the current bucket's
    signatures while scoring, plus the few numbers of the share baseline.

    Parameters: see count_near_duplicates for the similarity ones; prior, halflife, min_count and
    learn_below are passed to the ShareSurprise on the duplicate share.

    >>> import random
    >>> rng = random.Random(1)
    >>> words = "Amt Stadt Bus Straße heute wann warum danke gut schlecht Bürger Rat Schule Park neu".split()
    >>> detector = CopyPasteCampaign()
    >>> calm = {"texts": [" ".join(rng.choices(words, k=8)) for _ in range(20)]}
    >>> for _ in range(50):
    ...     detector.learn_one(calm)
    >>> slogan = "Wir fordern den sofortigen Rücktritt des Bürgermeisters wegen des Skandals"
    >>> campaign = {"texts": calm["texts"] + [slogan + "!" * i for i in range(20)]}
    >>> detector.score_one(calm) < 0.05 < 0.9 < detector.score_one(campaign)
    True
    """

    def __init__(
        self,
        shingle_size: int = 2,
        num_perm: int = 32,
        bands: int = 8,
        threshold: float = 0.5,
        min_words: int = 4,
        prior: float = 0.05,
        halflife: float = 2000.0,
        min_count: float = 5.0,
        learn_below: float = 0.5,
    ):
        self.shingle_size = shingle_size
        self.num_perm = num_perm
        self.bands = bands
        self.threshold = threshold
        self.min_words = min_words
        self.prior = prior
        self.halflife = halflife
        self.min_count = min_count
        self.learn_below = learn_below
        self._share: ShareSurprise | None = None

    def _new_baseline(self) -> ShareSurprise:
        return ShareSurprise(
            "duplicates", prior=self.prior, halflife=self.halflife, min_count=self.min_count, learn_below=self.learn_below
        )

    def _baseline(self) -> ShareSurprise:
        if self._share is None:
            self._share = self._new_baseline()
        return self._share

    def counts(self, x: dict[str, Any]) -> dict[str, float]:
        """{"count", "duplicates"} of a bucket: what the share baseline sees (also useful for an explanation)."""
        texts = x.get("texts") or ()
        duplicates = count_near_duplicates(texts, self.shingle_size, self.num_perm, self.bands, self.threshold, self.min_words)
        return {"count": float(len(texts)), "duplicates": float(duplicates)}

    def score_one(self, x: dict[str, Any]) -> float:
        texts = x.get("texts") or ()
        if len(texts) < self.min_count:
            return 0.0  # skip the hashing: the share baseline would score 0 anyway
        # before any learning, a fresh baseline scores against the prior; it is not kept, so scoring changes no state
        share = self._share if self._share is not None else self._new_baseline()
        return share.score_one(self.counts(x))

    def learn_one(self, x: dict[str, Any]) -> None:
        texts = x.get("texts") or ()
        if not texts:
            return
        if len(texts) < self.min_count:
            # small buckets cannot be judged, but their repetition still belongs to the usual share
            bucket = {"count": float(len(texts)), "duplicates": 0.0}
            if len(texts) > 1:
                bucket = self.counts(x)
        else:
            bucket = self.counts(x)
        self._baseline().learn_one(bucket)
