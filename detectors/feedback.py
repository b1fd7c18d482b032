"""Learning from staff corrections: a fixed base TextClassifier, an online residual on top of it and an online
model of the corrections alone, mixed by how well each predicted the corrections; resettable at any time."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import pathlib
import tempfile
import zipfile
from datetime import datetime, timezone
from typing import Iterable, NamedTuple, Sequence

import numpy as np
import scipy.sparse as sp

from detectors.classifier import HEADS, POLARITY_LABELS, ModelError, TextClassifier, TextScores, sigmoid, softmax
from detectors.corpus import DEFAULT_CORPUS, load_corpus
from detectors.textfeatures import Featurizer

FORMAT = "stormwatch-adaptive-v5"
V1, V2, V3, V4 = ("stormwatch-adaptive-v1", "stormwatch-adaptive-v2", "stormwatch-adaptive-v3",
                  "stormwatch-adaptive-v4")
# v1 files (no replay reservoir), v2 files (no scratch learner, no correction days), v3 files (no familiarity
# gate) and v4 files (no threat corrections, base identified by model.json alone) still load; see load().
READABLE_FORMATS = (V1, V2, V3, V4, FORMAT)
STATE_FILE = "adaptive.json"
WEIGHTS_FILE = "residual.npz"
# Bounds on the hyperparameters: a learning rate above 2 makes one correction of a long text overshoot
# (the feature rows have a squared norm of about 2), and the residual may never outvote the base model entirely.
MAX_LEARNING_RATE = 2.0
MAX_SHIFT_LIMIT = 8.0
# The scratch learner's logits are clipped here: probabilities stay within about 3e-4..1-3e-4, so one confident
# mistake costs it at most about 8 nats in the mixture, and its weights cannot grow without bound.
SCRATCH_CLIP = 8.0
# Bounds on replay: more steps make `stormwatch correct` slower; a bigger reservoir makes the state file larger.
MAX_REPLAY = 20
MAX_RESERVOIR = 20_000
# The learners' output columns: the base model's five heads, then the threat kind (format v5). Staff correct a
# false "mögliche Drohung" flag; insult and abuse are not corrected (they pass through from the base model).
OUTPUTS = HEADS + ("threat",)
THREAT = len(HEADS)  # column of the threat logit
# Reservoir targets are int8, one per label group (polarity, toxic, question, threat): -1 means "not corrected".
NO_TARGET = -1
# Reservoir items carry the UTC day of their correction (days since 1970-01-01). Items from v1/v2 files have no
# day; they get this one, which is before every real cutoff, so the first purge drops them.
UNKNOWN_DAY = -1
# The three label groups the mixture weighs separately, as (first column, last column + 1) in HEADS order.
GROUPS = {"polarity": (0, 3), "toxic": (3, 4), "question": (4, 5), "threat": (5, 6)}
# The binary groups as (name, output column, target index).
THREAT_TARGET = 3  # index of the threat label in a target row
BINARY = (("toxic", 3, 1), ("question", 4, 2), ("threat", THREAT, THREAT_TARGET))
# The groups the model of the corrections alone may take over. Not the threat flag: staff review the texts an alert
# flagged, so threat corrections are mostly confirmations of flags, and a model of them alone learns "whatever is
# corrected is a threat" (benchmarks/threat_corrections.py). What a threat is does not change between deployments.
SCRATCH_GROUPS = ("polarity", "toxic", "question")
# Threat corrections teach only where the adapted model's flag is wrong or unsure: a correction whose label the
# model already gives with probability >= 0.5 + THREAT_MARGIN has no gradient (log loss truncated there, still
# convex). Confirming correct flags with the plain log loss raised P(threat) for every text a little, and the many
# harmless texts just under the alert's 0.5 flipped (benchmarks/threat_corrections.py). Fixed at 0.2 ("sure" at
# 0.7 or 0.3) before measuring, not tuned.
THREAT_MARGIN = 0.2
EXPERTS = ("adapted", "scratch")
# The familiarity gate (format v4): its bias learns slowly, like the experts' biases; its random draws of corpus
# texts come from a generator of their own, seeded with (seed, GATE_STREAM).
GATE_BIAS_LEARNING_RATE = 0.05
GATE_STREAM = 1
NO_NEGATIVE = -1  # reservoir items of an ungated model have no paired corpus row


@functools.lru_cache(maxsize=4)
def _corpus_sha256(corpus_path: str) -> str:
    """Identifies the gate's corpus: the paired corpus rows in the reservoir are indices into this very file."""
    return hashlib.sha256(pathlib.Path(corpus_path).read_bytes()).hexdigest()


@functools.lru_cache(maxsize=4)
def _corpus_size(corpus_path: str) -> int:
    """Rows of the gate's corpus: what a saved pair index must stay below (checked without featurising it)."""
    return len(load_corpus(corpus_path)["texts"])


@functools.lru_cache(maxsize=4)
def _background(features_json: str, corpus_path: str) -> "sp.csr_matrix":
    """The project corpus as hashed feature rows (word columns, then character columns): the gate's "known"
    texts. Cached per feature space, because benchmarks and relearning build many models on one base."""
    featurizer = Featurizer(json.loads(features_json))
    xw, xc = featurizer.transform_parts(load_corpus(corpus_path)["texts"])
    return sp.hstack([xw, xc], format="csr", dtype=np.float32)


