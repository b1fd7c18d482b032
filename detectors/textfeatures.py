"""Text normalisation and stateless, batch-vectorised hashed n-gram features for training and inference."""
from __future__ import annotations

import os
import re
import zlib
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from detectors.abuse_lexicon import COLUMNS as ABUSE_COLUMNS
from detectors.abuse_lexicon import RULES as ABUSE_RULES
from detectors.abuse_lexicon import SOURCE as ABUSE_SOURCE
from detectors.abuse_lexicon import (AbuseLexicon, AbuseTermsError, checked_abuse_lexicon, load_abuse_lexicon,
                                     load_local_terms)
from detectors.emoji_lexicon import SOURCE as EMOJI_SOURCE
from detectors.emoji_lexicon import EmojiLexicon, checked_emoji_lexicon, load_emoji_lexicon
from detectors.lexicon import SOURCE as LEXICON_SOURCE
from detectors.lexicon import checked_lexicon, load_lexicon

MAX_CHARS = 2000
FEATURE_SCHEME = "stormwatch-hash-v1"

# Everything that defines the feature space lives here, so model.json can record it and
# inference can rebuild exactly the feature space that training used.
DEFAULT_FEATURES: dict[str, Any] = {
    "scheme": FEATURE_SCHEME,
    "max_chars": MAX_CHARS,
    "word": {"n_features": 2**18, "ngram_range": [1, 2], "weight": 1.0},
    "char": {"n_features": 2**18, "ngram_range": [3, 5], "weight": 1.0},
}


def default_features(lexicon_weight: float = 0.0, emoji_weight: float = 0.0,
                     abuse_weight: float = 0.0) -> dict[str, Any]:
    """DEFAULT_FEATURES plus, for a weight > 0, the installed polarity lexicon, the emoji lexicon and the shipped
    abuse lexicon (each recorded by its SHA-256)."""
    features = {**DEFAULT_FEATURES}
    if abuse_weight > 0:
        features["abuse"] = {"source": ABUSE_SOURCE, "sha256": load_abuse_lexicon().sha256, "rules": ABUSE_RULES,
                             "weight": abuse_weight}
    if lexicon_weight > 0:
        features["lexicon"] = {"source": LEXICON_SOURCE, "sha256": load_lexicon().sha256, "weight": lexicon_weight}
    if emoji_weight > 0:
        features["emoji"] = {"source": EMOJI_SOURCE, "sha256": load_emoji_lexicon().sha256, "weight": emoji_weight}
    return features


_SEP = "\x00"  # joins a whole batch into one string so each regex runs once per batch, not per text
# Two literal-prefix patterns scan far faster than one alternation.
_URLS = (re.compile(r"https?://[^\s\x00]+"), re.compile(r"www\.[^\s\x00]+"))
_MENTION = re.compile(r"@\w+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_PUNCT_CODES = np.array([ord(c) for c in '?!.,;:()"'], dtype=np.uint32)
_PRIME = np.uint32(0x01000193)
_GOLDEN = np.uint32(0x9E3779B1)
_NGRAM_SEED = 0x2545F491  # times n: each n-gram length hashes into the buckets with its own seed

_QUESTION_WORDS = frozenset(
    "wann wo wie was warum wieso weshalb weswegen wer wem wen wessen welche welcher welches welchen "
    "wohin woher womit wozu wieviel wieviele inwiefern".split()
)
# German yes/no questions put the finite verb first ("Ist die Straße gesperrt?").
_FINITE_VERBS = frozenset(
    "ist sind war waren hat haben habt hatte gibt gab kann kannst können könnt könnte könnten darf "
    "dürfen muss müssen musste wird werden wurde soll sollen sollte sollten will wollen weiß wisst "
    "bekomme bekommt kommt kommen fährt fahren geht gilt läuft brauche braucht".split()
)
_TRAILING = " )😡🤔🙄😠🙏!.\u200d\ufe0f"



def code_points(joined: str) -> tuple[str, np.ndarray]:
    """The string and its code points as uint32. A lone surrogate (from broken JSON such as "\\ud83d") cannot be
    encoded and would fail the whole batch; it becomes U+FFFD, one code point for one, which no feature counts
    (a "?" would look like a question)."""
    try:
        return joined, np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        joined = _SURROGATE.sub("\ufffd", joined)
        return joined, np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)


