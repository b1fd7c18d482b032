"""German abuse lexicon (insults, slurs, dehumanising words, profanity) for the abuse feature columns.

Why: the toxicity head learns abuse as n-grams from GermEval 2018's political tweets and a few hundred corpus
rows, so a slur or an insulting compound it never saw scores like harmless text (model 0.5.3: "Kanaken verpesten
unseren Stadtpark, macht endlich was …" P(toxic) 0.13, "Zigeunerpack klaut wieder Kupferkabel am Bahnhof, …" 0.04;
benchmarks/topic_bias.py's held-out set). German builds new insults by
compounding ("Beamtenpack", "Bullenschweine", "Drecksbehörde"), which no list of whole words covers. A lexicon of
words and of compound heads and prefixes gives every such token a shared "insult" / "slur or dehumanising word"
signal, as the polarity lexicon (detectors/lexicon.py) does for opinion words. Profanity that is not aimed at
people ("Scheißwetter") is not toxic by the corpus convention, so it gets a column of its own: the heads can
learn that it is rough, not abusive.

Some words insult people only in a figurative use and name animals or history just as often: "Ratten am
Spielplatz", "die Opfer der Nazis" (model 0.6.0 scored the remembrance post "Wir trauern um Hannah Feldmann. Sie
überlebte Auschwitz und ... über die Verbrechen der Nazis" P(toxic) 0.79). Their whole-word entries have the kind
"ambiguous" and a column of their own; textfeatures.aimed_at moves a hit to the insult column when the text aims it
at someone ("ihr Nazis", "diese Ratten", "die sind Ratten"). Compounds built on them keep their kind
("Bullenschweine", "Sozialparasiten"): a compound names what it insults.

Source: `detectors/data/abuse_de.tsv`, written by the stormwatch project (CC BY 4.0), one entry per line (lines that
start with "#" are comments):
term, kind (insult, slur, dehumanising, profanity, ambiguous, except) and how it matches a lower-cased token:
- word: the token is the term or the term with a regular ending (ENDINGS);
- head: the token ends with the term (or the term with a regular ending) and at least MIN_STEM letters come
  before it: German compounds;
- prefix: the token starts with the term and at least MIN_STEM letters follow;
- kind "except" (match word): whole tokens, with the regular endings, that a head or prefix rule would match but
  that are harmless ("wildschweine", "einpacken").
A token is matched after its leading and trailing non-letters (quotes, hashtags, stars, emoji) are stripped; a
hyphenated token is matched whole (without its hyphens) and, if that fails, by its last part with the word and head
rules only ("Beamten-Pack" is abuse, "Nazi-Parolen" and "Anti-Nazi-Demo" are not read as insults).
A token the rules above do not match but that holds digits or masks is read as the word it disguises
(AbuseLexicon._kind_disguised: "A****loch", "V0ll1d10ten", "Idiot*innen"), so writing against a filter does not hide
an insult; codes and numbers ("B27", "6er-Pack") and gender stars on harmless words ("Bürger*innen") stay clean.
A model records the file's SHA-256 and RULES, so a changed lexicon or matcher cannot silently change its features.
"""
from __future__ import annotations

import functools
import hashlib
import pathlib
import re
from dataclasses import dataclass, field

from detectors.lexicon import LexiconError, check_digest

SOURCE = "stormwatch abuse_de.tsv"
PATH = pathlib.Path(__file__).resolve().parent / "data" / "abuse_de.tsv"
KINDS = ("insult", "slur", "dehumanising", "profanity", "ambiguous", "except")
MATCHES = ("word", "head", "prefix")
# The feature columns: which kinds each one counts.
COLUMNS = (("insult",), ("slur", "dehumanising"), ("profanity",), ("ambiguous",))
ENDINGS = ("", "e", "en", "n", "s", "es", "er", "in", "innen")
HEAD_ENDINGS = ("", "e", "en", "n", "s", "es")
MIN_STEM = 3
# The matching rules below (ENDINGS, MIN_STEM, kind_of, and textfeatures.mentioned_at and aimed_at): a model
# records this name and refuses another, because a rule change changes its features as much as a lexicon change.
# Bump on any change. v2 (model 0.6.1): the ambiguous column and aimed_at; v3 (model 0.6.2): disguised tokens
# (_kind_disguised) and heads need MIN_STEM letters, not characters, before them ("6er-pack"); v4 (model 0.6.3): "_"
# is no mask, disguised reading only up to _DISGUISE_MAX_CHARS.
RULES = "stormwatch-abuse-rules-v4"
_CACHE_LIMIT = 200_000
_CACHE_MAX_TOKEN = 64  # longer tokens (URL fragments, runs of letters) are matched but not cached


