"""Learning from staff corrections: an online residual on top of a fixed base TextClassifier, resettable at any time."""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import tempfile
import zipfile
from typing import Sequence

import numpy as np

from detectors.classifier import HEADS, POLARITY_LABELS, ModelError, TextClassifier, TextScores
from detectors.textfeatures import Featurizer

FORMAT = "stormwatch-adaptive-v1"
STATE_FILE = "adaptive.json"
WEIGHTS_FILE = "residual.npz"
# Bounds on the hyperparameters: a learning rate above 2 makes one correction of a long text overshoot
# (the feature rows have a squared norm of about 2), and the residual may never outvote the base model entirely.
MAX_LEARNING_RATE = 2.0
MAX_SHIFT_LIMIT = 8.0


def base_fingerprint(base: TextClassifier) -> str:
    """Identifies the base model a residual was learned for; a residual on another base model is meaningless."""
    return hashlib.sha256(json.dumps(base.info, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))


class AdaptiveClassifier:
    """A base TextClassifier plus per-head residual linear models learned online from corrections.

    The residual lives in the calibrated logit space (polarity logits after the temperature, binary
    logits after Platt scaling) and is added there, so one learning rate means the same for every
    head. The base model is never modified: `reset()` returns exactly to it. Drift guards: the
    learning rate is bounded, every step shrinks the residual toward zero (L2), and the residual's
    contribution to any logit is clipped to +-max_shift.

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
        learning_rate: float = 1.0,
        bias_learning_rate: float = 0.2,
        l2: float = 1e-4,
        max_shift: float = 4.0,
    ):
        if not 0.0 < learning_rate <= MAX_LEARNING_RATE or not 0.0 <= bias_learning_rate <= MAX_LEARNING_RATE:
            raise ValueError(f"learning rates must be in (0, {MAX_LEARNING_RATE}]")
        if not 0.0 <= l2 * learning_rate < 1.0:
            raise ValueError("l2 * learning_rate must be in [0, 1): the per-step shrink factor must stay positive")
        if not 0.0 < max_shift <= MAX_SHIFT_LIMIT:
            raise ValueError(f"max_shift must be in (0, {MAX_SHIFT_LIMIT}]")
        self.base = base
        self.learning_rate = float(learning_rate)
        self.bias_learning_rate = float(bias_learning_rate)
        self.l2 = float(l2)
        self.max_shift = float(max_shift)
        self._featurizer = Featurizer(base.info["features"])
        self._n_word = int(base.info["features"]["word"]["n_features"])
        calibration = base.info["calibration"]
        self._temperature = float(calibration["polarity_temperature"])
        self._platt = {h: (float(calibration[h]["a"]), float(calibration[h]["b"])) for h in ("toxic", "question")}
        self.reset()

    # -- state ---------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every correction: predictions are the base model's again."""
        # Dense is simplest and fast; 2**19 x 5 float32 is 10 MB in memory, saved sparse.
        self._w = np.zeros((self._featurizer.n_features, len(HEADS)), dtype=np.float32)
        self._scale = 1.0  # the effective weights are _scale * _w, so L2 shrinkage costs O(1) per step
        self._b = np.zeros(len(HEADS), dtype=np.float64)
        self.updates = {"polarity": 0, "toxic": 0, "question": 0}

    @property
    def n_corrections(self) -> int:
        return max(self.updates.values())

    def residual_rows(self) -> int:
        """Number of feature rows the residual touches (a size and sanity indicator)."""
        return int(np.count_nonzero(np.any(self._w != 0, axis=1)))

    # -- inference -----------------------------------------------------------------------------------

    def _calibrated_base(self, texts: Sequence[str]) -> np.ndarray:
        z = np.asarray(self.base.logits(texts), dtype=np.float64)
        out = np.empty_like(z)
        out[:, :3] = z[:, :3] / self._temperature
        for col, head in ((3, "toxic"), (4, "question")):
            a, b = self._platt[head]
            out[:, col] = a * z[:, col] + b
        return out

    def _residual(self, texts: Sequence[str]) -> np.ndarray:
        n = len(texts)
        if not self.updates or max(self.updates.values()) == 0:
            return np.zeros((n, len(HEADS)))  # untouched: skip the second featurisation
        xw, xc = self._featurizer.transform_parts(list(texts))
        r = (xw @ self._w[: self._n_word]) + (xc @ self._w[self._n_word:])
        return np.clip(self._scale * np.asarray(r, dtype=np.float64) + self._b, -self.max_shift, self.max_shift)

    def adapted_logits(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated base logits plus the clipped residual, shape (n, 5) in HEADS order."""
        base = self._calibrated_base(texts)  # validates texts the same way TextClassifier does
        return base + self._residual(list(texts))

    def predict(self, texts: Sequence[str]) -> TextScores:
        """Same contract as TextClassifier.predict, with the learned corrections applied."""
        u = self.adapted_logits(texts)
        polarity = _softmax(u[:, :3]).astype(np.float32)
        return TextScores(
            negative=polarity[:, 0], neutral=polarity[:, 1], positive=polarity[:, 2],
            toxic=_sigmoid(u[:, 3]).astype(np.float32), question=_sigmoid(u[:, 4]).astype(np.float32),
            # Hard toxic labels keep the base model's stored threshold, as TextClassifier.predict does.
            toxic_threshold=self.base.toxic_threshold,
        )

    # -- learning ------------------------------------------------------------------------------------

    def learn_one(
        self, text: str, polarity: str | None = None, toxic: bool | int | None = None, question: bool | int | None = None
    ) -> None:
        """One SGD step on the cross-entropy of the corrected heads; heads given as None are left alone."""
        if not isinstance(text, str):
            raise TypeError(f"text is {type(text).__name__}, expected str")
        if polarity is not None and polarity not in POLARITY_LABELS:
            raise ValueError(f"polarity must be one of {POLARITY_LABELS}, got {polarity!r}")
        targets = {"toxic": toxic, "question": question}
        for name, value in targets.items():
            if value is not None and value not in (0, 1):  # True/False compare equal to 1/0
                raise ValueError(f"{name} must be 0/1 or a bool, got {value!r}")
        if polarity is None and toxic is None and question is None:
            raise ValueError("a correction needs at least one of polarity, toxic, question")

        xw, xc = self._featurizer.transform_parts([text])
        idx = np.concatenate([xw.indices, xc.indices + self._n_word])
        val = np.concatenate([xw.data, xc.data]).astype(np.float64)
        base = self._calibrated_base([text])[0]
        r = np.clip(self._scale * (val @ self._w[idx]) + self._b, -self.max_shift, self.max_shift)
        u = base + r

        grad = np.zeros(len(HEADS))  # d(cross-entropy)/d(adapted logit): prediction minus target
        if polarity is not None:
            grad[:3] = _softmax(u[None, :3])[0]
            grad[POLARITY_LABELS.index(polarity)] -= 1.0
            self.updates["polarity"] += 1
        for col, name in ((3, "toxic"), (4, "question")):
            if targets[name] is not None:
                grad[col] = _sigmoid(u[col]) - float(targets[name])
                self.updates[name] += 1
        # A clipped residual does not move with its weights; stepping further would only grow them silently.
        grad[(r >= self.max_shift) & (grad < 0)] = 0.0
        grad[(r <= -self.max_shift) & (grad > 0)] = 0.0

        shrink = 1.0 - self.learning_rate * self.l2
        self._scale *= shrink
        self._b *= shrink
        # np.add.at, because hashed rows may repeat a column (duplicate n-grams are left unsummed).
        np.add.at(self._w, idx, (-self.learning_rate / self._scale) * np.outer(val, grad).astype(np.float32))
        self._b -= self.bias_learning_rate * grad
        if self._scale < 1e-3:  # fold the scale back in before float32 weights lose precision
            self._w *= np.float32(self._scale)
            self._scale = 1.0

    # -- persistence ---------------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> pathlib.Path:
        """Write residual.npz (sparse rows, no pickle) and adaptive.json; each file is replaced atomically."""
        path = pathlib.Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        w = self._w * np.float32(self._scale)
        rows = np.flatnonzero(np.any(w != 0, axis=1)).astype(np.int64)
        weights_tmp = _temp_in(path, ".npz")
        with open(weights_tmp, "wb") as handle:
            np.savez_compressed(handle, rows=rows, values=w[rows], bias=self._b)
        digest = hashlib.sha256(weights_tmp.read_bytes()).hexdigest()
        state = {
            "format": FORMAT,
            "base_fingerprint": base_fingerprint(self.base),
            "base_name": self.base.info.get("name"),
            "hyperparameters": {
                "learning_rate": self.learning_rate, "bias_learning_rate": self.bias_learning_rate,
                "l2": self.l2, "max_shift": self.max_shift,
            },
            "updates": self.updates,
            "weights_sha256": digest,
        }
        os.replace(weights_tmp, path / WEIGHTS_FILE)
        state_tmp = _temp_in(path, ".json")
        state_tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(state_tmp, path / STATE_FILE)
        return path

    @classmethod
    def load(cls, base: TextClassifier, directory: str | os.PathLike) -> "AdaptiveClassifier":
        """Restore a saved residual onto `base`; refuses a residual learned for another base model."""
        path = pathlib.Path(directory)
        try:
            state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
            raw = (path / WEIGHTS_FILE).read_bytes()
        except FileNotFoundError as exc:
            raise ModelError(f"{path}: no adapted model ({exc.filename} missing)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: unreadable adapted model ({exc})") from exc
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ModelError(f"{path / STATE_FILE}: unsupported format {state.get('format') if isinstance(state, dict) else None!r}")
        if state.get("base_fingerprint") != base_fingerprint(base):
            raise ModelError(f"{path}: adapted for another base model ({state.get('base_name')!r}); reset it to start over")
        if hashlib.sha256(raw).hexdigest() != state.get("weights_sha256"):
            raise ModelError(f"{path}: {WEIGHTS_FILE} does not match {STATE_FILE} (interrupted write?)")
        try:
            model = cls(base, **state["hyperparameters"])
            with np.load(path / WEIGHTS_FILE, allow_pickle=False) as data:
                rows, values, bias = data["rows"], data["values"], data["bias"]
            model._w[rows] = values
            model._b = bias.astype(np.float64)
            model.updates = {k: int(state["updates"][k]) for k in ("polarity", "toxic", "question")}
        except (KeyError, TypeError, ValueError, IndexError, OSError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{path}: invalid adapted model ({exc!r})") from exc
        return model


def _temp_in(directory: pathlib.Path, suffix: str) -> pathlib.Path:
    fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    return pathlib.Path(name)