def normalise_batch(texts: Sequence[str]) -> list[str]:
    """Lower-cased, truncated texts with URLs/user mentions replaced and runs of 3+ equal chars squashed."""
    if not texts:
        return []
    joined = _SEP.join(" ".join(t[:MAX_CHARS].replace(_SEP, " ").split()) for t in texts)
    for pattern in _URLS:
        joined = pattern.sub(" xxurl ", joined)
    joined = _MENTION.sub(" xxuser ", joined).lower()
    joined, cp = code_points(joined)
    run = (cp[2:] == cp[1:-1]) & (cp[1:-1] == cp[:-2]) & (cp[2:] != 0)
    if run.any():
        keep = np.concatenate([[True, True], ~run])
        joined = cp[keep].tobytes().decode("utf-32-le")
    return joined.split(_SEP)


def meta_tokens(text: str) -> str:
    """Pseudo-words for surface cues that n-grams see poorly (question form, shouting).

    No length token: in a small corpus length correlates with polarity by accident, and it
    made long neutral news texts look negative out of domain.
    """
    text = text[:MAX_CHARS].strip()
    if not text:
        return "xxempty"
    tokens = []
    if "?" in text:
        tokens.append("xxqmark")
        if text.rstrip(_TRAILING).endswith("?"):
            tokens.append("xxqend")
    words = text.split(None, 6)
    first = words[0].strip(",.:;!?\"'").lower()
    if first in _QUESTION_WORDS:
        tokens.append("xxqword")
    elif first in _FINITE_VERBS:
        tokens.append("xxvfirst")
    elif any(w.strip(",.!?").lower() in _QUESTION_WORDS for w in words[1:6]):
        tokens.append("xxqwordearly")
    if text.isupper() and len(text) > 8:
        tokens.append("xxcaps")
    if "!!" in text:
        tokens.append("xxexcl")
    return " ".join(tokens)