class AbuseLexiconError(LexiconError):
    """The abuse lexicon file is missing, malformed, or not the one a model was trained with."""


class AbuseTermsError(AbuseLexiconError):
    """A deployment's abuse terms file is missing, malformed, or given to a model without abuse features."""


def _fold(text: str) -> str:
    return text.replace("ß", "ss")


@dataclass
class AbuseLexicon:
    words: dict[str, str]  # folded token -> kind (regular endings expanded)
    heads: dict[str, str]  # folded compound head (endings expanded) -> kind
    prefixes: dict[str, str]  # folded prefix -> kind
    exceptions: frozenset[str]
    sha256: str
    # SHA-256 of a deployment's own terms merged in (with_local_terms), None for the shipped lexicon alone.
    local_sha256: str | None = None
    _cache: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._longest_head = max(map(len, self.heads), default=0)
        self._longest_prefix = max(map(len, self.prefixes), default=0)

    def kind_of(self, token: str) -> str | None:
        """The kind of a lower-cased token, or None. A hyphenated compound is read whole ("beamten-pack" as
        "beamtenpack") and, failing that, by its last part with the word and head rules: the last part of a German
        compound is what it is ("nazi-parolen" are slogans, "anti-nazi-demo" a demonstration)."""
        token = _fold(_strip_edges(token))
        if not token:
            return None
        kind = self._kind_plain(token)
        if kind is None and _DISGUISE_MARKS.search(token):
            kind = self._kind_disguised(token)
        return kind

    def _kind_plain(self, token: str) -> str | None:
        whole = token.replace("-", "")
        if whole in self.exceptions:
            return None
        kind = self._match(whole, prefixes=True)
        if kind is None and "-" in token:
            last = token.rsplit("-", 1)[1]
            if last and last not in self.exceptions:
                kind = self._match(last, prefixes=False)
        return kind

    def _kind_disguised(self, token: str) -> str | None:
        """The kind of a token written to slip past filters: a gender mark before -in/-innen ("idiot*innen"),
        digits for letters ("v0ll1d10ten", "hur3nsohn"), or letters masked inside the word ("a****loch",
        "h*rensohn"). Masks are fitted to the listed words, heads and prefixes of the same shape (_fitting); where
        the shapes fit words of several kinds, profanity wins, so a masked swear word aimed at nobody ("f***") stays
        harmless."""
        if len(token) > _DISGUISE_MAX_CHARS:
            return None
        token = _GENDER_MARK.sub("", token)
        if _LEET_DIGIT.search(token) and not _NUMBER_WORD.match(token):
            token = token.translate(_LEET)
        if not _MASK.search(token):
            return self._kind_plain(token)
        visible = _letters(token)
        if visible < 2 or visible < sum(1 for c in token if c in _MASK_CHARS):
            return None
        # As for plain tokens: whole words first, then compound heads, then prefixes (the mask in the part that fits).
        cuts = [(token[:cut], token[cut:]) for cut in range(1, len(token))]
        levels = (
            [kind for form, kind in _fitting(token, self.words) if form not in self.exceptions],
            # the part that fits must show letters of its own (a head its first), or masks alone would fit
            [kind for stem, tail in cuts if _MASK.search(tail) and tail[0].isalpha() and _letters(stem) >= MIN_STEM
             for _, kind in _fitting(tail, self.heads)],
            [kind for stem, tail in cuts if _MASK.search(stem) and _letters(stem) >= 2 and not _MASK.search(tail)
             and _letters(tail) >= MIN_STEM for _, kind in _fitting(stem, self.prefixes)],
        )
        kinds = next((set(level) for level in levels if level), set())
        if not kinds:
            return None
        return "profanity" if "profanity" in kinds else min(kinds)

    def _match(self, token: str, prefixes: bool) -> str | None:
        if token in self.exceptions:
            return None
        if token in self.words:
            return self.words[token]
        n = len(token)
        for start in range(max(MIN_STEM, n - self._longest_head), n - 1):  # longest head first
            kind = self.heads.get(token[start:])
            if kind is not None and _letters(token[:start]) >= MIN_STEM:  # "6er-pack" is a pack size
                return kind
        if prefixes:
            for end in range(min(n - MIN_STEM, self._longest_prefix), 1, -1):  # longest prefix first
                kind = self.prefixes.get(token[:end])
                if kind is not None:
                    return kind
        return None

    def column_of(self, token: str) -> int:
        """The feature column (index into COLUMNS) a lower-cased token counts in, or -1; cached per token."""
        column = self._cache.get(token)
        if column is None:
            kind = self.kind_of(token)
            column = next((i for i, kinds in enumerate(COLUMNS) if kind in kinds), -1)
            if len(token) <= _CACHE_MAX_TOKEN:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[token] = column
        return column

    def with_local_terms(self, local: "AbuseLexicon") -> "AbuseLexicon":
        """This lexicon plus a deployment's own terms (the same TSV format): a slur that spreads in one region, the
        insulting compound of this week's storm. The model's weights for the columns stay as trained, so a listed
        term counts like the shipped terms of its kind, at once and in every compound its head rule matches, without
        retraining. A local entry wins over a shipped one for the same token, and a local word or head undoes a
        shipped exception for it. `sha256` stays the shipped file's (what the model was trained with);
        `local_sha256` names the additions (load_local_terms)."""
        local_forms = set(local.words) | set(local.heads)
        return AbuseLexicon({**self.words, **local.words}, {**self.heads, **local.heads},
                            {**self.prefixes, **local.prefixes},
                            frozenset((self.exceptions - local_forms) | local.exceptions), self.sha256,
                            local_sha256=local.sha256)


