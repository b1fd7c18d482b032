"""German comment classifier: polarity, toxicity and question probabilities from a numpy-only linear model."""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import zipfile
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from detectors import style
from detectors.abuse_lexicon import AbuseTermsError
from detectors.lexicon import LexiconError
from detectors.textfeatures import Featurizer, split_chunks

POLARITY_LABELS = ("negative", "neutral", "positive")
# Column order of the stored weight matrix: three polarity logits, then one logit per binary head.
HEADS = ("negative", "neutral", "positive", "toxic", "question")
# Optional heads of a model with a "toxic_kinds" block (detectors/toxic_kinds.py), stored in kinds.npz.
TOXIC_KINDS = ("insult", "abuse", "threat")
# 2 since model 0.6.0: a reader of format 1 would ignore the abuse-lexicon columns (features.abuse) silently and
# score abuse without them, so it must refuse these models instead. Format 1 models load unchanged.
FORMAT_VERSION = 2
SUPPORTED_FORMAT_VERSIONS = (1, 2)


class ModelError(Exception):
    """A model directory is missing, incomplete or inconsistent."""


def default_model_dir() -> pathlib.Path:
    return pathlib.Path(__file__).resolve().parent / "models" / "default"


@dataclass(frozen=True)
class TextScores:
    negative: np.ndarray
    neutral: np.ndarray
    positive: np.ndarray
    toxic: np.ndarray
    question: np.ndarray
    # Decision threshold on `toxic` for hard labels (share matching on the training CV, training.choose_threshold);
    # 0.5 if the model has none.
    toxic_threshold: float = 0.5
    # P(text is of that kind) per TOXIC_KINDS entry, if the model has kind heads; else None.
    kinds: dict[str, np.ndarray] | None = None

    def is_toxic(self) -> np.ndarray:
        """Hard toxic labels; aggregate statistics should use the calibrated probabilities instead."""
        return self.toxic > self.toxic_threshold

    def __len__(self) -> int:
        return len(self.negative)

    def sentiment(self) -> list[str]:
        """Most probable polarity label per text."""
        stacked = np.stack([self.negative, self.neutral, self.positive], axis=1)
        return [POLARITY_LABELS[i] for i in stacked.argmax(axis=1)] if len(self) else []

    def row(self, i: int) -> dict:
        scores = {label: round(float(getattr(self, label)[i]), 4) for label in POLARITY_LABELS}
        row = {
            "sentiment": max(POLARITY_LABELS, key=lambda label: getattr(self, label)[i]),
            "scores": scores,
            "toxic": round(float(self.toxic[i]), 4),
            "question": round(float(self.question[i]), 4),
        }
        if self.kinds is not None:
            row["toxic_kinds"] = {kind: round(float(self.kinds[kind][i]), 4) for kind in TOXIC_KINDS}
        return row


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