# Long texts are scored as chunks no longer than the training texts (see split_chunks).
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s+|\s*\n\s*")


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Greedily joins consecutive pieces (sentences or words) into chunks of at most max_chars characters."""
    chunks, current = [], ""
    for piece in pieces:
        if current and len(current) + 1 + len(piece) > max_chars:
            chunks.append(current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def chunk_text(text: str, max_chars: int) -> list[str]:
    """Sentence-aligned chunks of at most max_chars characters (a longer sentence is cut at spaces).

    Only the first MAX_CHARS characters count, as for an unchunked text. A text that fits is its own
    single chunk, so short texts are scored exactly as before.
    """
    text = text[:MAX_CHARS]
    if len(text) <= max_chars:
        return [text]
    pieces = []
    for sentence in _SENTENCE_END.split(text):
        if len(sentence) <= max_chars:
            pieces.append(sentence)
        else:
            # A word longer than max_chars stays whole: an oversized chunk is harmless, losing text is not.
            pieces.extend(_pack(sentence.split(), max_chars))
    return _pack([p for p in pieces if p], max_chars) or [text]


def split_chunks(texts: Sequence[str], max_chars: int) -> tuple[list[str], np.ndarray | None]:
    """All chunks of a batch in text order and, per chunk, the index of its text.

    Returns (texts, None) when no text is longer than max_chars (or max_chars <= 0: no chunking), the
    common case for comment streams, so callers can skip the recombination.
    """
    if max_chars <= 0 or all(len(t) <= max_chars for t in texts):
        return list(texts), None
    chunks, owner = [], []
    for i, text in enumerate(texts):
        parts = chunk_text(text, max_chars) if len(text) > max_chars else [text]
        chunks.extend(parts)
        owner.extend([i] * len(parts))
    return chunks, np.asarray(owner, dtype=np.int64)


def _bucket(h: np.ndarray, seed: int, bits: int) -> np.ndarray:
    """Multiply-shift hashing: the top bits of (h ^ seed) * odd constant index the bucket."""
    return (((h ^ np.uint32(seed)) * _GOLDEN) >> np.uint32(32 - bits)).astype(np.int32)


def _rows_to_csr(doc: np.ndarray, cols: np.ndarray, valid: np.ndarray, n_docs: int, bits: int) -> sp.csr_matrix:
    """CSR from position-ordered n-grams without sorting; duplicate columns stay unsummed (products still add up).

    Rows are scaled by 1/sqrt(n-gram count): the L2 norm if all n-grams were distinct, which avoids
    the sort that exact duplicate summing would need.
    """
    doc, cols = doc[valid], cols[valid]
    counts = np.bincount(doc, minlength=n_docs)[:n_docs]
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    scale = (1.0 / np.sqrt(np.maximum(counts, 1))).astype(np.float32)
    return sp.csr_matrix((scale[doc], cols, indptr), shape=(n_docs, 1 << bits))


def _ngram_grid(codes: np.ndarray, is_sep: np.ndarray, lo: int, hi: int, bits: int):
    """Rolling polynomial hashes of all n-grams (lo..hi) as a (position, n) grid, so the flattened
    grid is in document order."""
    m = len(codes)
    grid = np.zeros((m, hi - lo + 1), dtype=np.int32)
    valid = np.zeros((m, hi - lo + 1), dtype=bool)
    h = np.zeros(m, dtype=np.uint32)
    ok = np.ones(m, dtype=bool)
    for n in range(1, hi + 1):
        span = m - n + 1
        if span <= 0:
            break
        h = h[:span] * _PRIME + codes[n - 1:]
        ok = ok[:span] & ~is_sep[n - 1:]
        if n >= lo:
            grid[:span, n - lo] = _bucket(h, n * _NGRAM_SEED, bits)
            valid[:span, n - lo] = ok
    return grid.ravel(), valid.ravel()


def _hashed(codes: np.ndarray, is_sep: np.ndarray, n_docs: int, n_features: int, ngram_range) -> sp.csr_matrix:
    bits = int(n_features).bit_length() - 1
    if 1 << bits != n_features:
        raise ValueError(f"n_features must be a power of two, got {n_features}")
    lo, hi = (int(v) for v in ngram_range)
    grid, valid = _ngram_grid(codes, is_sep, lo, hi, bits)
    doc = np.repeat(np.cumsum(is_sep), hi - lo + 1)
    return _rows_to_csr(doc, grid, valid, n_docs, bits)


def _space_out_punctuation(text: str) -> str:
    """Surround punctuation with spaces (numpy on code points: several times faster than re.sub)."""
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    punct = np.isin(cp, _PUNCT_CODES)
    if not punct.any():
        return text
    width = 1 + 2 * punct.astype(np.int64)
    start = np.cumsum(width) - width
    out = np.full(int(width.sum()), 32, dtype=np.uint32)
    out[start + punct] = cp
    return out.tobytes().decode("utf-32-le")


def word_features(docs: list[str], n_features: int, ngram_range: Sequence[int],
                  lexicon: dict[str, float] | None = None, lexicon_weight: float = 1.0,
                  abuse: AbuseLexicon | None = None, abuse_weight: float = 1.0) -> sp.csr_matrix:
    """Hashed word n-grams; ?!.,;:() and quotes are split off as tokens, emoji stay where spaces put them.

    With a polarity lexicon, two more columns (the hash buckets of the pseudo-words LEXICON_TOKENS) hold the
    share of the text's tokens that are negative resp. positive lexicon words, weighted by their polarity; with
    an abuse lexicon, five more (ABUSE_TOKENS) say how many insults, slurs or dehumanising words, profanities,
    unaimed words with a literal sense and mentioned listed words the text holds (abuse_block).
    """
    tokens = _space_out_punctuation((" " + _SEP + " ").join(docs)).split()
    vocab = {t: zlib.crc32(t.encode("utf-8")) for t in set(tokens)}
    codes = np.fromiter(map(vocab.__getitem__, tokens), dtype=np.uint32, count=len(tokens))
    is_sep = codes == np.uint32(vocab.get(_SEP, 0)) if _SEP in vocab else np.zeros(len(codes), dtype=bool)
    x = _hashed(codes, is_sep, len(docs), n_features, ngram_range)
    if lexicon is not None:
        x = x + _lexicon_block(tokens, vocab, is_sep, len(docs), n_features, lexicon, lexicon_weight)
    if abuse is not None:
        x = _append_entries(x, abuse_block(tokens, vocab, is_sep, len(docs), n_features, abuse, abuse_weight))
    return x


# Pseudo-words whose unigram hash buckets carry the abuse counts: one per abuse_lexicon.COLUMNS entry, then one for
# listed words that are mentioned rather than used, whatever their kind (mentioned_at).
ABUSE_TOKENS = ("xxinsult", "xxslur", "xxprofanity", "xxambiguous", "xxmentioned")
# Quotation marks as comments type them. Double marks open and close quotes of any length ("er rief „Du Wichser!“
# und ging"): a listed word after an odd number of them in its text is inside a quote. Single marks double as
# apostrophes ("hab'", "geht's"), so they count only attached to the listed word itself ("als 'Idiot'").
_DOUBLE_QUOTES = frozenset('"„“”«»‹›')
_QUOTE_MARKS = _DOUBLE_QUOTES | frozenset("'‚‘’")
# "als X beschimpft / bezeichnet / genannt": the frame of a report, a police notice or a victim's question.
_REPORTING_VERBS = ("beschimpf", "bezeichn", "genannt", "nannte", "nennt", "nennen", "betitel", "tituliert", "beleidig",
                    "gerufen", "rief", "angebrüllt", "angeschrien", "gemobbt", "verunglimpf", "diffamier", "beworfen")
# "das Wort X", "Begriffe wie X": talk about the word. Only right before it, past articles and "wie".
_WORD_NOUNS = frozenset("wort worte wörter wörtern begriff begriffe begriffs begriffen ausdruck ausdrücke ausdrücken "
                        "bezeichnung bezeichnungen schimpfwort schimpfwörter schimpfwörtern".split())
_WORD_NOUN_FILLERS = frozenset({"wie", "das", "der", "die", "den", "dem", "des", ":", '"'})
_QUOTE_LOOKBACK = 200  # tokens; a quote opened further back in a long text is not looked for


def _near(tokens: list[str], i: int, before: int, after: int) -> tuple[list[str], list[str]]:
    """Up to `before` tokens before position i (nearest first) and `after` tokens after it, within i's text."""
    left, right = [], []
    for j in range(i - 1, max(i - before, 0) - 1, -1):
        if tokens[j] == _SEP:
            break
        left.append(tokens[j])
    for j in range(i + 1, min(i + after + 1, len(tokens))):
        if tokens[j] == _SEP:
            break
        right.append(tokens[j])
    return left, right


