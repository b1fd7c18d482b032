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

from detectors.classifier import HEADS, POLARITY_LABELS, ModelError, TextClassifier, TextScores, sigmoid, softmax
from detectors.textfeatures import Featurizer

FORMAT = "stormwatch-adaptive-v2"
# v1 files (no replay reservoir) still load, with an empty reservoir and the default replay settings.
READABLE_FORMATS = ("stormwatch-adaptive-v1", FORMAT)
STATE_FILE = "adaptive.json"
WEIGHTS_FILE = "residual.npz"
# Bounds on the hyperparameters: a learning rate above 2 makes one correction of a long text overshoot
# (the feature rows have a squared norm of about 2), and the residual may never outvote the base model entirely.
MAX_LEARNING_RATE = 2.0
MAX_SHIFT_LIMIT = 8.0
# Bounds on replay: more steps make `stormwatch correct` slower; a bigger reservoir makes the state file larger.
MAX_REPLAY = 20
MAX_RESERVOIR = 20_000
# Reservoir targets are int8: -1 means "this head was not corrected".
NO_TARGET = -1


def base_fingerprint(base: TextClassifier) -> str:
    """Identifies the base model a residual was learned for; a residual on another base model is meaningless."""
    return hashlib.sha256(json.dumps(base.info, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


class AdaptiveClassifier:
    """A base TextClassifier plus per-head residual linear models learned online from corrections.

    The residual lives in the calibrated logit space (polarity logits after the temperature, binary
    logits after Platt scaling) and is added there, so one learning rate means the same for every
    head. The base model is never modified: `reset()` returns exactly to it. Drift guards: the
    learning rate is bounded, every step shrinks the residual toward zero (L2), and the residual's
    contribution to any logit is clipped to +-max_shift.

    Experience replay: one pass of SGD over a stream of corrections underfits, so every `learn_one`
    also takes `replay` extra steps on corrections drawn uniformly from a bounded reservoir of the
    last `reservoir_size` corrections (a ring buffer, oldest dropped first). The draws come from a
    seeded generator whose state is saved with the model, so a saved and reloaded model continues
    exactly as the unsaved one would. Privacy: the reservoir keeps no text, only each correction's
    sparse hashed feature row (word and character n-gram hash buckets with their tf-idf values),
    the base model's calibrated logits and the corrected labels. Hashed n-grams are not a strong
    anonymisation (common words can be guessed back by hashing candidates), which is why the
    reservoir is bounded and `reset()` (or deleting the state directory) drops it entirely.

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
    ):
        if not 0.0 < learning_rate <= MAX_LEARNING_RATE or not 0.0 <= bias_learning_rate <= MAX_LEARNING_RATE:
            raise ValueError(f"learning rates must be in (0, {MAX_LEARNING_RATE}]")
        if not 0.0 <= l2 * learning_rate < 1.0:
            raise ValueError("l2 * learning_rate must be in [0, 1): the per-step shrink factor must stay positive")
        if not 0.0 < max_shift <= MAX_SHIFT_LIMIT:
            raise ValueError(f"max_shift must be in (0, {MAX_SHIFT_LIMIT}]")
        if not 0 <= int(replay) <= MAX_REPLAY or int(replay) != replay:
            raise ValueError(f"replay must be an integer in [0, {MAX_REPLAY}]")
        if not 1 <= int(reservoir_size) <= MAX_RESERVOIR or int(reservoir_size) != reservoir_size:
            raise ValueError(f"reservoir_size must be an integer in [1, {MAX_RESERVOIR}]")
        self.base = base
        self.learning_rate = float(learning_rate)
        self.bias_learning_rate = float(bias_learning_rate)
        self.l2 = float(l2)
        self.max_shift = float(max_shift)
        self.replay = int(replay)
        self.reservoir_size = int(reservoir_size)
        self.seed = int(seed)
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
        # Reservoir slots, in slot order; _next is the slot the next correction overwrites once it is full.
        self._res_idx: list[np.ndarray] = []
        self._res_val: list[np.ndarray] = []
        self._res_base: list[np.ndarray] = []
        self._res_target: list[np.ndarray] = []
        self._next = 0
        self._rng = np.random.default_rng(self.seed)

    @property
    def reservoir_len(self) -> int:
        """Corrections currently kept for replay (at most reservoir_size)."""
        return len(self._res_idx)

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
        polarity = softmax(u[:, :3]).astype(np.float32)
        return TextScores(
            negative=polarity[:, 0], neutral=polarity[:, 1], positive=polarity[:, 2],
            toxic=sigmoid(u[:, 3]).astype(np.float32), question=sigmoid(u[:, 4]).astype(np.float32),
            # Hard toxic labels keep the base model's stored threshold, as TextClassifier.predict does.
            toxic_threshold=self.base.toxic_threshold,
        )

    # -- learning ------------------------------------------------------------------------------------

    def learn_one(
        self, text: str, polarity: str | None = None, toxic: bool | int | None = None, question: bool | int | None = None
    ) -> None:
        """One SGD step on the cross-entropy of the corrected heads (heads given as None are left alone),
        then `replay` steps on corrections drawn from the reservoir, which now includes this one."""
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
        idx = np.concatenate([xw.indices, xc.indices + self._n_word]).astype(np.int32)
        val = np.concatenate([xw.data, xc.data]).astype(np.float32)
        base = self._calibrated_base([text])[0]
        target = _encode_target(polarity, toxic, question)
        for name, value in (("polarity", polarity), ("toxic", toxic), ("question", question)):
            if value is not None:
                self.updates[name] += 1
        self._step(idx, val, base, target)
        self._remember(idx, val, base, target)
        for _ in range(self.replay):
            j = int(self._rng.integers(len(self._res_idx)))
            self._step(self._res_idx[j], self._res_val[j], self._res_base[j], self._res_target[j])

    def _remember(self, idx: np.ndarray, val: np.ndarray, base: np.ndarray, target: np.ndarray) -> None:
        """Append to the ring buffer, overwriting the oldest correction once it holds reservoir_size."""
        item = (idx, val, base.astype(np.float64), target)
        if len(self._res_idx) < self.reservoir_size:
            for store, value in zip(self._reservoir_lists(), item):
                store.append(value)
            self._next = len(self._res_idx) % self.reservoir_size
            return
        for store, value in zip(self._reservoir_lists(), item):
            store[self._next] = value
        self._next = (self._next + 1) % self.reservoir_size

    def _reservoir_lists(self) -> tuple[list, list, list, list]:
        return self._res_idx, self._res_val, self._res_base, self._res_target

    def _step(self, idx: np.ndarray, val: np.ndarray, base: np.ndarray, target: np.ndarray) -> None:
        """One SGD step on the cross-entropy of the heads `target` names (int8: polarity, toxic, question)."""
        val = val.astype(np.float64)
        r = np.clip(self._scale * (val @ self._w[idx]) + self._b, -self.max_shift, self.max_shift)
        u = base + r
        grad = np.zeros(len(HEADS))  # d(cross-entropy)/d(adapted logit): prediction minus target
        if target[0] != NO_TARGET:
            grad[:3] = softmax(u[None, :3])[0]
            grad[int(target[0])] -= 1.0
        for col, k in ((3, 1), (4, 2)):
            if target[k] != NO_TARGET:
                grad[col] = sigmoid(u[col]) - float(target[k])
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
        _write_npz(weights_tmp, {"rows": rows, "values": w[rows], "bias": self._b, **self._reservoir_arrays()})
        digest = hashlib.sha256(weights_tmp.read_bytes()).hexdigest()
        state = {
            "format": FORMAT,
            "base_fingerprint": base_fingerprint(self.base),
            "base_name": self.base.info.get("name"),
            "hyperparameters": {
                "learning_rate": self.learning_rate, "bias_learning_rate": self.bias_learning_rate,
                "l2": self.l2, "max_shift": self.max_shift,
                "replay": self.replay, "reservoir_size": self.reservoir_size, "seed": self.seed,
            },
            "updates": self.updates,
            # Python ints of any size survive JSON, so the generator's 128-bit state round-trips exactly.
            "replay_state": {"next_slot": self._next, "rng": self._rng.bit_generator.state},
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
        if not isinstance(state, dict) or state.get("format") not in READABLE_FORMATS:
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
            if state["format"] != "stormwatch-adaptive-v1":
                model._restore_reservoir(path / WEIGHTS_FILE, state["replay_state"])
        except (KeyError, TypeError, ValueError, IndexError, OSError, zipfile.BadZipFile) as exc:
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
            "res_base": np.asarray(self._res_base, dtype=np.float64).reshape(n, len(HEADS)),
            "res_targets": np.asarray(self._res_target, dtype=np.int8).reshape(n, 3),
        }

    def _restore_reservoir(self, weights: pathlib.Path, replay_state: dict) -> None:
        with np.load(weights, allow_pickle=False) as data:
            indptr, indices, values = data["res_indptr"], data["res_indices"], data["res_values"]
            bases, targets = data["res_base"], data["res_targets"]
        n = len(indptr) - 1
        if n > self.reservoir_size or bases.shape != (n, len(HEADS)) or targets.shape != (n, 3):
            raise ValueError("reservoir arrays do not fit together")
        if n and (indices.min() < 0 or indices.max() >= self._featurizer.n_features):
            raise ValueError("reservoir feature index out of range")
        self._res_idx = [indices[indptr[i]:indptr[i + 1]].astype(np.int32) for i in range(n)]
        self._res_val = [values[indptr[i]:indptr[i + 1]].astype(np.float32) for i in range(n)]
        self._res_base = [bases[i].astype(np.float64) for i in range(n)]
        self._res_target = [targets[i].astype(np.int8) for i in range(n)]
        self._next = int(replay_state["next_slot"])
        if not 0 <= self._next < self.reservoir_size:
            raise ValueError("reservoir slot out of range")
        self._rng.bit_generator.state = replay_state["rng"]


def _encode_target(polarity: str | None, toxic, question) -> np.ndarray:
    """Labels as int8 (polarity index, toxic, question); NO_TARGET for a head that was not corrected."""
    return np.array([NO_TARGET if polarity is None else POLARITY_LABELS.index(polarity),
                     NO_TARGET if toxic is None else int(toxic),
                     NO_TARGET if question is None else int(question)], dtype=np.int8)


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