def adapt_priors(probabilities: np.ndarray, train_prior: np.ndarray, *, max_iter: int = 100,
                 tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Saerens-Latinne-Decaestecker EM: class priors of an unlabelled deployment sample and re-weighted posteriors.

    probabilities: (n, k) calibrated posteriors under the training prior train_prior (k,). Returns the estimated
    deployment prior and the posteriors under it. Uses the texts' scores only, never labels, so it may run on
    any unlabelled stream of the deployment (Saerens et al. 2002, Neural Computation 14(1)).
    """
    train_prior = np.asarray(train_prior, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    prior = train_prior.copy()
    adjusted = p
    for _ in range(max_iter):
        adjusted = p * (prior / train_prior)
        adjusted /= adjusted.sum(axis=1, keepdims=True)
        new_prior = adjusted.mean(axis=0)
        if np.abs(new_prior - prior).max() < tol:
            prior = new_prior
            break
        prior = new_prior
    return prior, adjusted


# How the chunk logits of a long text combine into the text's logits, per column in HEADS order, fixed before
# any evaluation: polarity is the stance of the whole text, so its chunks' logits are averaged (a long neutral
# report with one critical sentence stays mostly neutral); a text is toxic, or asks a question, if any part of
# it does (the GermEval 2018 and corpus labels mean exactly that), so the binary heads take the largest chunk logit.
CHUNK_COMBINE = ("mean", "mean", "mean", "max", "max")


def combine_chunks(z: np.ndarray, owner: np.ndarray, combine: Sequence[str] = CHUNK_COMBINE) -> np.ndarray:
    """Per-text logits from per-chunk logits z (n_chunks, k) or (n_chunks,).

    owner: the text index of each chunk, non-decreasing (a text's chunks are contiguous); the result has one
    row per distinct owner, in order. combine: "mean" or "max" per column.
    """
    z = np.asarray(z)
    flat = z.ndim == 1
    z2 = z[:, None] if flat else z
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    counts = np.diff(np.r_[starts, len(owner)])
    out = np.empty((len(starts), z2.shape[1]), dtype=z2.dtype)
    for col, rule in enumerate(combine[: z2.shape[1]]):
        if rule == "mean":
            out[:, col] = np.add.reduceat(z2[:, col], starts) / counts
        elif rule == "max":
            out[:, col] = np.maximum.reduceat(z2[:, col], starts)
        else:
            raise ValueError(f"unknown chunk combination {rule!r}, expected mean or max")
    return out[:, 0] if flat else out


def _check_texts(texts: Sequence[str]) -> list[str]:
    # A bare string is a Sequence too; classifying its characters one by one is never what the caller meant.
    if isinstance(texts, (str, bytes)):
        raise TypeError("predict() takes a sequence of strings, not a single string; wrap it in a list")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, expected str (use '' for a missing text)")
    return texts


class TextClassifier:
    """Scores German social-media comments for polarity, toxicity and being a question.

    >>> clf = TextClassifier.load()
    >>> scores = clf.predict(["Vielen Dank für die schnelle Hilfe!", "Wann hat das Bürgeramt offen?"])
    >>> len(scores), scores.sentiment()[0]
    (2, 'positive')
    >>> bool(scores.question[1] > 0.5)
    True
    """

    def __init__(self, info: dict[str, Any], weights: np.ndarray, bias: np.ndarray,
                 kinds: tuple[np.ndarray, np.ndarray] | None = None, abuse_terms: str | os.PathLike | None = None):
        self._info = info
        self._featurizer = Featurizer(info["features"], abuse_terms)
        calibration = info["calibration"]
        self._temperature = float(calibration["polarity_temperature"])
        self._platt = {head: (float(calibration[head]["a"]), float(calibration[head]["b"])) for head in ("toxic", "question")}
        self._toxic_threshold = float(calibration["toxic"].get("threshold", 0.5))
        _require_finite("calibration", [self._temperature, self._toxic_threshold,
                                        *(v for pair in self._platt.values() for v in pair)])
        # Since model 0.5.1 a likely threat raises P(toxic): toxic_logit adds threat_weight * max(0, calibrated threat
        # logit), fitted with a and b on the training CV (training.fit_toxic_with_threat). The toxicity head alone
        # missed threats without insulting words, so a wave of them hardly moved the toxic share.
        self._threat_weight = float(calibration["toxic"].get("threat_weight", 0.0))
        if not np.isfinite(self._threat_weight) or self._threat_weight < 0:
            raise ValueError(f"calibration.toxic.threat_weight must be a finite number >= 0, not {self._threat_weight}")
        # Models written before chunked scoring have no "inference" block and score whole texts.
        inference = info.get("inference", {})
        # chunk_chars: per column in HEADS order, the length above which a text is scored in chunks (0: never).
        chunk_chars = list(inference.get("chunk_chars", [0] * len(HEADS)))
        combine = tuple(inference.get("chunk_combine", CHUNK_COMBINE))
        if len(combine) != len(HEADS) or not set(combine) <= {"mean", "max"}:
            raise ValueError(f"inference.chunk_combine must give mean or max for each of {HEADS}")
        if len(chunk_chars) != len(HEADS):
            raise ValueError(f"inference.chunk_chars must give one length per head of {HEADS}")
        self._kind_platt: list[tuple[float, float]] = []
        if kinds is not None:
            # The kind heads are extra columns of the same matrix: one sparse product scores all heads.
            block = info["toxic_kinds"]
            self._kind_platt = [(float(block["calibration"][k]["a"]), float(block["calibration"][k]["b"]))
                                for k in TOXIC_KINDS]
            _require_finite("toxic_kinds.calibration", [v for pair in self._kind_platt for v in pair])
            weights = np.hstack([weights, kinds[0]])
            bias = np.concatenate([bias, kinds[1]])
            chunk_chars += [int(block["chunk_chars"])] * len(TOXIC_KINDS)
            combine += ("max",) * len(TOXIC_KINDS)
        elif self._threat_weight:
            raise ValueError("calibration.toxic.threat_weight needs the kind heads (kinds.npz and toxic_kinds)")
        n_word = int(info["features"]["word"]["n_features"])
        self._w_word = np.ascontiguousarray(weights[:n_word])
        self._w_char = np.ascontiguousarray(weights[n_word:])
        self._bias = bias
        self._chunk_chars = np.array(chunk_chars, dtype=np.int64)
        self._combine = combine
        self._style_w = _style_weights(info.get("style"), len(bias))
        self._fingerprint: str | None = None

    @classmethod
    def load(cls, model_dir: str | os.PathLike | None = None,
             abuse_terms: str | os.PathLike | None = None) -> "TextClassifier":
        """The model in model_dir (default: the shipped one); `abuse_terms`, a TSV file of a deployment's own abuse
        terms in the format of detectors/data/abuse_de.tsv, extends its abuse lexicon without retraining."""
        path = pathlib.Path(model_dir) if model_dir is not None else default_model_dir()
        info = _read_info(path)
        weights, bias = _read_weights(path, info)
        kinds = _read_kinds(path, info)
        try:
            return cls(info, weights, bias, kinds, abuse_terms)
        except AbuseTermsError as exc:  # names its own file
            raise ModelError(str(exc)) from exc
        except LexiconError as exc:
            raise ModelError(f"{path}: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path / 'model.json'}: invalid model description ({exc!r})") from exc

    @property
    def abuse_terms_sha256(self) -> str | None:
        """SHA-256 of the deployment's abuse terms in use, None without them."""
        lexicon = self._featurizer.abuse_lexicon
        return lexicon.local_sha256 if lexicon is not None else None

    @property
    def info(self) -> dict:
        return self._info

    @property
    def fingerprint(self) -> str:
        """SHA-256 prefix of everything that decides the scores: model.json and every weight (weights.npz and
        kinds.npz as loaded). Identifies the base model an adapted model was learned on; model.json alone would
        not notice a swapped weights file; a deployment's abuse terms change the features, so they count too.
        Computed once (about 15 ms for the shipped model)."""
        if self._fingerprint is None:
            digest = hashlib.sha256(json.dumps(self._info, sort_keys=True, ensure_ascii=False).encode("utf-8"))
            for array in (self._w_word, self._w_char, self._bias):
                digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
            local = self.abuse_terms_sha256
            if local is not None:
                digest.update(("abuse_terms:" + local).encode("ascii"))
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    def threat_logit(self, z_all: np.ndarray) -> np.ndarray | None:
        """The calibrated threat logit (sigmoid gives P(threat)) from all_logits, None without kind heads."""
        if not self._kind_platt:
            return None
        a, b = self._kind_platt[TOXIC_KINDS.index("threat")]
        return a * np.asarray(z_all, dtype=np.float64)[:, len(HEADS) + TOXIC_KINDS.index("threat")] + b

    @property
    def has_kinds(self) -> bool:
        """Whether the model scores the kinds of toxicity (TOXIC_KINDS)."""
        return bool(self._kind_platt)

    @property
    def toxic_threshold(self) -> float:
        """Stored decision threshold on the calibrated toxic probability (0.5 if the model has none)."""
        return self._toxic_threshold

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated linear scores, shape (n, 5) in HEADS order."""
        return self.all_logits(texts)[:, :len(HEADS)]

    def all_logits(self, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated linear scores of every head: HEADS, then TOXIC_KINDS if the model has them."""
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, len(self._bias)), dtype=np.float32)
        z = self._linear(texts)
        # Texts longer than a head's chunk size get that head's logits from their chunks instead, so no head
        # scores a piece longer than it learned from. Only the long texts are featurised a second time.
        for size in np.unique(self._chunk_chars[self._chunk_chars > 0]):
            long_idx = [i for i, text in enumerate(texts) if len(text) > size]
            if not long_idx:
                continue
            chunks, owner = split_chunks([texts[i] for i in long_idx], int(size))
            columns = np.flatnonzero(self._chunk_chars == size)
            combined = combine_chunks(self._linear(chunks), owner, self._combine)
            z[np.ix_(long_idx, columns)] = combined[:, columns]
        return z

    def _linear(self, texts: list[str]) -> np.ndarray:
        xw, xc = self._featurizer.transform_parts(texts)
        z = (xw @ self._w_word) + (xc @ self._w_char) + self._bias
        if self._style_w is not None:  # a head trained with style features (training.task_view)
            z = z + (style.style_matrix(texts) @ self._style_w).astype(z.dtype)
        return z

    def calibrated_logits(self, z_all: np.ndarray) -> np.ndarray:
        """From all_logits to calibrated logits (n, 5) in HEADS order: polarity divided by the temperature (softmax
        gives the probabilities), toxic and question through their calibration (sigmoid gives them)."""
        z_all = np.asarray(z_all, dtype=np.float64)
        out = np.empty((len(z_all), len(HEADS)))
        out[:, :3] = z_all[:, :3] / self._temperature
        for col, head in ((3, "toxic"), (4, "question")):
            a, b = self._platt[head]
            out[:, col] = a * z_all[:, col] + b
        if self._threat_weight:
            out[:, 3] += self._threat_weight * np.maximum(self.threat_logit(z_all), 0.0)
        return out

    def kind_probabilities(self, kind_logits: np.ndarray) -> dict[str, np.ndarray] | None:
        """Calibrated kind probabilities from the TOXIC_KINDS columns of all_logits (None without kind heads)."""
        if not self._kind_platt:
            return None
        return {kind: sigmoid(a * kind_logits[:, k] + b).astype(np.float32)
                for k, (kind, (a, b)) in enumerate(zip(TOXIC_KINDS, self._kind_platt))}

    def predict(self, texts: Sequence[str]) -> TextScores:
        """Scores a batch; '' is allowed, None or other non-strings raise TypeError."""
        z = self.all_logits(texts)
        calibrated = self.calibrated_logits(z)
        polarity = softmax(calibrated[:, :3]).astype(np.float32)
        toxic, question = (sigmoid(calibrated[:, col]).astype(np.float32) for col in (3, 4))
        return TextScores(
            negative=polarity[:, 0], neutral=polarity[:, 1], positive=polarity[:, 2],
            toxic=toxic, question=question, toxic_threshold=self._toxic_threshold,
            kinds=self.kind_probabilities(z[:, len(HEADS):]),
        )