def load_local_terms(path: str | pathlib.Path) -> AbuseLexicon:
    """A deployment's terms file, parsed (its `sha256` is the file's), or AbuseTermsError naming the file and, for a
    malformed entry, the line."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise AbuseTermsError(f"{path}: the abuse terms file does not exist (classifier.abuse_terms / "
                                "--abuse-terms; format: detectors/data/abuse_de.tsv)")
    try:
        return build(path.read_bytes(), str(path))
    except OSError as error:
        raise AbuseTermsError(f"{path}: cannot read the abuse terms file ({error.strerror})") from None
    except AbuseLexiconError as error:
        raise AbuseTermsError(str(error)) from None


# Disguised tokens (AbuseLexicon._kind_disguised). Digits read as letters only where they stand between letters or
# open a word of letters ("4rschl0ch"), not in codes and numbers ("b27", "s5", "3g", "4er-pack", "2026").
# "_" is a gender mark ("Lehrer_innen"), not a mask: as a mask it read hashtags and codes as abuse ("#KA_Polizei" as
# "kack…", "Rathaus_e" as "…säue"; review of 0.6.2).
_MASK_CHARS = frozenset("*#")
_MASK = re.compile(r"[*#]")
_MASK_RUNS = re.compile(r"[*#]+|[^*#]+")
# Longer tokens are hashes and pasted fragments, not disguised insults; fitting masks costs about the square of the
# length (83 ms for a 242-character token).
_DISGUISE_MAX_CHARS = 40
_GENDER_MARK = re.compile(r"[*_](?=in(nen)?$)")
_LEET = str.maketrans("013457$", "oieasts")
_LEET_DIGIT = re.compile(r"(?<=[^\W\d_])[013457$]+(?=[^\W\d_])|^[013457$](?=[^\W\d_]{4})")
_NUMBER_WORD = re.compile(r"^\d+er")
_DISGUISE_MARKS = re.compile(r"[*#_0-9$]")


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def _fitting(masked: str, entries: dict[str, str]) -> list[tuple[str, str]]:
    """The entries (form, kind) that a masked token part could spell: one mask mark stands for one or two letters
    ("ß" is two), a run of two or more for two to six (normalise_batch shortens runs of a repeated character to
    two, so "a****loch" arrives as "a**loch")."""
    pattern = re.compile("".join(
        ("[^\\W\\d_]{1,2}" if len(run) == 1 else "[^\\W\\d_]{2,6}") if run[0] in _MASK_CHARS else re.escape(run)
        for run in _MASK_RUNS.findall(masked)))
    return [(form, kind) for form, kind in entries.items() if pattern.fullmatch(form)]


def _strip_edges(token: str) -> str:
    """The token without leading and trailing characters that are neither letters nor digits (quotes, hashtags,
    obfuscation stars, emoji glued to the word: "idioten🤬" is "idioten")."""
    start, end = 0, len(token)
    while start < end and not token[start].isalnum():
        start += 1
    while end > start and not token[end - 1].isalnum():
        end -= 1
    return token[start:end]


def parse(text: str, source: str = str(PATH)) -> tuple[dict[str, str], dict[str, str], dict[str, str], frozenset[str]]:
    """Words, heads, prefixes and exceptions of the TSV text; a malformed line raises AbuseLexiconError naming it."""
    lines = text.splitlines()
    if not lines or lines[0].split("\t") != ["term", "kind", "match"]:
        raise AbuseLexiconError(f"{source}: line 1 must be the header 'term<TAB>kind<TAB>match'")
    entries: dict[str, dict[str, str]] = {m: {} for m in MATCHES}
    exceptions: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("#"):  # comments: a deployment notes why and when it added a term
            continue
        cells = line.split("\t")
        if len(cells) != 3:
            raise AbuseLexiconError(f"{source}: line {number}: expected 3 tab-separated cells, got {len(cells)}")
        term, kind, match = (c.strip() for c in cells)
        if not term or term != term.lower() or any(c.isspace() for c in term):
            raise AbuseLexiconError(f"{source}: line {number}: term {term!r} must be one lower-case token")
        if kind not in KINDS:
            raise AbuseLexiconError(f"{source}: line {number}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if match not in MATCHES:
            raise AbuseLexiconError(f"{source}: line {number}: match {match!r} is not one of {', '.join(MATCHES)}")
        if kind == "except" and match != "word":
            raise AbuseLexiconError(f"{source}: line {number}: an 'except' entry matches whole tokens (match word)")
        if (term, match) in seen:
            raise AbuseLexiconError(f"{source}: line {number}: {term!r} ({match}) is listed twice")
        seen.add((term, match))
        folded = _fold(term)
        if kind == "except":
            exceptions.update(folded + ending for ending in ENDINGS)
        elif match == "word":
            for ending in ENDINGS:
                entries["word"].setdefault(folded + ending, kind)
            entries["word"][folded] = kind  # a listed form wins over another entry's expansion
        elif match == "head":
            for ending in HEAD_ENDINGS:
                entries["head"].setdefault(folded + ending, kind)
            entries["head"][folded] = kind
        else:
            entries["prefix"][folded] = kind
    return entries["word"], entries["head"], entries["prefix"], frozenset(exceptions)


def build(raw: bytes, source: str = str(PATH)) -> AbuseLexicon:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AbuseLexiconError(f"{source}: not UTF-8 ({error})") from None
    return AbuseLexicon(*parse(text, source), sha256=hashlib.sha256(raw).hexdigest())


@functools.lru_cache(maxsize=1)
def load_abuse_lexicon() -> AbuseLexicon:
    if not PATH.is_file():
        raise AbuseLexiconError(f"the abuse lexicon {PATH} is missing (it ships with stormwatch; restore it from git)")
    return build(PATH.read_bytes(), str(PATH))


def checked_abuse_lexicon(expected_sha256: str, expected_rules: str | None) -> AbuseLexicon:
    """The shipped abuse lexicon, if it and the matching rules are the ones a model was trained with."""
    if expected_rules != RULES:
        raise AbuseLexiconError(f"the model's abuse features were computed with the matching rules {expected_rules!r}, "
                                f"this stormwatch has {RULES!r}; retrain the model or use the stormwatch version it "
                                "was trained with")
    lexicon = load_abuse_lexicon()
    check_digest(lexicon.sha256, expected_sha256, SOURCE, "the abuse_de.tsv of the model's stormwatch version",
                 AbuseLexiconError)
    return lexicon