def _double_marks(token: str) -> int:
    return (token[0] in _DOUBLE_QUOTES) + (len(token) > 1 and token[-1] in _DOUBLE_QUOTES)


def mentioned_at(tokens: list[str], i: int) -> bool:
    """Whether the listed word at position i is mentioned rather than used: inside quotation marks ("als 'Hurensohn'
    beschimpft", 'sprühten "Kanaken raus"', "rief „Du Wichser!“"), in a report's frame ("als Wichser bezeichnet"),
    or named as a word ("Begriffe wie Gesindel"). A police report or a victim's question uses the word this way; an
    insult does not."""
    token = tokens[i]
    if token[0] in _QUOTE_MARKS or token[-1] in _QUOTE_MARKS:
        return True
    left, right = _near(tokens, i, _QUOTE_LOOKBACK, 4)
    if sum(_double_marks(t) for t in left) % 2 == 1:
        return True
    if "als" in left[:3] and any(t.startswith(_REPORTING_VERBS) for t in right):
        return True
    for t in left[:4]:
        if t in _WORD_NOUNS:
            return True
        if t not in _WORD_NOUN_FILLERS:
            return False
    return False


_INSULT = ABUSE_COLUMNS.index(("insult",))
_AMBIGUOUS = ABUSE_COLUMNS.index(("ambiguous",))
# Words right before a listed word that aim it at someone: an address ("ihr Nazis", "du Schwein", "seid Ratten"), a
# pointer ("diese Ratten", "solche Parasiten", "alles Nazis") or a comparison ("wie Ratten", Bavarian "wia").
_AIMING_WORDS = frozenset("du ihr euch dich dir seid bist wart dieser diese dieses diesen diesem solche solcher "
                          "solches solchen alles wie wia son so'n sone".split())