def _style_weights(block: Any, n_columns: int) -> np.ndarray | None:
    """The style block of model.json as a (len(style.FEATURES), n_columns) matrix, None without one."""
    if block is None:
        return None
    if not isinstance(block, dict) or block.get("scheme") != style.SCHEME or \
            list(block.get("features", [])) != list(style.FEATURES) or not isinstance(block.get("weights"), dict):
        raise ValueError(f"style must be a {style.SCHEME} block with features {list(style.FEATURES)} and weights")
    matrix = np.zeros((len(style.FEATURES), n_columns), dtype=np.float64)
    for head, weights in block["weights"].items():
        if head not in HEADS[3:] or len(weights) != len(style.FEATURES):
            raise ValueError(f"style.weights.{head}: one weight per feature for a binary head of {HEADS[3:]}")
        _require_finite(f"style.weights.{head}", [float(w) for w in weights])
        matrix[:, HEADS.index(head)] = weights
    return matrix


def _require_finite(where: str, values: list[float]) -> None:
    # json reads NaN and Infinity; one of them in a calibration would make every probability NaN, silently
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{where} holds a value that is not a finite number (NaN or infinity)")


def _read_info(path: pathlib.Path) -> dict[str, Any]:
    meta = path / "model.json"
    if not path.is_dir():
        raise ModelError(f"model directory {path} does not exist")
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{meta}: missing (a model directory needs model.json and weights.npz)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{meta}: unreadable ({exc})") from exc
    if not isinstance(info, dict) or info.get("format_version") not in SUPPORTED_FORMAT_VERSIONS:
        raise ModelError(f"{meta}: unsupported format_version {info.get('format_version') if isinstance(info, dict) else None!r}")
    for key in ("features", "calibration", "heads"):
        if key not in info:
            raise ModelError(f"{meta}: missing key {key!r}")
    if list(info["heads"]) != list(HEADS):
        raise ModelError(f"{meta}: heads {info['heads']} do not match {list(HEADS)}")
    return info