def base_fingerprint(base: TextClassifier, version: str = FORMAT) -> str:
    """Identifies the base model a residual was learned for; a residual on another base model is meaningless.

    Since format v5 it covers model.json and every weight (TextClassifier.fingerprint); files of v1-v4 were
    stamped with model.json alone and are checked against that, so they keep loading after the upgrade."""
    if version == FORMAT:
        return base.fingerprint
    return hashlib.sha256(json.dumps(base.info, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def utc_day(at: datetime) -> int:
    """Days since 1970-01-01 of an aware datetime, in UTC."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("times must be timezone-aware (a naive time would be read in an unknown zone)")
    return (at.astimezone(timezone.utc).date() - datetime(1970, 1, 1).date()).days


class _LinearHeads:
    """Sparse linear logits for the OUTPUTS, SGD on the cross-entropy of the corrected heads, L2, clipped output.

    The same learner serves as the residual on top of the base model (offset = calibrated base logits), as the
    model of the corrections alone (offset = 0) and, with one output, as the familiarity gate (`_FamiliarityGate`).
    """

    def __init__(self, n_features: int, learning_rate: float, bias_learning_rate: float, l2: float, clip: float,
                 n_out: int = len(OUTPUTS)):
        self.n_features = n_features
        self.learning_rate, self.bias_learning_rate, self.l2, self.clip = learning_rate, bias_learning_rate, l2, clip
        # Dense is simplest and fast; 2**19 x 6 float32 is 12 MB in memory, saved sparse.
        self.w = np.zeros((n_features, n_out), dtype=np.float32)
        self.scale = 1.0  # the effective weights are scale * w, so L2 shrinkage costs O(1) per step
        self.b = np.zeros(n_out, dtype=np.float64)

    def one(self, idx: np.ndarray, val: np.ndarray) -> np.ndarray:
        """Clipped output for one sparse row, shape (len(OUTPUTS),)."""
        return np.clip(self.scale * (val.astype(np.float64) @ self.w[idx]) + self.b, -self.clip, self.clip)

    def many(self, xw, xc, n_word: int) -> np.ndarray:
        """Clipped output for word and character feature matrices, shape (n, len(OUTPUTS))."""
        r = (xw @ self.w[:n_word]) + (xc @ self.w[n_word:])
        return np.clip(self.scale * np.asarray(r, dtype=np.float64) + self.b, -self.clip, self.clip)

    def step(self, idx: np.ndarray, val: np.ndarray, offset: np.ndarray, target: np.ndarray) -> None:
        """One SGD step on the cross-entropy of the heads `target` names (int8: polarity, toxic, question, threat)."""
        val = val.astype(np.float64)
        r = self.one(idx, val)
        self.apply(idx, val, r, _gradient(offset + r, target))

    def apply(self, idx: np.ndarray, val: np.ndarray, r: np.ndarray, grad: np.ndarray) -> None:
        """One SGD step with the loss gradient `grad` at the clipped output `r` of the row (idx, val)."""
        # A clipped output does not move with its weights; stepping further would only grow them silently.
        grad[(r >= self.clip) & (grad < 0)] = 0.0
        grad[(r <= -self.clip) & (grad > 0)] = 0.0
        shrink = 1.0 - self.learning_rate * self.l2
        self.scale *= shrink
        self.b *= shrink
        # np.add.at, because hashed rows may repeat a column (duplicate n-grams are left unsummed).
        np.add.at(self.w, idx, (-self.learning_rate / self.scale) * np.outer(val, grad).astype(np.float32))
        self.b -= self.bias_learning_rate * grad
        if self.scale < 1e-3:  # fold the scale back in before float32 weights lose precision
            self.w *= np.float32(self.scale)
            self.scale = 1.0

    def touched_rows(self) -> int:
        return int(np.count_nonzero(np.any(self.w != 0, axis=1)))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Only the rows a correction touched, with the scale folded in."""
        w = self.w * np.float32(self.scale)
        rows = np.flatnonzero(np.any(w != 0, axis=1)).astype(np.int64)
        return {f"{prefix}rows": rows, f"{prefix}values": w[rows], f"{prefix}bias": self.b}

    def restore(self, data, prefix: str) -> None:
        rows, values, bias = data[f"{prefix}rows"], data[f"{prefix}values"], data[f"{prefix}bias"]
        n_out = self.w.shape[1]
        if n_out == len(OUTPUTS) and values.ndim == 2 and values.shape[1] == len(HEADS) and bias.shape == (len(HEADS),):
            # saved before format v5: no threat column, which learned nothing then
            values = np.hstack([values, np.zeros((len(values), 1), dtype=values.dtype)])
            bias = np.concatenate([bias, [0.0]])
        if values.shape != (len(rows), n_out) or bias.shape != (n_out,):
            raise ValueError(f"{prefix or 'residual '}weights have the wrong shape")
        if len(rows) and (rows.min() < 0 or rows.max() >= self.n_features):
            raise ValueError(f"{prefix or 'residual '}weight row out of range")
        self.w[rows] = values
        self.b = bias.astype(np.float64)


class _FamiliarityGate:
    """How familiar a text is to the corrections, against the texts the base model learned from (0..1).

    A logistic model on the same hashed features, trained online to tell corrections (label 1) from texts of the
    project corpus (label 0, one drawn and paired with each correction, `detectors/data/comments_de.tsv`). With equal
    numbers of both its odds P/(1-P) estimate the density ratio p_corrections(text) / p_corpus(text); the
    familiarity is that ratio capped at 1. Where corrections cannot be told from the corpus (corrections of the
    base model's own kind of text, or an untrained gate) every text is fully familiar; a text of a kind that
    nobody corrected, while the corrections are of another kind, is not. Without it, 50 corrections of Deutsche
    Bahn posts flattened a simulated city Shitstorm (benchmarks/correction_drift.py).
    """

    POSITIVE, NEGATIVE = 1.0, 0.0

    def __init__(self, n_features: int, learning_rate: float, l2: float, seed: int):
        self.learner = _LinearHeads(n_features, learning_rate, GATE_BIAS_LEARNING_RATE, l2, SCRATCH_CLIP, n_out=1)
        # Its own generator: the experts' replay draws stay exactly those of a model without a gate.
        self.rng = np.random.default_rng([seed, GATE_STREAM])

    def draw(self, background: "sp.csr_matrix") -> int:
        """A corpus text to pair with a new correction: the row the gate learns as its counterpart."""
        return int(self.rng.integers(background.shape[0]))

    def step(self, idx: np.ndarray, val: np.ndarray, background: "sp.csr_matrix", negative: int) -> None:
        """One step on a correction's row and one on its paired corpus text (row `negative` of `background`)."""
        span = slice(background.indptr[negative], background.indptr[negative + 1])
        rows = ((idx, val, self.POSITIVE), (background.indices[span], background.data[span], self.NEGATIVE))
        for row_idx, row_val, label in rows:
            row_val = row_val.astype(np.float64)
            r = self.learner.one(row_idx, row_val)
            self.learner.apply(row_idx, row_val, r, sigmoid(r) - label)

    def one(self, idx: np.ndarray, val: np.ndarray) -> float:
        return float(self._familiarity(self.learner.one(idx, val))[0])

    def many(self, xw, xc, n_word: int) -> np.ndarray:
        return self._familiarity(self.learner.many(xw, xc, n_word)[:, 0])

    @staticmethod
    def _familiarity(logit: np.ndarray) -> np.ndarray:
        """min(1, P/(1-P)) = min(1, exp(logit)): the estimated density ratio of corrections to corpus, capped at 1.
        A text as typical of the corrections as of the corpus (P = 1/2: indistinguishable, as for corrections of
        the base model's own kind of text, and for an untrained gate) counts as fully familiar."""
        return np.exp(np.minimum(logit, 0.0))


def _gradient(u: np.ndarray, target: np.ndarray) -> np.ndarray:
    """d(cross-entropy)/d(logit) for the corrected heads: prediction minus target; zero for the others."""
    grad = np.zeros(len(OUTPUTS))
    if target[0] != NO_TARGET:
        grad[:3] = softmax(u[None, :3])[0]
        grad[int(target[0])] -= 1.0
    for _, col, k in BINARY:
        if target[k] != NO_TARGET:
            grad[col] = sigmoid(u[col]) - float(target[k])
    if target[THREAT_TARGET] != NO_TARGET and abs(grad[THREAT]) <= 0.5 - THREAT_MARGIN:
        grad[THREAT] = 0.0  # already flagged (or cleared) with margin: nothing to learn
    return grad


def _probabilities(u: np.ndarray) -> np.ndarray:
    """Logits (n, 6) to probabilities (n, 6): a softmax over the polarity columns, sigmoids for the binary heads."""
    return np.concatenate([softmax(u[:, :3]), sigmoid(u[:, 3:])], axis=1)


def _target_log_loss(p: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Log loss of one row of probabilities (6,) on each corrected group."""
    tiny = 1e-12
    out = {}
    if target[0] != NO_TARGET:
        out["polarity"] = -np.log(max(p[int(target[0])], tiny))
    for name, col, k in BINARY:
        if target[k] != NO_TARGET:
            out[name] = -np.log(max(p[col] if target[k] == 1 else 1.0 - p[col], tiny))
    return out


class ForeignBase(ModelError):
    """The adapted model was learned for another base model (an upgrade, or another `classifier.model`), or its
    gate against another version of the project corpus: it has to be relearned from the stored corrections."""


class Forgotten(NamedTuple):
    """What `forget_before` did: reservoir items dropped, and how many kept corrections were learned again when
    the learners were rebuilt (None: nothing had expired, the model is unchanged)."""

    items: int
    relearned: int | None

    @property
    def changed(self) -> bool:
        return self.relearned is not None


class AdaptiveClassifier:
    """The base TextClassifier, adapted to a deployment by the corrections its staff make.

    Two online learners see every correction: (a) a residual in the base model's calibrated logit space (polarity
    logits after the temperature, binary logits after Platt scaling), added to the base logits, and (b) a model
    of the corrections alone on the same hashed features (softmax for polarity, logistic for the binary heads).
    (a) keeps the base model's knowledge when corrections are few; (b) wins when the base model is wrong for the
    deployment's domain and the residual would have to spend many corrections undoing it. Which one to trust is
    decided per label group (polarity, toxic, question, threat) by prequential evaluation: each new correction is first
    predicted by both (test, then train), and the probabilities are mixed with exponential weights on their
    discounted log losses (a Bayesian mixture; `mixture_discount` < 1 lets it follow a learner that improves
    later, `scratch_prior` is a head start in nats for the base model). A group nobody has corrected yet
    uses (a) alone, so an untouched model predicts exactly as the base model does.

    Both the residual and the scratch learner's vote apply to a text in proportion to its familiarity
    (`_FamiliarityGate`, format v4): how typical it is of the corrected texts rather than of the texts the base
    model learned from. Corrections teach about the kind of text they were made on; a team that corrects only one
    kind (one topic, one platform, another register) must not move the scores of everything else. The mixture
    scores the scratch learner through the same gate, so its weight measures what the gated vote adds.

    The base model is never modified: `reset()` returns exactly to it. Drift guards: the learning rates are
    bounded, every step shrinks both learners toward zero (L2), the residual's contribution to any logit is
    clipped to +-max_shift and the scratch learner's logits to +-SCRATCH_CLIP.

    Experience replay: one pass of SGD over a stream of corrections underfits, so every `learn_one` also takes
    `replay` extra steps of both learners on corrections drawn uniformly from a bounded reservoir of the last
    `reservoir_size` corrections (a ring buffer, oldest dropped first). The draws come from a seeded generator
    whose state is saved with the model, so a saved and reloaded model continues exactly as the unsaved one
    would. Privacy: the reservoir keeps no text, only each correction's sparse hashed feature row (word and
    character n-gram hash buckets with their tf-idf values), the base model's calibrated logits, the corrected
    labels and the UTC day of the correction. Hashed n-grams are not a strong anonymisation (common words can be
    guessed back by hashing candidates), which is why the reservoir is bounded and `reset()` (or deleting the
    state directory) drops it entirely. `forget_before()` applies the text retention: it drops the expired items
    and rebuilds both learners from the kept ones, because a learned weight is a sum over corrections and a rare
    n-gram's weight would still say that some expired correction contained it.

    >>> from detectors.classifier import TextClassifier
    >>> model = AdaptiveClassifier(TextClassifier.load())
    >>> text = "Die Linie 7 fährt ab Montag nur noch alle 20 Minuten."
    >>> before = float(model.predict([text]).negative[0])
    >>> for _ in range(3):
    ...     model.learn_one(text, polarity="negative")
    >>> after = float(model.predict([text]).negative[0])
    >>> after > before, model.predict([text]).sentiment()
    (True, ['negative'])
    >>> model.reset()
    >>> abs(float(model.predict([text]).negative[0]) - before) < 1e-6
    True
    """

    def __init__(
        self,
        base: TextClassifier,
        *,
        # Defaults chosen by `benchmarks/feedback_curve.py --tune` (inner split of the correction pool only).
        learning_rate: float = 0.5,
        bias_learning_rate: float = 0.05,
        l2: float = 1e-4,
        max_shift: float = 4.0,
        replay: int = 8,
        reservoir_size: int = 2000,
        seed: int = 0,
        scratch_learning_rate: float = 0.5,
        scratch_bias_learning_rate: float = 0.05,
        mixture_discount: float = 0.995,
        scratch_prior: float = 0.0,
        gate_learning_rate: float = 0.5,
    ):
        rates = (learning_rate, scratch_learning_rate, gate_learning_rate)
        bias_rates = (bias_learning_rate, scratch_bias_learning_rate)
        if not all(0.0 < r <= MAX_LEARNING_RATE for r in rates) or \
                not all(0.0 <= r <= MAX_LEARNING_RATE for r in bias_rates):
            raise ValueError(f"learning rates must be in (0, {MAX_LEARNING_RATE}]")
        if not all(0.0 <= l2 * r < 1.0 for r in rates):
            raise ValueError("l2 * learning_rate must be in [0, 1): the per-step shrink factor must stay positive")
        if not 0.0 < max_shift <= MAX_SHIFT_LIMIT:
            raise ValueError(f"max_shift must be in (0, {MAX_SHIFT_LIMIT}]")
        if not 0 <= int(replay) <= MAX_REPLAY or int(replay) != replay:
            raise ValueError(f"replay must be an integer in [0, {MAX_REPLAY}]")
        if not 1 <= int(reservoir_size) <= MAX_RESERVOIR or int(reservoir_size) != reservoir_size:
            raise ValueError(f"reservoir_size must be an integer in [1, {MAX_RESERVOIR}]")
        if not 0.0 < mixture_discount <= 1.0:
            raise ValueError("mixture_discount must be in (0, 1]")
        if not 0.0 <= scratch_prior <= 50.0:
            raise ValueError("scratch_prior must be in [0, 50] nats")
        self.base = base
        self.learning_rate = float(learning_rate)
        self.bias_learning_rate = float(bias_learning_rate)
        self.l2 = float(l2)
        self.max_shift = float(max_shift)
        self.replay = int(replay)
        self.reservoir_size = int(reservoir_size)
        self.seed = int(seed)
        self.scratch_learning_rate = float(scratch_learning_rate)
        self.scratch_bias_learning_rate = float(scratch_bias_learning_rate)
        self.mixture_discount = float(mixture_discount)
        self.scratch_prior = float(scratch_prior)
        self.gate_learning_rate = float(gate_learning_rate)
        self._featurizer = Featurizer(base.info["features"])
        # the key of the featurised corpus in _background's cache; computed once, the gate steps look it up often
        self._features_key = json.dumps(base.info["features"], sort_keys=True)
        self._n_word = int(base.info["features"]["word"]["n_features"])
        self.reset()

    def hyperparameters(self) -> dict:
        return {
            "learning_rate": self.learning_rate, "bias_learning_rate": self.bias_learning_rate,
            "l2": self.l2, "max_shift": self.max_shift,
            "replay": self.replay, "reservoir_size": self.reservoir_size, "seed": self.seed,
            "scratch_learning_rate": self.scratch_learning_rate,
            "scratch_bias_learning_rate": self.scratch_bias_learning_rate,
            "mixture_discount": self.mixture_discount, "scratch_prior": self.scratch_prior,
            "gate_learning_rate": self.gate_learning_rate,
        }

    # -- state ---------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every correction: predictions are the base model's again."""
        n = self._featurizer.n_features
        self._residual = _LinearHeads(n, self.learning_rate, self.bias_learning_rate, self.l2, self.max_shift)
        self._scratch = _LinearHeads(n, self.scratch_learning_rate, self.scratch_bias_learning_rate, self.l2,
                                     SCRATCH_CLIP)
        self._gate = _FamiliarityGate(n, self.gate_learning_rate, self.l2, self.seed)
        # False only for a model loaded from a file without a gate (v1-v3): it predicts as it did when saved, with
        # the scratch learner's vote ungated, until it is relearned (reset, forget_before, a rebuild).
        self.gated = True
        self.updates = dict.fromkeys(GROUPS, 0)
        # Discounted prequential log loss of each expert per group, and how many corrections each group was scored on.
        self._losses = {g: [0.0, 0.0] for g in GROUPS}
        self._scored = dict.fromkeys(GROUPS, 0)
        # Reservoir slots, in slot order; _next is the slot the next correction overwrites once it is full.
        self._res_idx: list[np.ndarray] = []
        self._res_val: list[np.ndarray] = []
        self._res_base: list[np.ndarray] = []
        self._res_target: list[np.ndarray] = []
        self._res_day: list[int] = []
        self._res_negative: list[int] = []  # the gate's paired corpus row per item (NO_NEGATIVE: none)
        self._next = 0
        self._rng = np.random.default_rng(self.seed)
        # Earliest UTC day of a correction learned since the last reset (None: none yet); see forget_before.
        self._first_day: int | None = None

    @property
    def reservoir_len(self) -> int:
        """Corrections currently kept for replay (at most reservoir_size)."""
        return len(self._res_idx)

    @property
    def n_corrections(self) -> int:
        return max(self.updates.values())

    def familiarity(self, texts: Sequence[str]) -> np.ndarray:
        """The gate per text, shape (n,): how far what the corrections taught applies to it (see _FamiliarityGate
        and `probabilities`). Ones for an ungated model."""
        return self._familiarity(*self._featurizer.transform_parts(list(texts)))

    def _familiarity(self, xw, xc) -> np.ndarray:
        return self._gate.many(xw, xc, self._n_word) if self.gated else np.ones(xw.shape[0])

    def _background(self) -> sp.csr_matrix:
        return _background(self._features_key, str(DEFAULT_CORPUS))

    def residual_rows(self) -> int:
        """Number of feature rows the residual touches (a size and sanity indicator)."""
        return self._residual.touched_rows()

    def scratch_weight(self, group: str) -> float:
        """The mixture's weight on the model of the corrections alone for one group (0 until it was scored, and
        always 0 outside SCRATCH_GROUPS)."""
        if group not in SCRATCH_GROUPS or not self._scored[group]:
            return 0.0
        adapted, scratch = self._losses[group]
        return float(sigmoid(np.array([adapted - scratch - self.scratch_prior]))[0])

    # -- inference -----------------------------------------------------------------------------------

    def _calibrated_base(self, texts: Sequence[str]) -> np.ndarray:
        return self._calibrated_base_and_kinds(texts)[0]

    def _calibrated_base_and_kinds(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The base model's calibrated logits in OUTPUTS order (n, 6), and its raw kind-of-toxicity logits (insult
        and abuse pass through unchanged; the threat column is replaced by the adapted one in predict).

        The threat column is 0 for a base model without kind heads; threat corrections are refused for it
        (`_checked`), so that column never learns and is never shown."""
        z_all = np.asarray(self.base.all_logits(texts), dtype=np.float64)
        threat = self.base.threat_logit(z_all)
        threat = np.zeros(len(z_all)) if threat is None else threat
        return np.column_stack([self.base.calibrated_logits(z_all), threat]), z_all[:, len(HEADS):]

    def _experts(self, texts: Sequence[str]):
        """Logits of (a) base + familiarity * residual and (b) the scratch learner, the familiarity per text (None
        for (b) and the familiarity while nothing was learned), and the base model's kind logits."""
        base, kinds = self._calibrated_base_and_kinds(texts)  # validates texts the same way TextClassifier does
        if self.n_corrections == 0:
            return base, None, None, kinds  # untouched: skip the second featurisation
        xw, xc = self._featurizer.transform_parts(list(texts))
        gate = self._familiarity(xw, xc)
        residual = gate[:, None] * self._residual.many(xw, xc, self._n_word)
        return base + residual, self._scratch.many(xw, xc, self._n_word), gate, kinds

    def adapted_logits(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated base logits plus the clipped residual times the familiarity (expert a), shape (n, 6) in
        OUTPUTS order."""
        return self._experts(texts)[0]

    def expert_probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities (n, 6) of each expert alone: (a) base + familiarity * residual, (b) the scratch learner
        (None while nothing was learned) as it scores every text, familiar or not."""
        adapted, scratch, _, _ = self._experts(texts)
        return _probabilities(adapted), None if scratch is None else _probabilities(scratch)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """The mixture's probabilities, shape (n, 6): negative, neutral, positive (summing to 1), toxic, question,
        threat (meaningful only for a base model with kind heads).

        Per group, the scratch learner's weight is the mixture's weight times the text's familiarity, and (a) adds
        the residual times the familiarity: a text unlike every correction is scored by the base model, whatever
        the scratch learner won on the corrections and however the residual's bias moved.
        """
        return self._mixture(texts)[0]

    def _mixture(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        adapted, scratch, gate, kinds = self._experts(texts)
        p = _probabilities(adapted)
        if scratch is None:
            return p, kinds
        q = _probabilities(scratch)
        for group, (lo, hi) in GROUPS.items():
            w = self.scratch_weight(group) * gate[:, None]
            p[:, lo:hi] = (1.0 - w) * p[:, lo:hi] + w * q[:, lo:hi]
        return p, kinds

    def predict(self, texts: Sequence[str]) -> TextScores:
        """Same contract as TextClassifier.predict, with the learned corrections applied. Of the kinds of
        toxicity, threat is adapted too; insult and abuse, which staff do not correct, are the base model's.

        P(toxic) stays its own group: a threat label does not train it (the base model's threat term in it is
        the base model's). `stormwatch correct --threat 1` therefore stores toxic=1 with it."""
        p, kinds = self._mixture(texts)
        p = p.astype(np.float32)
        kind_p = self.base.kind_probabilities(kinds)
        if kind_p is not None:
            kind_p["threat"] = p[:, THREAT]
        return TextScores(
            negative=p[:, 0], neutral=p[:, 1], positive=p[:, 2], toxic=p[:, 3], question=p[:, 4],
            # Hard toxic labels keep the base model's stored threshold, as TextClassifier.predict does.
            toxic_threshold=self.base.toxic_threshold, kinds=kind_p,
        )

    # -- learning ------------------------------------------------------------------------------------

    def learn_one(
        self, text: str, polarity: str | None = None, toxic: bool | int | None = None,
        question: bool | int | None = None, *, at: datetime | None = None, threat: bool | int | None = None,
    ) -> None:
        """Score both learners on this correction (heads given as None are left alone), take one SGD step of
        each, then `replay` steps on corrections drawn from the reservoir, which now includes this one.

        `at` is when the correction was made (timezone-aware, default now); its UTC day is kept with the
        reservoir item so that `forget_before` can age it out.
        """
        self.learn_many([(text, polarity, toxic, question, at, threat)])

    def learn_many(self, corrections: Iterable[tuple]) -> None:
        """`learn_one` for each (text, polarity, toxic, question, at[, threat]) in order, with the texts featurised
        and scored by the base model in one batch (how a deployment relearns its stored corrections)."""
        corrections = list(corrections)  # read twice below; a generator would be empty the second time
        checked = [self._checked(*c) for c in corrections]
        if not checked:
            return
        texts = [c[0] for c in corrections]
        xw, xc = self._featurizer.transform_parts(texts)
        base = self._calibrated_base(texts)
        for i, (target, day) in enumerate(checked):
            w, c = slice(xw.indptr[i], xw.indptr[i + 1]), slice(xc.indptr[i], xc.indptr[i + 1])
            idx = np.concatenate([xw.indices[w], xc.indices[c] + self._n_word]).astype(np.int32)
            val = np.concatenate([xw.data[w], xc.data[c]]).astype(np.float32)
            self._learn(idx, val, base[i], target, day)

    def _checked(self, text, polarity, toxic, question, at, threat=None) -> tuple[np.ndarray, int]:
        """A correction's targets and UTC day, or an error naming what is wrong with it."""
        if not isinstance(text, str):
            raise TypeError(f"text is {type(text).__name__}, expected str")
        if polarity is not None and polarity not in POLARITY_LABELS:
            raise ValueError(f"polarity must be one of {POLARITY_LABELS}, got {polarity!r}")
        targets = {"toxic": toxic, "question": question, "threat": threat}
        for name, value in targets.items():
            if value is not None and value not in (0, 1):  # True/False compare equal to 1/0
                raise ValueError(f"{name} must be 0/1 or a bool, got {value!r}")
        if polarity is None and toxic is None and question is None and threat is None:
            raise ValueError("a correction needs at least one of polarity, toxic, question, threat")
        if threat is not None and not self.base.has_kinds:
            raise ValueError(f"the base model {self.base.info.get('name')!r} has no threat head to correct")
        return (_encode_target(polarity, toxic, question, threat),
                utc_day(at if at is not None else datetime.now(timezone.utc)))

    def _learn(self, idx: np.ndarray, val: np.ndarray, base: np.ndarray, target: np.ndarray, day: int) -> None:
        """learn_one on a correction's feature row (also how `forget_before` relearns the kept corrections)."""
        self._score(idx, val, base, target)
        # The earliest day, not the first correction's: `at` may be back-dated.
        self._first_day = int(day) if self._first_day is None else min(self._first_day, int(day))
        for name, value in zip(GROUPS, target):
            if value != NO_TARGET:
                self.updates[name] += 1
        # Each correction is paired with a corpus text, and every replay steps the gate on both: replaying only
        # the corrections against fresh corpus texts taught the gate which corrections the reservoir holds rather
        # than what kind of text they are (held-out corpus texts stayed at familiarity 0.4 after corrections of
        # corpus texts; paired, about 1).
        negative = self._gate.draw(self._background()) if self.gated else NO_NEGATIVE
        self._step(idx, val, base, target, negative)
        self._remember(idx, val, base, target, day, negative)
        for _ in range(self.replay):
            j = int(self._rng.integers(len(self._res_idx)))
            self._step(self._res_idx[j], self._res_val[j], self._res_base[j], self._res_target[j], self._res_negative[j])

    @staticmethod
    def _scratch_target(target: np.ndarray) -> np.ndarray:
        """The targets the scratch learner learns: those of SCRATCH_GROUPS."""
        if target[THREAT_TARGET] == NO_TARGET:
            return target
        masked = target.copy()
        masked[THREAT_TARGET] = NO_TARGET
        return masked

    def _score(self, idx: np.ndarray, val: np.ndarray, base: np.ndarray, target: np.ndarray) -> None:
        """Prequential step: add each expert's log loss on this not yet learned correction to its discounted sum.

        Both are scored as they would predict this text, through the gate: (a) with the residual times the
        familiarity g, the scratch learner as g * its own probabilities + (1 - g) * (a)'s.
        """
        g = self._gate.one(idx, val) if self.gated else 1.0
        p = _probabilities((base + g * self._residual.one(idx, val))[None])[0]
        q = _probabilities(self._scratch.one(idx, val)[None])[0]
        if self.gated:
            q = g * q + (1.0 - g) * p
        adapted, scratch = _target_log_loss(p, target), _target_log_loss(q, target)
        for group in adapted:
            losses = self._losses[group]
            self._losses[group] = [self.mixture_discount * losses[0] + adapted[group],
                                   self.mixture_discount * losses[1] + scratch[group]]
            self._scored[group] += 1

    def _step(self, idx: np.ndarray, val: np.ndarray, base: np.ndarray, target: np.ndarray, negative: int) -> None:
        self._residual.step(idx, val, base, target)
        self._scratch.step(idx, val, np.zeros(len(OUTPUTS)), self._scratch_target(target))
        if self.gated and negative != NO_NEGATIVE:
            self._gate.step(idx, val, self._background(), negative)

    def _remember(self, idx: np.ndarray, val: np.ndarray, base: np.ndarray, target: np.ndarray, day: int,
                  negative: int) -> None:
        """Append to the ring buffer, overwriting the oldest correction once it holds reservoir_size."""
        item = (idx, val, base.astype(np.float64), target, int(day), int(negative))
        if len(self._res_idx) < self.reservoir_size:
            for store, value in zip(self._reservoir_lists(), item):
                store.append(value)
            self._next = len(self._res_idx) % self.reservoir_size
            return
        for store, value in zip(self._reservoir_lists(), item):
            store[self._next] = value
        self._next = (self._next + 1) % self.reservoir_size

    def _reservoir_lists(self) -> tuple[list, list, list, list, list, list]:
        return self._res_idx, self._res_val, self._res_base, self._res_target, self._res_day, self._res_negative

    def holds_before(self, cutoff: datetime) -> bool:
        """Whether anything learned since the last reset comes from a correction made on or before the UTC day
        of `cutoff` (what `forget_before` would remove)."""
        cutoff_day = utc_day(cutoff)
        # The earliest correction learned may have left the ring already, so it decides, not the oldest kept item.
        return (self._first_day is not None and self._first_day <= cutoff_day) or \
            any(day <= cutoff_day for day in self._res_day)

    def expired_items(self, cutoff: datetime) -> int:
        """Reservoir items of corrections made on or before the UTC day of `cutoff`."""
        cutoff_day = utc_day(cutoff)
        return sum(1 for day in self._res_day if day <= cutoff_day)

    def forget_before(self, cutoff: datetime) -> Forgotten:
        """Forget the corrections made on or before the UTC day of `cutoff`.

        The learned weights are sums over all corrections, so dropping the reservoir items alone would keep what
        they taught. When any correction learned since the last reset is expired, both learners and the mixture
        are therefore rebuilt: reset, then the kept corrections are learned again in their original order (same
        steps, same replay draws as a model that never saw the forgotten ones would take from a fresh seed).
        Afterwards the model holds nothing from a forgotten correction. Corrections that had already left the ring
        buffer (more than reservoir_size ago) go as well, even if they are within the retention period, because the
        model keeps no texts; a deployment relearns from its stored corrections instead
        (`monitor.adapted.relearn_stored`), which keeps them. Day resolution errs toward forgetting (an item from the
        cutoff's own day goes too), and items of unknown day (loaded from v1/v2 files) always go.
        """
        if not self.holds_before(cutoff):
            return Forgotten(0, None)
        cutoff_day = utc_day(cutoff)
        # Oldest first: while the ring is not full the slots are in correction order, once full the oldest is _next.
        n = len(self._res_idx)
        order = list(range(self._next, n)) + list(range(self._next)) if n == self.reservoir_size else list(range(n))
        kept = [tuple(store[i] for store in self._reservoir_lists()) for i in order if self._res_day[i] > cutoff_day]
        dropped = n - len(kept)
        self.reset()
        for idx, val, base, target, day, _negative in kept:  # relearned with new pairs, as a fresh model draws them
            self._learn(idx, val, base, target, day)
        return Forgotten(dropped, len(kept))

    # -- persistence ---------------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> pathlib.Path:
        """Write residual.npz (sparse rows, no pickle) and adaptive.json; each file is replaced atomically."""
        path = pathlib.Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        weights_tmp = _temp_in(path, ".npz")
        gate = self._gate.learner.arrays("gate_") if self.gated else {}
        _write_npz(weights_tmp, {**self._residual.arrays(""), **self._scratch.arrays("scratch_"), **gate,
                                 **self._reservoir_arrays()})
        digest = hashlib.sha256(weights_tmp.read_bytes()).hexdigest()
        state = {
            "format": FORMAT,
            "base_fingerprint": base_fingerprint(self.base, FORMAT),
            "base_name": self.base.info.get("name"),
            "hyperparameters": self.hyperparameters(),
            "updates": self.updates,
            # Python floats survive JSON exactly (shortest repr), so the mixture continues bit for bit.
            "mixture": {"losses": self._losses, "scored": self._scored},
            # Python ints of any size survive JSON, so the generator's 128-bit state round-trips exactly.
            "replay_state": {"next_slot": self._next, "rng": self._rng.bit_generator.state},
            "first_day": self._first_day,
            "gate": {"gated": self.gated, "rng": self._gate.rng.bit_generator.state,
                     "corpus_sha256": _corpus_sha256(str(DEFAULT_CORPUS))},
            "weights_sha256": digest,
        }
        os.replace(weights_tmp, path / WEIGHTS_FILE)
        state_tmp = _temp_in(path, ".json")
        state_tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(state_tmp, path / STATE_FILE)
        return path

    @classmethod
    def load(cls, base: TextClassifier, directory: str | os.PathLike) -> "AdaptiveClassifier":
        """Restore a saved model onto `base`; refuses one learned for another base model.

        v1 files load with an empty reservoir, v2 files with their reservoir items of unknown day; both with
        an untrained scratch learner, so they predict exactly as before until the next correction. v1-v3 files load
        ungated (`gated` False): they predict as they did, until relearned (`stormwatch correct --rebuild`, which
        `stormwatch run` does by itself at start).
        """
        path = pathlib.Path(directory)
        try:
            state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
            raw = (path / WEIGHTS_FILE).read_bytes()
        except FileNotFoundError as exc:
            raise ModelError(f"{path}: no adapted model ({exc.filename} missing)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: unreadable adapted model ({exc})") from exc
        if not isinstance(state, dict) or state.get("format") not in READABLE_FORMATS:
            raise ModelError(f"{path / STATE_FILE}: unsupported format {state.get('format') if isinstance(state, dict) else None!r}")
        if state.get("base_fingerprint") != base_fingerprint(base, state["format"]):
            raise ForeignBase(f"{path}: adapted for another base model ({state.get('base_name')!r}); "
                             "`stormwatch correct --rebuild` relearns the stored corrections on this one")
        if hashlib.sha256(raw).hexdigest() != state.get("weights_sha256"):
            raise ModelError(f"{path}: {WEIGHTS_FILE} does not match {STATE_FILE} (interrupted write?)")
        version = state["format"]
        gated_format = version in (V4, FORMAT)
        gate = state.get("gate") if gated_format else None
        if isinstance(gate, dict) and gate.get("gated") is True and \
                gate.get("corpus_sha256") != _corpus_sha256(str(DEFAULT_CORPUS)):
            raise ForeignBase(f"{path}: its familiarity gate was learned against another version of the project "
                              "corpus; `stormwatch correct --rebuild` relearns the stored corrections")
        try:
            model = cls(base, **state["hyperparameters"])
            with np.load(path / WEIGHTS_FILE, allow_pickle=False) as data:
                # The checksum guards against torn writes, not against a file edited together with its checksum:
                # a NaN weight would turn every score it touches into NaN, which the detectors cannot tell apart.
                broken = [name for name in data.files if data[name].dtype.kind == "f" and not np.isfinite(data[name]).all()]
                if broken:
                    raise ValueError(f"NaN or infinite values in {', '.join(sorted(broken))}")
                model._residual.restore(data, "")
                if version in (V3, V4, FORMAT):
                    model._scratch.restore(data, "scratch_")
                if gated_format and not isinstance(state["gate"]["gated"], bool):
                    raise ValueError("gate.gated must be true or false")
                model.gated = gated_format and state["gate"]["gated"]
                if model.gated:
                    model._gate.learner.restore(data, "gate_")
                    model._gate.rng.bit_generator.state = state["gate"]["rng"]
                if version != V1:
                    model._restore_reservoir(data, state["replay_state"], with_days=version in (V3, V4, FORMAT))
            # before v5 there were no threat corrections
            model.updates = {k: int(state["updates"].get(k, 0) if k == "threat" else state["updates"][k])
                             for k in GROUPS}
            first_day = state.get("first_day", UNKNOWN_DAY if any(model.updates.values()) else None)
            model._first_day = None if first_day is None else int(first_day)  # older files: unknown, forgotten first
            if version in (V3, V4, FORMAT):
                mixture = state["mixture"]
                older = version != FORMAT  # no threat group yet: unscored
                model._losses = {g: [0.0, 0.0] if older and g == "threat" else
                                 [float(x) for x in mixture["losses"][g]] for g in GROUPS}
                model._scored = {g: 0 if older and g == "threat" else int(mixture["scored"][g]) for g in GROUPS}
                if any(len(v) != len(EXPERTS) or not all(np.isfinite(v)) for v in model._losses.values()):
                    raise ValueError("mixture losses do not fit or are not finite")
        # OverflowError: a generator state out of range (an edited adaptive.json; its checksum covers the weights only)
        except (KeyError, TypeError, ValueError, IndexError, OverflowError, OSError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{path}: invalid adapted model ({exc!r})") from exc
        return model

    def _reservoir_arrays(self) -> dict[str, np.ndarray]:
        """The reservoir as CSR-style arrays (no object arrays, so it loads with allow_pickle=False)."""
        lengths = [len(i) for i in self._res_idx]
        n = len(lengths)
        return {
            "res_indptr": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            "res_indices": np.concatenate(self._res_idx).astype(np.int32) if n else np.zeros(0, np.int32),
            "res_values": np.concatenate(self._res_val).astype(np.float32) if n else np.zeros(0, np.float32),
            "res_base": np.asarray(self._res_base, dtype=np.float64).reshape(n, len(OUTPUTS)),
            "res_targets": np.asarray(self._res_target, dtype=np.int8).reshape(n, len(GROUPS)),
            "res_days": np.asarray(self._res_day, dtype=np.int32).reshape(n),
            "res_negatives": np.asarray(self._res_negative, dtype=np.int32).reshape(n),
        }

    def _restore_reservoir(self, data, replay_state: dict, *, with_days: bool) -> None:
        indptr, indices, values = data["res_indptr"], data["res_indices"], data["res_values"]
        bases, targets = data["res_base"], data["res_targets"]
        n = len(indptr) - 1
        days = data["res_days"] if with_days else np.full(n, UNKNOWN_DAY, dtype=np.int32)
        negatives = data["res_negatives"] if self.gated else np.full(n, NO_NEGATIVE, dtype=np.int32)
        if bases.shape == (n, len(HEADS)) and targets.shape == (n, len(GROUPS) - 1):
            # saved before format v5: no threat logit and no threat target (its base logit is never read then)
            bases = np.hstack([bases, np.zeros((n, 1))])
            targets = np.hstack([targets, np.full((n, 1), NO_TARGET, dtype=targets.dtype)])
        if n > self.reservoir_size or bases.shape != (n, len(OUTPUTS)) or targets.shape != (n, len(GROUPS)) \
                or days.shape != (n,) or negatives.shape != (n,):
            raise ValueError("reservoir arrays do not fit together")
        if negatives.dtype.kind not in "iu":
            raise ValueError("reservoir corpus rows must be integers")
        if self.gated and n and (negatives.min() < 0 or negatives.max() >= _corpus_size(str(DEFAULT_CORPUS))):
            raise ValueError("reservoir corpus row out of range")
        if n and (indices.min() < 0 or indices.max() >= self._featurizer.n_features):
            raise ValueError("reservoir feature index out of range")
        self._res_idx = [indices[indptr[i]:indptr[i + 1]].astype(np.int32) for i in range(n)]
        self._res_val = [values[indptr[i]:indptr[i + 1]].astype(np.float32) for i in range(n)]
        self._res_base = [bases[i].astype(np.float64) for i in range(n)]
        self._res_target = [targets[i].astype(np.int8) for i in range(n)]
        self._res_day = [int(d) for d in days]
        self._res_negative = [int(j) for j in negatives]
        self._next = int(replay_state["next_slot"])
        if not 0 <= self._next < self.reservoir_size:
            raise ValueError("reservoir slot out of range")
        self._rng.bit_generator.state = replay_state["rng"]


def _encode_target(polarity: str | None, toxic, question, threat=None) -> np.ndarray:
    """Labels as int8 (polarity index, toxic, question, threat); NO_TARGET for a head that was not corrected."""
    return np.array([NO_TARGET if polarity is None else POLARITY_LABELS.index(polarity),
                     *(NO_TARGET if value is None else int(value) for value in (toxic, question, threat))],
                    dtype=np.int8)


def _write_npz(path: pathlib.Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez_compressed at zlib level 1: the reservoir's float rows barely compress, and the default level
    tripled the save time of `stormwatch correct`. np.load reads it like any .npz."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(array), allow_pickle=False)


def _temp_in(directory: pathlib.Path, suffix: str) -> pathlib.Path:
    fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    return pathlib.Path(name)