_AIMING_FILLERS = frozenset("ein eine einen einem einer ne nen 'n n doch halt nur alle echt total richtige "
                            "richtig elende elenden dreckige dreckigen verdammte verdammten".split())
# A predicate ("Die Flüchtlinge sind Ratten", "der Amtsleiter ist ein Nazi") aims the word too, unless its clause
# opens with a place, a time or "es": then "sind" says where the animals are ("Im Keller sind Ratten", "Seit Wochen
# sind Ratten am Spielplatz", "Hier sind überall Ratten").
_PREDICATE_VERBS = frozenset("sind ist is war waren san sin sünd".split())
_EXISTENTIAL_OPENERS = frozenset(
    "in im ins am an auf aufm bei beim vom von zu zum zur aus hinter hinterm unter unterm über überm vor vorm neben "
    "seit nach durch gegenüber innerhalb außerhalb hier da dort drüben überall draußen drinnen drin heute gestern "
    "jetzt momentan derzeit wieder schon noch es leider nachts tagsüber morgens abends ständig immer oft manchmal "
    "mittlerweile inzwischen letzte letzten letztes".split())
_CLAUSE_BOUNDARIES = frozenset({".", "!", "?", ";", ":", ",", _SEP})
_CLAUSE_LOOKBACK = 12  # tokens


def aimed_at(tokens: list[str], i: int) -> bool:
    """Whether the word at position i is aimed at someone: an aiming word (_AIMING_WORDS) or a predicate verb
    outside an existential clause among the three tokens before it, with only indefinite articles, particles and a
    few swear adjectives (_AIMING_FILLERS) between ("ihr seid die letzten Ratten" is not seen: "die" stops it)."""
    left, _ = _near(tokens, i, 3, 0)
    for back, t in enumerate(left, start=1):
        if t in _AIMING_WORDS:
            return True
        if t in _PREDICATE_VERBS:
            return _clause_opener(tokens, i - back) not in _EXISTENTIAL_OPENERS
        if t not in _AIMING_FILLERS:
            return False
    return False


def _clause_opener(tokens: list[str], j: int) -> str:
    """The first token of the clause that position j is in (at most _CLAUSE_LOOKBACK tokens back)."""
    opener = tokens[j]
    for k in range(j - 1, max(j - _CLAUSE_LOOKBACK, 0) - 1, -1):
        if tokens[k] in _CLAUSE_BOUNDARIES:
            break
        opener = tokens[k]
    return opener