def _n_features(path: pathlib.Path, info: dict[str, Any]) -> int:
    try:
        return int(info["features"]["word"]["n_features"]) + int(info["features"]["char"]["n_features"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path / 'model.json'}: bad feature settings ({exc!r})") from exc


def _read_matrix(npz: pathlib.Path, n_features: int, n_heads: int) -> tuple[np.ndarray, np.ndarray]:
    """Rebuilds a dense (n_features, n_heads) weight matrix and its biases from the stored non-zero rows."""
    try:
        with np.load(npz, allow_pickle=False) as data:
            rows, values, bias = data["rows"], data["values"], data["bias"]
    except FileNotFoundError:
        raise ModelError(f"{npz}: missing") from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{npz}: unreadable ({exc})") from exc
    if values.shape != (len(rows), n_heads) or bias.shape != (n_heads,) or (len(rows) and rows.max() >= n_features):
        raise ModelError(f"{npz}: weight shapes {values.shape}/{bias.shape} do not fit {n_features} features x {n_heads} heads")
    if len(rows) and rows.min() < 0:
        raise ModelError(f"{npz}: negative feature rows")
    # A NaN or infinite weight would turn every score it touches into NaN, which the detectors cannot tell from
    # data; refuse the file instead.
    if not (np.isfinite(values).all() and np.isfinite(bias).all()):
        raise ModelError(f"{npz}: weights contain NaN or infinite values")
    weights = np.zeros((n_features, n_heads), dtype=np.float32)
    weights[rows] = values
    return weights, bias.astype(np.float32)


def _read_weights(path: pathlib.Path, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The five base heads' weights from weights.npz."""
    return _read_matrix(path / "weights.npz", _n_features(path, info), len(HEADS))


def _read_kinds(path: pathlib.Path, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """The kind heads' weights from kinds.npz, if model.json has a toxic_kinds block."""
    block = info.get("toxic_kinds")
    if block is None:
        return None
    meta = path / "model.json"
    if not isinstance(block, dict) or list(block.get("heads", [])) != list(TOXIC_KINDS):
        raise ModelError(f"{meta}: toxic_kinds.heads must be {list(TOXIC_KINDS)}")
    return _read_matrix(path / "kinds.npz", _n_features(path, info), len(TOXIC_KINDS))