def abuse_block(tokens: list[str], vocab: dict[str, int], is_sep: np.ndarray, n_docs: int, n_features: int,
                abuse: AbuseLexicon, weight: float) -> sp.csr_matrix:
    """Per text and column, k / (k + 1) times `weight` for k matching tokens: a presence with diminishing
    returns, not a share, because one slur makes a long comment abusive (GermEval 2018 labels it so).

    A listed word that is mentioned rather than used (mentioned_at) counts in the last column instead of its
    kind's: a police report or a victim's question names the word without insulting anyone, and the heads can
    learn the difference only if the feature keeps it. A word with a literal sense (kind "ambiguous") counts as an
    insult when the text aims it at someone (aimed_at), else in its own column.
    """
    column_of = {t: abuse.column_of(t) for t in vocab}
    column = np.fromiter(map(column_of.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    hits = np.flatnonzero(column >= 0)
    for i in hits:  # hits are few; the context rules run on them only
        if mentioned_at(tokens, i):
            column[i] = len(ABUSE_COLUMNS)
        elif column[i] == _AMBIGUOUS and aimed_at(tokens, i):
            column[i] = _INSULT
    doc = np.cumsum(is_sep)
    counts = np.zeros((n_docs, len(ABUSE_TOKENS)))
    np.add.at(counts, (doc[hits], column[hits]), 1.0)
    values = counts / (counts + 1.0) * weight
    columns = _pseudo_word_columns(ABUSE_TOKENS, n_features)
    rows, cols = np.nonzero(values)
    return sp.csr_matrix((values[rows, cols].astype(np.float32), (rows, columns[cols])), shape=(n_docs, n_features))


# Pseudo-words whose unigram hash buckets carry the lexicon shares (so the model format needs no new block).
LEXICON_TOKENS = ("xxlexneg", "xxlexpos")


def _lexicon_block(tokens: list[str], vocab: dict[str, int], is_sep: np.ndarray, n_docs: int, n_features: int,
                   lexicon: dict[str, float], weight: float) -> sp.csr_matrix:
    # A share, not a count or 1/sqrt(n) value: a long report with two negative words is not a negative text.
    polarity_of = {t: lexicon.get(t, 0.0) for t in vocab}
    polarity = np.fromiter(map(polarity_of.__getitem__, tokens), dtype=np.float64, count=len(tokens))
    doc = np.cumsum(is_sep)
    n_tokens = np.bincount(doc[~is_sep], minlength=n_docs)[:n_docs]
    negative = np.bincount(doc, weights=np.maximum(-polarity, 0.0), minlength=n_docs)[:n_docs]
    positive = np.bincount(doc, weights=np.maximum(polarity, 0.0), minlength=n_docs)[:n_docs]
    shares = np.stack([negative, positive], axis=1) / np.maximum(n_tokens, 1)[:, None] * weight
    return _share_columns(shares, _pseudo_word_columns(LEXICON_TOKENS, n_features), n_features)


# Pseudo-words whose unigram hash buckets carry the emoji shares, as LEXICON_TOKENS do for words.
EMOJI_TOKENS = ("xxemoneg", "xxemopos")


def _pseudo_word_columns(tokens: Sequence[str], n_features: int) -> np.ndarray:
    """The word-block buckets these pseudo-words would have as unigrams."""
    bits = int(n_features).bit_length() - 1
    return _bucket(np.array([zlib.crc32(t.encode("utf-8")) for t in tokens], dtype=np.uint32), 1 * _NGRAM_SEED, bits)


def _share_columns(shares: np.ndarray, columns: np.ndarray, n_features: int) -> sp.csr_matrix:
    n_docs = len(shares)
    return sp.csr_matrix((shares.ravel().astype(np.float32), np.tile(columns, n_docs),
                          np.arange(0, 2 * n_docs + 1, 2)), shape=(n_docs, n_features))


# Classes of code points for emoji_block: letters and digits, roughly (ASCII, Latin-1 and Latin Extended without
# × and ÷, Greek, Cyrillic, Hebrew, Arabic; a run of them is one unit, so "Путин 😡" is half an angry emoji, as
# "Merz 😡" is), and the emoji the lexicon lists.
_OTHER, _WORD, _EMOJI = 0, 1, 2
_WORD_RANGES = ((ord("0"), ord("9")), (ord("a"), ord("z")), (0xC0, 0x24F), (0x370, 0x52F), (0x5D0, 0x6FF))


_unit_class_tables: dict[str, np.ndarray] = {}  # per lexicon digest: built once, looked up for every batch


def _unit_classes(lexicon: EmojiLexicon) -> np.ndarray:
    classes = _unit_class_tables.get(lexicon.sha256)
    if classes is None:
        classes = np.zeros(len(lexicon.known), dtype=np.uint8)
        for lo, hi in _WORD_RANGES:
            classes[lo:hi + 1] = _WORD
        classes[[0xD7, 0xF7]] = _OTHER
        classes[lexicon.known] = _EMOJI
        _unit_class_tables[lexicon.sha256] = classes
    return classes


def emoji_block(docs: Sequence[str], n_features: int, lexicon: EmojiLexicon, weight: float) -> sp.csr_matrix:
    """Two word-block columns: the polarity-weighted share of negative resp. positive emoji among a text's units.

    Units are the runs of letters and digits plus the listed emoji, so "😡😡" (no words) has a negative share of
    |polarity(😡)| and one "😊" at the end of a long report hardly counts, as with the word lexicon. Skin tones,
    variation selectors and joiners are not listed and count for nothing; an emoji sequence counts by its listed
    parts. Expects normalised (lower-cased) texts.
    """
    _, cp = code_points(_SEP.join(docs))
    # One lookup per code point; everything else touches only word starts and emoji (a batch is mostly letters).
    unit = _unit_classes(lexicon)[np.minimum(cp, len(lexicon.known) - 1)]
    word = unit == _WORD
    word_starts = np.flatnonzero(word & ~np.concatenate([[False], word[:-1]]))
    emoji_at = np.flatnonzero(unit == _EMOJI)
    separators = np.flatnonzero(cp == 0)
    n_docs = len(docs)

    def per_doc(positions: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        doc = np.searchsorted(separators, positions, side="right")
        return np.bincount(doc, weights=weights, minlength=n_docs)[:n_docs].astype(np.float64)

    polarity = lexicon.polarity[cp[emoji_at]].astype(np.float64)
    units = per_doc(word_starts) + per_doc(emoji_at)
    negative = per_doc(emoji_at, np.maximum(-polarity, 0.0))
    positive = per_doc(emoji_at, np.maximum(polarity, 0.0))
    shares = np.stack([negative, positive], axis=1) / np.maximum(units, 1)[:, None] * weight
    return _share_columns(shares, _pseudo_word_columns(EMOJI_TOKENS, n_features), n_features)


def _append_entries(x: sp.csr_matrix, extra: sp.csr_matrix) -> sp.csr_matrix:
    """x with the non-zero entries of `extra` appended at the end of each row.

    Not `x + extra`: a sparse sum re-orders every row's entries, and a dot product in another order differs in
    the last bits, so a text without emoji would score (by ~1e-7) differently from a model without the emoji
    block, and differently with or without an emoji text in its batch. A column that x already holds in a row
    (a hash collision) appears twice, which sparse products sum, as they would after `x + extra`.
    """
    extra = extra.tocsr(copy=True)
    extra.eliminate_zeros()
    if not extra.nnz:
        return x
    x_counts, extra_counts = np.diff(x.indptr), np.diff(extra.indptr)
    indptr = x.indptr + extra.indptr
    x_at = np.arange(x.nnz) + np.repeat(extra.indptr[:-1], x_counts)
    extra_at = np.arange(extra.nnz) + np.repeat(x.indptr[1:], extra_counts)
    data = np.empty(x.nnz + extra.nnz, dtype=x.dtype)
    indices = np.empty(x.nnz + extra.nnz, dtype=x.indices.dtype)
    data[x_at], indices[x_at] = x.data, x.indices
    data[extra_at], indices[extra_at] = extra.data, extra.indices
    return sp.csr_matrix((data, indices, indptr), shape=x.shape)


def char_features(docs: list[str], n_features: int, ngram_range: Sequence[int]) -> sp.csr_matrix:
    """Hashed character n-grams over the space-padded text (n-grams may span word boundaries)."""
    joined = _SEP.join(" " + d + " " for d in docs)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    return _hashed(codes, codes == 0, len(docs), n_features, ngram_range)


class Featurizer:
    """Maps raw texts to a fixed-width sparse matrix; stateless, so only its settings are stored."""

    def __init__(self, settings: dict[str, Any] | None = None, abuse_terms: str | os.PathLike | None = None):
        """`abuse_terms`: a deployment's own abuse terms (abuse_lexicon.AbuseLexicon.with_local_terms), for models
        with the abuse lexicon."""
        self.settings = settings or DEFAULT_FEATURES
        if self.settings.get("scheme") != FEATURE_SCHEME:
            raise ValueError(f"unknown feature scheme {self.settings.get('scheme')!r}")
        self.word = self.settings["word"]
        self.char = self.settings["char"]
        self.n_features = int(self.word["n_features"]) + int(self.char["n_features"])
        # Models before 0.4.0 have no lexicon settings and keep their exact feature space.
        lexicon = self.settings.get("lexicon")
        self._lexicon = checked_lexicon(lexicon["sha256"]).polarity if lexicon else None
        self._lexicon_weight = float(lexicon["weight"]) if lexicon else 1.0
        # Models before 0.5.2 have no emoji settings.
        emoji = self.settings.get("emoji")
        self._emoji = checked_emoji_lexicon(emoji["sha256"]) if emoji else None
        self._emoji_weight = float(emoji["weight"]) if emoji else 1.0
        # Models before 0.6.0 have no abuse lexicon.
        abuse = self.settings.get("abuse")
        self._abuse = checked_abuse_lexicon(abuse["sha256"], abuse.get("rules")) if abuse else None
        self._abuse_weight = float(abuse["weight"]) if abuse else 1.0
        if abuse_terms is not None:
            if self._abuse is None:
                raise AbuseTermsError(f"{abuse_terms}: this model has no abuse-lexicon features (models before 0.6.0), "
                                        "so it cannot use a deployment's abuse terms")
            self._abuse = self._abuse.with_local_terms(load_local_terms(abuse_terms))

    @property
    def abuse_lexicon(self) -> AbuseLexicon | None:
        return self._abuse

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """One matrix: word block, then char block (for training)."""
        return sp.hstack(self.transform_parts(texts), format="csr", dtype=np.float32)

    def transform_parts(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Word and char blocks separately, so inference can skip the costly hstack."""
        normalised = normalise_batch(texts)
        with_meta = [n + " " + meta_tokens(t) for n, t in zip(normalised, texts)]
        xw = word_features(with_meta, int(self.word["n_features"]), self.word["ngram_range"], self._lexicon,
                           self._lexicon_weight, self._abuse, self._abuse_weight)
        if self._emoji is not None:
            xw = _append_entries(xw, emoji_block(normalised, int(self.word["n_features"]), self._emoji,
                                                 self._emoji_weight))
        xc = char_features(normalised, int(self.char["n_features"]), self.char["ngram_range"])
        if float(self.word.get("weight", 1.0)) != 1.0:
            xw = xw * float(self.word["weight"])
        if float(self.char.get("weight", 1.0)) != 1.0:
            xc = xc * float(self.char["weight"])
        return xw, xc
