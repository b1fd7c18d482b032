"""Reproducible training, cross-validation and evaluation of the default German text classifier."""
from __future__ import annotations

import argparse
import functools
import hashlib
import io
import json
import pathlib
import shutil
import statistics
import sys
import time
import zipfile
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from detectors.classifier import (CHUNK_COMBINE, FORMAT_VERSION, HEADS, POLARITY_LABELS, TOXIC_KINDS, TextClassifier,
                                  combine_chunks, softmax)
from detectors import toxic_kinds as kinds
from detectors.corpus import DEFAULT_CORPUS, load_corpus
from detectors.reliability import calibration_report, cross_fitted
from detectors import style
from detectors.textfeatures import MAX_CHARS, Featurizer, default_features, split_chunks

MODEL_VERSION = "0.6.3"
REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_THREATS = kinds.DEFAULT_THREATS
DEFAULT_GERMEVAL2018 = REPO_ROOT.parent / "shared" / "data" / "germeval2018" / "germeval2018.training.txt"

# Chosen by 5-fold CV on the training data (see MODEL_CARD.md); fixed here so a rebuild is reproducible.
HYPERPARAMS: dict[str, Any] = {
    "polarity_C": 2.0,
    "polarity_scaling": "idf",
    "toxic_C": 16.0,
    "toxic_scaling": "nb",
    "question_C": 8.0,
    "question_scaling": "none",
    "toxic_corpus_weight": 2.0,
    "polarity_add_offense_as_negative": False,
    "offense_negative_weight": 0.3,
    # Polarity: texts longer than this many characters are scored (and trained on) as sentence-aligned chunks of
    # at most this size; "longest_corpus_text": the length of the longest corpus text, so the head never scores
    # a piece longer than anything it was trained on; an int fixes it; 0 scores whole texts (model 0.2.0).
    "chunk_chars": "longest_corpus_text",
    # Toxicity and question ("does any part of the text ...?"): scored as the max over chunks of at most this
    # many characters (tweet length; the heads are still trained on whole texts). 0: same as chunk_chars.
    "binary_chunk_chars": 280,
    # Weight of the two lexicon share columns (detectors/lexicon.py); 0 = no lexicon (models before 0.4.0).
    # Fixed at 4 before measuring; 16 and 48 gave no further gain out of domain and slowed training (MODEL_CARD.md).
    "lexicon_weight": 4.0,
    # Weight of the two emoji share columns (detectors/emoji_lexicon.py); 0 = none (models before 0.5.2). Set to
    # the word lexicon's weight before measuring, for the same reason: the shares are small numbers next to
    # L2-normalised n-gram rows.
    "emoji_weight": 4.0,
    # Weight of the five abuse-lexicon columns (four before 0.6.1; detectors/abuse_lexicon.py); 0 = none (models
    # before 0.6.0). Fixed at 1 before measuring: one hit gives 0.5, the size of a short text's n-gram entries.
    "abuse_weight": 1.0,
}


def feature_settings(hp: dict[str, Any] | None = None) -> dict[str, Any]:
    """The feature space of a default model trained with these hyper-parameters (default: HYPERPARAMS)."""
    hp = {**HYPERPARAMS, **(hp or {})}
    return default_features(float(hp["lexicon_weight"]), float(hp["emoji_weight"]), float(hp["abuse_weight"]))


def load_germeval2018(path: str | pathlib.Path) -> tuple[list[str], np.ndarray]:
    """Tweets and coarse labels (1 = OFFENSE); `|LBR|` marks line breaks in the source."""
    texts, labels = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[1] not in ("OFFENSE", "OTHER"):
                raise ValueError(f"{path}:{number}: expected text<TAB>OFFENSE|OTHER<TAB>fine label")
            texts.append(parts[0].replace("|LBR|", " "))
            labels.append(int(parts[1] == "OFFENSE"))
    return texts, np.array(labels, dtype=np.int64)


@dataclass(frozen=True)
class LinearHead:
    """A fitted linear head in the original feature space: scores = x @ coef + intercept, coef (n_features, k)."""

    coef: np.ndarray
    intercept: np.ndarray

    def decision(self, x: sp.csr_matrix) -> np.ndarray:
        scores = x @ self.coef + self.intercept
        return scores[:, 0] if scores.shape[1] == 1 else scores


def nb_scale(x: sp.csr_matrix, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """NB-SVM style feature scaling: |log-count ratio| of feature presence between classes (Wang & Manning 2012).

    Multiclass: the largest one-vs-rest ratio. Fitting a logistic regression on x * r and multiplying its
    coefficients by r gives a linear model in the original feature space, so inference does not change; the
    effect is an L2 penalty that is weaker on features that separate the classes and stronger on
    uninformative ones (common n-grams), which hashed n-grams with a uniform penalty lack.
    """
    present = x.copy()
    present.data[:] = 1.0
    classes = np.unique(y)
    pairs = [(y == classes[1], y == classes[0])] if len(classes) == 2 else [(y == c, y != c) for c in classes]
    scale = np.zeros(x.shape[1])
    for pos, neg in pairs:
        p = np.asarray(present[pos].sum(axis=0)).ravel() + alpha
        q = np.asarray(present[neg].sum(axis=0)).ravel() + alpha
        scale = np.maximum(scale, np.abs(np.log((p / p.sum()) / (q / q.sum()))))
    return scale


def idf_scale(x: sp.csr_matrix) -> np.ndarray:
    """Smoothed inverse document frequency per column, 1 + log((n + 1) / (df + 1)).

    Used like nb_scale (a column scaling folded back into the weights): rare n-grams get a weaker penalty
    than ubiquitous ones, the TF-IDF prior without storing an idf vector in the model.
    """
    df = np.bincount(x.indices, minlength=x.shape[1])
    return 1.0 + np.log((x.shape[0] + 1.0) / (df + 1.0))


def _column_scale(x: sp.csr_matrix, y: np.ndarray, scaling: str | None) -> np.ndarray:
    if scaling in (None, "none"):
        return np.ones(x.shape[1])
    if scaling == "nb":
        return nb_scale(x, y)
    if scaling == "idf":
        return idf_scale(x)
    raise ValueError(f"unknown feature scaling {scaling!r}, expected none, nb or idf")


def trained_with() -> dict[str, str]:
    """What the numbers of a training depend on besides data and code: the library versions, and the BLAS kernels
    OpenBLAS picked for this CPU (the same versions on a CPU with other kernels move lbfgs's path, so a rebuild
    differs in the last digits). Says what to compare when a rebuild does not match."""
    import platform
    from importlib.metadata import version

    from threadpoolctl import threadpool_info

    blas = sorted({f"{i['internal_api']} {i.get('version')} {i.get('architecture')}"
                   for i in threadpool_info() if i.get("user_api") == "blas"})
    return {"python": platform.python_version(), "blas": "; ".join(blas),
            **{name: version(name) for name in ("numpy", "scipy", "scikit-learn")}}


def _fit(x: sp.csr_matrix, y: np.ndarray, c: float, weight: np.ndarray | None = None, *, scaling: str | None = None,
         class_weight: str | None = None, unscaled_last: int = 0) -> LinearHead:
    """L2 logistic regression (lbfgs) on column-scaled features, fitted on the columns that occur in x only.

    An unused column's L2-regularised optimum is exactly 0, and lbfgs over 2^19 mostly empty columns is
    what makes training slow. `unscaled_last`: the last columns are no n-gram counts (a base model's logits)
    and keep scale 1.
    """
    used = np.unique(x.indices)
    xu = x[:, used]
    scale = _column_scale(xu, y, scaling)
    if unscaled_last:
        scale[used >= x.shape[1] - unscaled_last] = 1.0
    model = LogisticRegression(C=c, max_iter=2000, solver="lbfgs", tol=1e-6, class_weight=class_weight)
    model.fit(xu @ sp.diags(scale), y, sample_weight=weight)
    coef = np.zeros((x.shape[1], model.coef_.shape[0]))
    coef[used] = model.coef_.T * scale[:, None]
    return LinearHead(coef, model.intercept_.copy())


def _decision(model: LinearHead, x: sp.csr_matrix) -> np.ndarray:
    return model.decision(x)


@dataclass(frozen=True)
class Chunked:
    """Features of a text collection with one row per chunk (a short text is one chunk).

    Training uses every chunk of a training text with the text's label and weight 1/(its number of chunks),
    so each text counts once; scoring combines a text's chunk logits as TextClassifier does.
    """

    x: sp.csr_matrix
    owner: np.ndarray  # text index per row, non-decreasing
    weight: np.ndarray  # 1 / number of chunks of the row's text

    def rows(self, docs: np.ndarray) -> np.ndarray:
        return np.flatnonzero(np.isin(self.owner, docs))

    def decision(self, model: LinearHead, docs: np.ndarray, combine: Sequence[str]) -> np.ndarray:
        """Per-text scores for the texts `docs` (sorted ascending), chunk logits combined per column."""
        r = self.rows(docs)
        return combine_chunks(model.decision(self.x[r]), self.owner[r], combine)


def resolve_chunk_chars(hp: dict[str, Any], corpus_texts: Sequence[str]) -> int:
    """The chunk size in characters that hp["chunk_chars"] stands for (see HYPERPARAMS)."""
    value = hp["chunk_chars"]
    if value == "longest_corpus_text":
        return max((len(t[:MAX_CHARS]) for t in corpus_texts), default=0)
    return int(value)


def chunk_sizes(hp: dict[str, Any], corpus_texts: Sequence[str]) -> list[int]:
    """Chunk size per column in HEADS order (stored as inference.chunk_chars in model.json)."""
    polarity = resolve_chunk_chars(hp, corpus_texts)
    binary = int(hp.get("binary_chunk_chars", 0)) or polarity
    return [polarity] * 3 + [binary] * 2


def chunked_views(featurizer: Featurizer, corpus_texts: Sequence[str], g_texts: Sequence[str], hp: dict[str, Any]):
    """Training/polarity features of corpus and GermEval texts, plus the binary heads' scoring features if their
    chunk size differs (else None). Returns (xc, xg, binary, sizes)."""
    sizes = chunk_sizes(hp, corpus_texts)
    xc = featurize_chunked(featurizer, corpus_texts, sizes[0])
    xg = featurize_chunked(featurizer, g_texts, sizes[0])
    binary = None
    if sizes[3] != sizes[0]:
        binary = (featurize_chunked(featurizer, corpus_texts, sizes[3]), featurize_chunked(featurizer, g_texts, sizes[3]))
    return xc, xg, binary, sizes


def featurize_chunked(featurizer: Featurizer, texts: Sequence[str], chunk_chars: int) -> Chunked:
    chunks, owner = split_chunks(list(texts), int(chunk_chars))
    if owner is None:
        owner = np.arange(len(chunks))
    counts = np.bincount(owner, minlength=len(texts))
    return Chunked(featurizer.transform(chunks), owner, 1.0 / counts[owner])


POLARITY_COMBINE, TOXIC_COMBINE, QUESTION_COMBINE = CHUNK_COMBINE[:3], CHUNK_COMBINE[3:4], CHUNK_COMBINE[4:5]


def _folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def _chunk_rows(xs: Chunked, labels: np.ndarray, docs: np.ndarray, weight: float = 1.0):
    r = xs.rows(docs)
    return xs.x[r], labels[xs.owner[r]], weight * xs.weight[r]


def _polarity_data(xc: Chunked, corpus, xg: Chunked, yg, hp, train_idx):
    """Polarity training rows: corpus chunks, optionally plus GermEval OFFENSE tweets as down-weighted negatives."""
    x, y, weight = _chunk_rows(xc, corpus["polarity"], train_idx)
    if hp["polarity_add_offense_as_negative"]:
        xo, _, wo = _chunk_rows(xg, yg, np.flatnonzero(yg == 1), hp["offense_negative_weight"])
        x = sp.vstack([x, xo], format="csr")
        y = np.concatenate([y, np.zeros(xo.shape[0], dtype=np.int64)])
        weight = np.concatenate([weight, wo])
    return x, y, weight


def _toxic_data(xc: Chunked, corpus, xg: Chunked, yg, hp, corpus_idx, germeval_idx):
    x1, y1, w1 = _chunk_rows(xg, yg, germeval_idx)
    x2, y2, w2 = _chunk_rows(xc, corpus["toxic"], corpus_idx, hp["toxic_corpus_weight"])
    return sp.vstack([x1, x2], format="csr"), np.concatenate([y1, y2]), np.concatenate([w1, w2])


def cross_validate(xc: Chunked, corpus, xg: Chunked, yg, hp, n_folds: int, seed: int,
                   binary: tuple[Chunked, Chunked] | None = None) -> dict[str, np.ndarray]:
    """Out-of-fold decision values for every head (used for both the metrics and the calibration).

    Folds are over texts, so all chunks of a text are on the same side. xc, xg: the training rows (and the
    polarity scoring); binary: the corpus and GermEval chunks that the toxicity and question heads score, if
    they use another chunk size."""
    xc_bin, xg_bin = binary if binary is not None else (xc, xg)
    oof = {
        "polarity": np.zeros((len(corpus["texts"]), 3)),
        "question": np.zeros(len(corpus["texts"])),
        "toxic_corpus": np.zeros(len(corpus["texts"])),
        "toxic_germeval": np.zeros(len(yg)),
    }
    strata = corpus["polarity"] * 4 + corpus["toxic"] * 2 + corpus["question"]
    corpus_folds = _folds(_merge_rare(strata, n_folds), n_folds, seed)
    germeval_folds = _folds(yg, n_folds, seed)
    for (c_train, c_test), (g_train, g_test) in zip(corpus_folds, germeval_folds):
        x, y, w = _polarity_data(xc, corpus, xg, yg, hp, c_train)
        pol = _fit(x, y, hp["polarity_C"], w, scaling=hp["polarity_scaling"])
        oof["polarity"][c_test] = xc.decision(pol, c_test, POLARITY_COMBINE)
        x, y, w = _chunk_rows(xc, corpus["question"], c_train)
        q = _fit(x, y, hp["question_C"], w, scaling=hp["question_scaling"])
        oof["question"][c_test] = xc_bin.decision(q, c_test, QUESTION_COMBINE)
        x, y, w = _toxic_data(xc, corpus, xg, yg, hp, c_train, g_train)
        tox = _fit(x, y, hp["toxic_C"], w, scaling=hp["toxic_scaling"])
        oof["toxic_corpus"][c_test] = xc_bin.decision(tox, c_test, TOXIC_COMBINE)
        oof["toxic_germeval"][g_test] = xg_bin.decision(tox, g_test, TOXIC_COMBINE)
    return oof


def _merge_rare(strata: np.ndarray, n_folds: int) -> np.ndarray:
    """Strata with fewer members than folds fall back to their polarity so StratifiedKFold accepts them."""
    values, counts = np.unique(strata, return_counts=True)
    rare = np.isin(strata, values[counts < n_folds])
    return np.where(rare, (strata // 4) * 4, strata)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Single softmax temperature minimising the out-of-fold log loss."""
    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -float(log_p[np.arange(len(y)), y].mean())

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


def fit_platt(scores: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Platt scaling p = sigmoid(a * score + b), fitted on out-of-fold scores."""
    model = LogisticRegression(C=1e6, max_iter=1000).fit(scores.reshape(-1, 1), y)
    return {"a": float(model.coef_[0, 0]), "b": float(model.intercept_[0])}


def _platt_predict(scores: np.ndarray, params: dict[str, float]) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(params["a"] * scores + params["b"])))


def germeval_macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Official GermEval 2018 score: harmonic mean of macro precision and macro recall."""
    p = precision_score(y_true, y_pred, average="macro", zero_division=0)
    r = recall_score(y_true, y_pred, average="macro", zero_division=0)
    return float(2 * p * r / (p + r)) if p + r else 0.0


def cv_metrics(oof, corpus, yg, calibration, toxic: dict[str, np.ndarray]) -> dict[str, Any]:
    """toxic: the out-of-fold P(toxic) as the model computes it ("germeval", "corpus"; toxic_and_kinds)."""
    pol_pred = oof["polarity"].argmax(axis=1)
    q_pred = (_platt_predict(oof["question"], calibration["question"]) > 0.5).astype(int)
    tg_pred = (toxic["germeval"] > 0.5).astype(int)
    tc_pred = (toxic["corpus"] > 0.5).astype(int)
    r = lambda v: round(float(v), 4)  # noqa: E731
    return {
        "polarity_macro_f1": r(f1_score(corpus["polarity"], pol_pred, average="macro")),
        "polarity_accuracy": r(accuracy_score(corpus["polarity"], pol_pred)),
        "question_f1": r(f1_score(corpus["question"], q_pred)),
        "question_accuracy": r(accuracy_score(corpus["question"], q_pred)),
        "germeval2018_coarse_macro_f1": r(germeval_macro_f1(yg, tg_pred)),
        # Threshold chosen on these same out-of-fold scores: optimistic, for information only.
        "germeval2018_coarse_macro_f1_at_threshold": r(germeval_macro_f1(
            yg, (toxic["germeval"] > calibration["toxic"]["threshold"]).astype(np.int64))),
        "germeval2018_coarse_accuracy": r(accuracy_score(yg, tg_pred)),
        "corpus_toxic_f1": r(f1_score(corpus["toxic"], tc_pred, zero_division=0)),
    }


def _sha256(path: str | pathlib.Path) -> str:
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def _write_npz(path: pathlib.Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez_compressed with a fixed timestamp, so a rebuild is byte-identical."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def _stack_heads(polarity: LinearHead, toxic: LinearHead, question: LinearHead):
    weights = np.hstack([polarity.coef, toxic.coef, question.coef]).astype(np.float32)
    bias = np.concatenate([polarity.intercept, toxic.intercept, question.intercept]).astype(np.float32)
    rows = np.flatnonzero(np.any(weights != 0, axis=1)).astype(np.int32)
    return rows, weights[rows], bias


def single_threaded(function):
    """Run a training function with the BLAS/OpenMP thread pools limited to one thread.

    lbfgs sums floating-point numbers in an order that depends on the number of BLAS threads, so the same data
    and seed gave weights up to 4e-4 apart on one and on two threads (model 0.4.0). One thread makes the
    documented rebuild reproducible on any machine, and on these two-core machines it is also faster (the
    threads only oversubscribe the cores).
    """
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return function(*args, **kwargs)
    return wrapper


@single_threaded
def train_default_model(out_dir, germeval2018_path, corpus_path, seed: int = 0, *, n_folds: int = 5,
                        hyperparams: dict[str, Any] | None = None, features: dict[str, Any] | None = None,
                        threats_path=DEFAULT_THREATS, germeval_threats_path=kinds.DEFAULT_GERMEVAL_THREATS) -> dict:
    """Cross-validates, calibrates and fits all heads, then writes model.json, weights.npz and (unless threats_path
    is None) the kinds of toxicity in kinds.npz to out_dir."""
    hp = {**HYPERPARAMS, **(hyperparams or {})}
    features = features or feature_settings(hp)
    featurizer = Featurizer(features)
    corpus = load_corpus(corpus_path)
    g_texts, yg = load_germeval2018(germeval2018_path)
    xc, xg, binary, sizes = chunked_views(featurizer, corpus["texts"], g_texts, hp)

    oof = cross_validate(xc, corpus, xg, yg, hp, n_folds, seed, binary)
    toxic_calibration, toxic, kind_block, kind_arrays = toxic_and_kinds(
        featurizer, oof, corpus, yg, germeval2018_path, threats_path, germeval_threats_path, seed, n_folds)
    calibration = {
        "polarity_temperature": round(fit_temperature(oof["polarity"], corpus["polarity"]), 6),
        # Class frequencies the polarity head was trained under (for prior adaptation to a deployment).
        "polarity_train_prior": [round(float(v), 6) for v in np.bincount(corpus["polarity"], minlength=3)
                                 / len(corpus["polarity"])],
        "toxic": toxic_calibration,
        "question": fit_platt(oof["question"], corpus["question"]),
    }
    metrics = cv_metrics(oof, corpus, yg, calibration, toxic)

    all_corpus = np.arange(len(corpus["texts"]))
    x, y, w = _polarity_data(xc, corpus, xg, yg, hp, all_corpus)
    polarity = _fit(x, y, hp["polarity_C"], w, scaling=hp["polarity_scaling"])
    x, y, w = _toxic_data(xc, corpus, xg, yg, hp, all_corpus, np.arange(len(yg)))
    toxic = _fit(x, y, hp["toxic_C"], w, scaling=hp["toxic_scaling"])
    x, y, w = _chunk_rows(xc, corpus["question"], all_corpus)
    question = _fit(x, y, hp["question_C"], w, scaling=hp["question_scaling"])
    rows, values, bias = _stack_heads(polarity, toxic, question)

    info = {
        "format_version": FORMAT_VERSION,
        "name": "stormwatch-de-comments",
        "version": MODEL_VERSION,
        "heads": list(HEADS),
        "features": features,
        "inference": {"chunk_chars": sizes, "chunk_combine": list(CHUNK_COMBINE)},
        "calibration": calibration,
        "hyperparameters": hp,
        "seed": seed,
        "trained_with": trained_with(),
        "cv": {"folds": n_folds, "shuffle_seed": seed, "metrics": metrics},
        "training_data": {
            "germeval2018": {"file": pathlib.Path(germeval2018_path).name, "rows": len(yg),
                             "offense": int(yg.sum()), "sha256": _sha256(germeval2018_path),
                             "licence": "CC BY 4.0",
                             "citation": "Wiegand, Siegel, Ruppenhofer (2018), Overview of the GermEval 2018 Shared "
                                         "Task on the Identification of Offensive Language, KONVENS 2018"},
            "corpus": {"file": pathlib.Path(corpus_path).name, "rows": len(corpus["texts"]),
                       "sha256": _sha256(corpus_path), "licence": "CC BY 4.0 (stormwatch project)"},
        },
        "stored_weight_rows": int(len(rows)),
    }
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "kinds.npz").unlink(missing_ok=True)
    if kind_block is not None:
        info["toxic_kinds"] = kind_block
        metrics["germeval2018_fine_macro_f1"] = kind_block["cv"]["germeval2018_fine_macro_f1"]
        _write_npz(out / "kinds.npz", kind_arrays)
    _write_npz(out / "weights.npz", {"rows": rows, "values": values, "bias": bias})
    (out / "model.json").write_text(json.dumps(info, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    return metrics


def toxic_and_kinds(featurizer: Featurizer, oof: dict[str, np.ndarray], corpus: dict[str, Any], yg: np.ndarray,
                    germeval2018_path, threats_path, germeval_threats_path, seed: int, n_folds: int):
    """The toxic calibration and, with threat labels (threats_path), the kind heads.

    Returns (calibration of "toxic", out-of-fold P(toxic) on "germeval" and "corpus" as the model computes it,
    model.json's toxic_kinds block or None, the arrays of kinds.npz or None). With kind heads P(toxic) also takes
    the threat head's out-of-fold logits (fit_toxic_with_threat), and the GermEval 2018 fine-grained score uses
    that P(toxic) to decide *whether*, the kind heads *which*."""
    scores = np.concatenate([oof["toxic_germeval"], oof["toxic_corpus"]])
    y = np.concatenate([yg, corpus["toxic"]])
    n_g = len(yg)
    if threats_path is None:
        calibration = calibrate_task("toxicity", scores, y)
        p = _platt_predict(scores, calibration)
        return calibration, {"germeval": p[:n_g], "corpus": p[n_g:]}, None, None
    kind_cv = cross_validate_toxic_kinds(featurizer, germeval2018_path, corpus, threats_path, seed, n_folds,
                                         germeval_threats_path)
    threat_logits = np.concatenate([kind_cv.threat_logits("germeval2018"), kind_cv.threat_logits("corpus")])
    # Texts the threat head's CV did not score (without GermEval threat labels: the offensive tweets) get no
    # term: NaN would stop the fit, and "no evidence of a threat" is what the head can say about them.
    threat_logits = np.nan_to_num(threat_logits, nan=0.0)
    calibration = fit_toxic_with_threat(scores, threat_logits, y)
    p = toxic_probability(scores, calibration, threat_logits)
    block, arrays = finish_toxic_kinds(kind_cv, (p[:n_g], calibration["threshold"]), threats_path,
                                       germeval_threats_path, n_folds, seed)
    return calibration, {"germeval": p[:n_g], "corpus": p[n_g:]}, block, arrays


def fit_toxic_with_threat(scores: np.ndarray, threat_logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """P(toxic) = sigmoid(a * score + b + threat_weight * max(0, threat logit)), fitted on out-of-fold values, plus
    the share-matching threshold (choose_threshold).

    The term only acts where the threat head says "more likely than not" (calibrated logit > 0), so texts the
    threat head does not flag keep a plain Platt calibration. Chosen in session 9 on the training CV against the
    toxicity head alone, a linear term and noisy-or (benchmarks/CLASSIFIER_RESULTS.md). A negative weight (a
    threat making a text less toxic) is not a model anyone should ship: then the weight is 0."""
    x = np.column_stack([scores, np.maximum(threat_logits, 0.0)])
    model = LogisticRegression(C=1e6, max_iter=1000).fit(x, y)
    a, weight = (float(v) for v in model.coef_[0])
    if weight <= 0.0:
        calibration = {**fit_platt(scores, y), "threat_weight": 0.0}
    else:
        calibration = {"a": a, "b": float(model.intercept_[0]), "threat_weight": weight}
    calibration["threshold"] = choose_threshold(toxic_probability(scores, calibration, threat_logits), y)
    return calibration


def toxic_probability(scores: np.ndarray, calibration: dict[str, float],
                      threat_logits: np.ndarray | None = None) -> np.ndarray:
    """P(toxic) from the toxicity head's decision values as TextClassifier computes it (calibrated_logits)."""
    z = calibration["a"] * scores + calibration["b"]
    if calibration.get("threat_weight"):
        z = z + calibration["threat_weight"] * np.maximum(threat_logits, 0.0)
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class KindCV:
    """The kind heads' cross-validation: their data, features, out-of-fold logits and calibration."""

    pool: kinds.KindPool
    feats: kinds.KindFeatures
    oof: np.ndarray
    calibration: dict[str, dict[str, float]]
    threats: kinds.ThreatData
    g_fine: np.ndarray
    g_threat: np.ndarray | None
    hp: dict[str, Any]

    def threat_logits(self, source: str) -> np.ndarray:
        """Calibrated out-of-fold threat logits of one source's texts, in that source's order."""
        k = TOXIC_KINDS.index("threat")
        cal = self.calibration["threat"]
        return cal["a"] * self.oof[self.pool.source == source, k] + cal["b"]


def cross_validate_toxic_kinds(featurizer: Featurizer, germeval2018_path, corpus: dict[str, Any], threats_path,
                               seed: int, n_folds: int, germeval_threats_path=kinds.DEFAULT_GERMEVAL_THREATS) -> KindCV:
    g_texts, g_fine = kinds.load_germeval2018_fine(germeval2018_path)
    threats = kinds.load_threats(threats_path, corpus["texts"])
    g_threat = kinds.load_germeval_threats(germeval_threats_path, g_fine) if germeval_threats_path else None
    pool = kinds.kind_pool(g_texts, g_fine, corpus, threats, g_threat)
    hp = dict(kinds.KIND_HYPERPARAMS)
    feats = kinds.featurize_pool(featurizer, pool.texts, hp["chunk_chars"])
    oof = kinds.cross_validate_kinds(feats, pool, n_folds, seed, hp)
    return KindCV(pool, feats, oof, kinds.calibrate_kinds(oof, pool), threats, g_fine, g_threat, hp)


def finish_toxic_kinds(kind_cv: KindCV, toxic_oof: tuple[np.ndarray, float], threats_path, germeval_threats_path,
                       n_folds: int, seed: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The kind heads' metrics and final fit: model.json's toxic_kinds block and the arrays of kinds.npz.

    toxic_oof: out-of-fold P(toxic) on the GermEval 2018 tweets and its threshold, for the GermEval 2018
    fine-grained score (P(toxic) decides *whether*, the kind heads *which*)."""
    pool, feats, oof, calibration = kind_cv.pool, kind_cv.feats, kind_cv.oof, kind_cv.calibration
    threats, g_fine, g_threat, hp = kind_cv.threats, kind_cv.g_fine, kind_cv.g_threat, kind_cv.hp
    g = pool.source == "germeval2018"
    probabilities = np.column_stack([_platt_predict(oof[g, k], calibration[kind])
                                     for k, kind in enumerate(TOXIC_KINDS)])
    fine_pred = kinds.fine_grained_prediction(toxic_oof[0], toxic_oof[1], probabilities)
    cv = {"folds": n_folds, "shuffle_seed": seed, "per_kind": kinds.kind_metrics(oof, pool, calibration),
          "germeval2018_fine_macro_f1": round(germeval_macro_f1(g_fine, fine_pred), 4),
          "germeval2018_fine_mean_of_class_f1": round(float(f1_score(g_fine, fine_pred, average="macro")), 4),
          "germeval2018_fine_accuracy": round(float(accuracy_score(g_fine, fine_pred)), 4),
          "germeval2018_fine_f1_per_class": {label: round(float(v), 4) for label, v in zip(
              kinds.FINE_LABELS, f1_score(g_fine, fine_pred, labels=list(kinds.FINE_LABELS), average=None))}}
    coef, bias = kinds.fit_kinds(feats, pool, hp)
    weights = coef.astype(np.float32)
    rows = np.flatnonzero(np.any(weights != 0, axis=1)).astype(np.int32)
    block = {
        "heads": list(TOXIC_KINDS),
        "calibration": calibration,
        "chunk_chars": hp["chunk_chars"],
        "hyperparameters": hp,
        "cv": cv,
        "training_data": {
            "germeval2018": "fine labels INSULT, ABUSE, PROFANITY of the same file (CC BY 4.0)",
            "threats": {"file": pathlib.Path(threats_path).name, "rows": len(threats.labels),
                        "threats": int(threats.labels.sum()), "sha256": _sha256(threats_path),
                        "licence": "CC BY 4.0 (stormwatch project)"},
            "germeval2018_threats": None if g_threat is None else {
                "file": pathlib.Path(germeval_threats_path).name, "offensive_tweets": int((g_fine != "OTHER").sum()),
                "threats": int(g_threat.sum()), "sha256": _sha256(germeval_threats_path),
                "licence": "CC BY 4.0 (stormwatch project; labels of GermEval 2018 tweets by line number)"},
        },
        "stored_weight_rows": int(len(rows)),
    }
    return block, {"rows": rows, "values": weights[rows], "bias": bias.astype(np.float32)}


# Where each task's head lives in the stored weight matrix (columns in HEADS order) and its regularisation.
TASK_COLUMNS = {"polarity": [0, 1, 2], "toxicity": [3], "question": [4]}
TASK_CALIBRATION_KEY = {"toxicity": "toxic", "question": "question"}
TASK_C = {"polarity": "polarity_C", "toxicity": "toxic_C", "question": "question_C", "factclaiming": "toxic_C"}


# Per-task options of `stormwatch train`. NB scaling raised toxicity CV on GermEval 2018 and 2021 and left
# fact-claiming unchanged; the question head was not re-tuned, so it stays unscaled; polarity matches the shipped
# head. The toxicity head can start from the base model's toxicity logit (transfer): the base model is trained on
# allowed data only.
TASK_SCALING = {"polarity": "idf", "toxicity": "nb", "question": "none", "factclaiming": "nb"}
TASK_TRANSFER_COLUMNS = {"toxicity": [3]}
# Tasks whose head learns weights for the style features (detectors/style.py) next to its n-gram weights; hp["style"]
# overrides. Checked for toxicity on GermEval 2018 and 2021 (benchmarks/CLASSIFIER_RESULTS.md, session 10).
TASK_STYLE = ("toxicity",)


def uses_style(task: str, hp: dict[str, Any]) -> bool:
    wanted = bool(hp.get("style", task in TASK_STYLE))
    if wanted and task == "polarity":  # one weight per feature and binary head; refused before any training
        raise ValueError("style features are learned for binary heads only, not for polarity")
    return wanted


def base_style_weights(info: dict[str, Any], columns: Sequence[int]) -> np.ndarray | None:
    """The base model's style weights for the HEADS `columns`, shape (len(style.FEATURES), len(columns)), or None
    when it has none for them."""
    block = info.get("style") or {}
    heads = block.get("weights", {})
    if not any(HEADS[c] in heads for c in columns):
        return None
    return np.array([heads.get(HEADS[c], [0.0] * len(style.FEATURES)) for c in columns], dtype=np.float64).T


def _transfer_columns(task: str, hp: dict[str, Any], weights: np.ndarray | None) -> list[int]:
    """The base model's HEADS columns whose logits the new head takes as features ([] when transfer is off)."""
    columns = hp.get("transfer_columns", TASK_TRANSFER_COLUMNS.get(task))
    if not columns or weights is None or not hp.get("transfer", True):
        return []
    return list(columns)


def _transfer_offset(columns: list[int], weights: np.ndarray | None, bias: np.ndarray | None, x: sp.csr_matrix,
                     styles: np.ndarray | None = None, base_style: np.ndarray | None = None) -> np.ndarray | None:
    """The base model's logits (n, k) of `columns` used as extra features (with its style term, if it has one), or
    None when there are no columns."""
    if not columns:
        return None
    out = np.asarray(x @ weights[:, columns], dtype=np.float64) + bias[columns].astype(np.float64)
    return out if base_style is None else out + styles @ base_style


def _fit_task(x: sp.csr_matrix, offset: np.ndarray | None, y: np.ndarray, task: str,
              hp: dict[str, Any]) -> tuple[LinearHead, np.ndarray]:
    """One head and the weights of the base model's logits in it (empty without transfer).

    The base logits enter as extra feature columns, so the new head learns how far to trust the base
    model; with n-gram features this is a linear model again (folded into the weights when saving).
    """
    scaling = hp.get("scaling", TASK_SCALING[task])
    if offset is None:
        return _fit(x, y, hp[TASK_C[task]], scaling=scaling, class_weight=hp.get("class_weight")), np.zeros(0)
    k = offset.shape[1]
    augmented = sp.hstack([x, sp.csr_matrix(offset)], format="csr")
    head = _fit(augmented, y, hp[TASK_C[task]], scaling=scaling, class_weight=hp.get("class_weight"),
                unscaled_last=k)
    return LinearHead(head.coef[:-k], head.intercept), head.coef[-k:, 0].copy()


@dataclass(frozen=True)
class TaskView:
    """A labelled file as `stormwatch train` sees it: whole-text rows to train on, and the rows to score.

    Inference scores a text longer than a head's chunk size as chunks (TextClassifier.logits), so the
    out-of-fold scores behind the metrics, the calibration and the decision threshold must be computed the
    same way, or they describe a model that is never run. The head itself is trained on whole texts, like the
    shipped binary heads.
    """

    x: sp.csr_matrix  # one row per text (training)
    offset: np.ndarray | None  # dense extra features per text: the base model's logits (transfer), then style; or None
    scoring: Chunked | None  # one row per chunk as inference splits them; None: every text is one chunk
    scoring_offset: np.ndarray | None  # the base model's logits per chunk row
    combine: tuple[str, ...]  # how chunk scores combine into a text's score (per output column)
    n_style: int = 0  # the last n_style offset columns are style features (detectors/style.py)

    def training_rows(self, docs: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray | None]:
        return self.x[docs], None if self.offset is None else self.offset[docs]

    def scores(self, head: tuple[LinearHead, np.ndarray], docs: np.ndarray) -> np.ndarray:
        """Decision values of the texts `docs` (ascending) exactly as TextClassifier computes them."""
        if self.scoring is None:
            return _task_scores(head, *self.training_rows(docs))
        r = self.scoring.rows(docs)
        offset = None if self.scoring_offset is None else self.scoring_offset[r]
        return combine_chunks(_task_scores(head, self.scoring.x[r], offset), self.scoring.owner[r], self.combine)


def task_view(task: str, info: dict[str, Any], weights: np.ndarray, bias: np.ndarray, texts: Sequence[str],
              hp: dict[str, Any]) -> TaskView:
    """Features of `texts` in the base model's space, its transfer logits and the chunk rows inference scores."""
    featurizer = Featurizer(info["features"])
    x = featurizer.transform(texts)
    column = TASK_COLUMNS.get(task, TASK_COLUMNS["toxicity"])[0]
    inference = info.get("inference", {})
    size = int(inference.get("chunk_chars", [0] * len(HEADS))[column])
    combine = tuple(inference.get("chunk_combine", CHUNK_COMBINE))
    combine = combine[:3] if task == "polarity" else (combine[column],)
    scoring = chunk_texts = None
    if size > 0 and any(len(t) > size for t in texts):
        scoring = featurize_chunked(featurizer, texts, size)
        chunk_texts = split_chunks(list(texts), size)[0]  # the rows of `scoring`, as text (for their style)
    columns = _transfer_columns(task, hp, weights)
    base_style = base_style_weights(info, columns) if columns else None
    own_style = uses_style(task, hp)
    styles = style.style_matrix(texts) if own_style or base_style is not None else None
    chunk_styles = None if styles is None or scoring is None else style.style_matrix(chunk_texts)
    offset = _transfer_offset(columns, weights, bias, x, styles, base_style)
    scoring_offset = None if scoring is None else _transfer_offset(columns, weights, bias, scoring.x, chunk_styles,
                                                                    base_style)
    if own_style:
        offset = styles if offset is None else np.hstack([offset, styles])
        if scoring is not None:
            scoring_offset = chunk_styles if scoring_offset is None else np.hstack([scoring_offset, chunk_styles])
    return TaskView(x, offset, scoring, scoring_offset, combine, len(style.FEATURES) if own_style else 0)


def _task_scores(head: tuple[LinearHead, np.ndarray], x: sp.csr_matrix, offset: np.ndarray | None) -> np.ndarray:
    linear, alpha = head
    scores = linear.decision(x)
    return scores + offset @ alpha if offset is not None else scores


def cross_validate_task(view: TaskView, y: np.ndarray, task: str, hp: dict[str, Any], n_folds: int = 5,
                        seed: int = 0, docs: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold decision values of one head over the texts `docs` (default: all; ascending):
    (n, 3) logits for polarity, (n,) scores for binary tasks, in the order of `docs`."""
    docs = np.arange(len(y)) if docs is None else np.asarray(docs)
    yd = y[docs]
    oof = np.zeros((len(docs), 3)) if task == "polarity" else np.zeros(len(docs))
    for train_idx, test_idx in _folds(yd, n_folds, seed):
        head = _fit_task(*view.training_rows(docs[train_idx]), yd[train_idx], task, hp)
        oof[test_idx] = view.scores(head, docs[test_idx])
    return oof


# Regularisation grid that `stormwatch train` searches by inner CV for binary heads: users' files differ in size
# and style, so one C chosen on GermEval 2018 does not fit all. Polarity keeps its fixed C (3 classes, CV cost).
TASK_C_GRID = (2.0, 4.0, 16.0)


def select_and_calibrate(view: TaskView, y: np.ndarray, task: str, hp: dict[str, Any], n_folds: int, seed: int,
                         docs: np.ndarray | None = None) -> tuple[dict[str, Any], np.ndarray, Any]:
    """C by cross-validation over the texts `docs` (default: all; best macro-F1 at the CV-chosen threshold),
    then calibration on that C's scores.

    Returns the hyper-parameters with the chosen C, its out-of-fold scores and its calibration. Ties go to
    the smaller C (stronger regularisation). hp["c_grid"] = [] or a polarity task skips the search.
    """
    yd = y if docs is None else y[docs]
    grid = list(hp.get("c_grid", TASK_C_GRID)) if task != "polarity" else []
    if not grid:
        oof = cross_validate_task(view, y, task, hp, n_folds, seed, docs)
        return hp, oof, calibrate_task(task, oof, yd)
    best = None
    for c in sorted(grid):
        trial = {**hp, TASK_C[task]: float(c)}
        oof = cross_validate_task(view, y, task, trial, n_folds, seed, docs)
        calibration = calibrate_task(task, oof, yd)
        score = germeval_macro_f1(yd, predict_task(task, oof, calibration))
        if best is None or score > best[0] + 1e-12:
            best = (score, trial, oof, calibration)
    return best[1], best[2], best[3]


def calibrate_task(task: str, oof: np.ndarray, y: np.ndarray) -> Any:
    """One softmax temperature for polarity; Platt scaling plus a decision threshold for binary heads (choose_threshold).

    The threshold is chosen on the same out-of-fold scores as the calibration, so when train_task runs on
    the training part of an outer fold it is an inner-CV choice (see benchmarks/eval_classifier.py).
    """
    if task == "polarity":
        return round(fit_temperature(oof, y), 6)
    platt = fit_platt(oof, y)
    return {**platt, "threshold": choose_threshold(_platt_predict(oof, platt), y)}


def choose_threshold(probabilities: np.ndarray, y: np.ndarray) -> float:
    """Decision threshold on calibrated out-of-fold probabilities under which the head calls as many texts
    positive as the labels hold (share matching), kept within [0.05, 0.95].

    Probabilities stay calibrated; the threshold only matters where a hard label is needed. Until session 6 this
    was the macro-F1 argmax over a 0.01 grid, which is noisy on a few thousand texts: in one GermEval 2021 fold it
    chose 0.72 where its neighbours chose 0.37-0.46. Share matching was chosen on GermEval 2018 (nested CV, seeds
    0-4, criterion fixed beforehand; mean GermEval macro-F1 0.7725 against 0.7703), not on GermEval 2021, where the
    same rules had been screened first (benchmarks/CLASSIFIER_RESULTS.md). Like the macro-F1 optimum it lies
    below 0.5 for a minority class.
    """
    share = float(np.mean(y))
    return round(float(np.clip(np.quantile(probabilities, 1.0 - share), 0.05, 0.95)), 4)


def predict_task(task: str, scores: np.ndarray, calibration: Any) -> np.ndarray:
    """Hard labels from decision values: argmax for polarity, calibrated probability > threshold (default 0.5)."""
    if task == "polarity":
        return scores.argmax(axis=1)
    return (_platt_predict(scores, calibration) > calibration.get("threshold", 0.5)).astype(np.int64)


def task_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """GermEval macro-F1 (harmonic mean of macro-P and macro-R) with a bootstrap 95 % interval, mean-of-class F1
    and accuracy."""
    def r(value) -> float:
        return round(float(value), 4)

    return {
        "germeval_macro_f1": r(germeval_macro_f1(y, predicted)),
        "germeval_macro_f1_ci95": [r(v) for v in bootstrap_germeval_macro_f1(y, predicted)],
        "macro_f1": r(f1_score(y, predicted, average="macro", zero_division=0)),
        "accuracy": r(accuracy_score(y, predicted)),
    }


def task_calibration(task: str, oof: np.ndarray, y: np.ndarray, seed: int = 0,
                     n_folds: int = 5) -> dict[str, dict[str, float]]:
    """How far the new head's probabilities can be trusted: per class that detectors add up, the expected
    calibration error and the share error (mean probability - true share) of its out-of-fold probabilities,
    calibrated cross-fitted (benchmarks/CALIBRATION_RESULTS.md explains both)."""
    if task == "polarity":
        probs = cross_fitted(oof, y, fit_temperature, lambda z, t: softmax(z / t), folds=n_folds, seed=seed)
        columns = {"negative": (probs[:, 0], y == 0), "positive": (probs[:, 2], y == 2)}
    else:
        columns = {"positive_class": (cross_fitted(oof, y, fit_platt, _platt_predict, folds=n_folds, seed=seed), y)}
    out = {}
    for name, (p, truth) in columns.items():
        report = calibration_report(p, truth.astype(int))
        out[name] = {key: report[key] for key in ("ece", "share_error", "brier", "brier_climatology")}
    return out


def bootstrap_germeval_macro_f1(y: np.ndarray, predicted: np.ndarray, n_boot: int = 1000, seed: int = 0,
                                level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the GermEval macro-F1 over the texts (fixed seed, so reports reproduce).

    An authority's file may hold a few hundred labelled comments, and one cross-validated number then hides how
    much it would move on other comments of the same kind (on GermEval 2021, 3,244 comments, the fold seed alone
    moves it by ±0.012). The interval resamples the texts with their out-of-fold labels; it does not refit, so
    it leaves out the variance of training and is a lower bound on the real uncertainty.
    """
    if len(y) == 0:
        return 0.0, 0.0
    lo, hi = np.quantile(bootstrap_scores(y, predicted, n_boot, seed), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def bootstrap_scores(y: np.ndarray, predicted: np.ndarray, n_boot: int, seed: int, batch: int = 50) -> np.ndarray:
    """GermEval macro-F1 of n_boot resamples of the texts (with replacement), computed from confusion counts.

    Resample b draws text i counts[b, i] times (one multinomial draw per resample, in batches so memory stays
    at batch x n); precision and recall of a class that a resample never predicts (or never has) count as 0,
    as in germeval_macro_f1.
    """
    y, predicted = np.asarray(y), np.asarray(predicted)
    n = len(y)
    labels = np.union1d(y, predicted)
    k = len(labels)
    cells = np.searchsorted(labels, y) * k + np.searchsorted(labels, predicted)
    members = [np.flatnonzero(cells == cell) for cell in range(k * k)]
    rng = np.random.default_rng(seed)
    scores = []
    for start in range(0, n_boot, batch):
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=min(batch, n_boot - start))
        confusion = np.stack([counts[:, m].sum(axis=1) for m in members], axis=1).reshape(-1, k, k)
        hits = np.diagonal(confusion, axis1=1, axis2=2).astype(np.float64)
        predicted_totals, true_totals = confusion.sum(axis=1), confusion.sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(predicted_totals > 0, hits / predicted_totals, 0.0).mean(axis=1)
            recall = np.where(true_totals > 0, hits / true_totals, 0.0).mean(axis=1)
            scores.append(np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0))
    return np.concatenate(scores)


@single_threaded
def train_task(task: str, dataset, out_dir, base_dir=None, seed: int = 0, *, n_folds: int = 5,
               hyperparams: dict[str, Any] | None = None) -> dict[str, Any]:
    """Retrains one head on a labelled Dataset and writes a complete model directory to out_dir.

    The other heads, the feature settings and their calibration are copied unchanged from the base model
    (default: the shipped one), so the result loads with TextClassifier.load(out_dir). The new head uses the
    base model's hashed features and is calibrated on out-of-fold scores like the default training.
    """
    from detectors.classifier import _read_info, _read_weights, default_model_dir

    if task not in TASK_COLUMNS:
        raise ValueError(f"unknown task {task!r}, expected one of {', '.join(TASK_COLUMNS)}")
    hp = {**HYPERPARAMS, **(hyperparams or {})}
    base = pathlib.Path(base_dir) if base_dir is not None else default_model_dir()
    info = _read_info(base)
    weights, bias = _read_weights(base, info)
    y = dataset.labels
    view = task_view(task, info, weights, bias, dataset.texts, hp)

    hp, oof, calibration = select_and_calibrate(view, y, task, hp, n_folds, seed)
    metrics = {**task_metrics(y, predict_task(task, oof, calibration)),
               "calibration": task_calibration(task, oof, y, seed, n_folds)}

    head, alpha = _fit_task(view.x, view.offset, y, task, hp)
    columns = TASK_COLUMNS[task]
    coef, intercept = head.coef, head.intercept
    base_columns = _transfer_columns(task, hp, weights)
    alpha_transfer, alpha_style = alpha[:len(base_columns)], alpha[len(base_columns):]
    style_weights = alpha_style if view.n_style else None
    if base_columns:  # fold the base logits into the new head: (x @ w_base + b_base + style @ s_base) @ alpha
        coef = coef + (weights[:, base_columns].astype(np.float64) @ alpha_transfer)[:, None]
        intercept = intercept + bias[base_columns].astype(np.float64) @ alpha_transfer
        base_style = base_style_weights(info, base_columns)
        if base_style is not None:
            folded = base_style @ alpha_transfer
            style_weights = folded if style_weights is None else style_weights + folded
    weights[:, columns] = coef.astype(np.float32)
    bias[columns] = intercept.astype(np.float32)
    rows = np.flatnonzero(np.any(weights != 0, axis=1)).astype(np.int32)

    info = json.loads(json.dumps(info))  # deep copy: the base description stays as provenance of the other heads
    _set_style(info, [HEADS[c] for c in columns], style_weights)
    if task == "polarity":
        info["calibration"]["polarity_temperature"] = calibration
    else:
        info["calibration"][TASK_CALIBRATION_KEY[task]] = calibration
    data_path = pathlib.Path(dataset.path)
    info.setdefault("trained_heads", {})[task] = {
        "data": {"file": data_path.name, "format": dataset.fmt, "rows": len(y), "classes": dataset.class_counts(),
                 "sha256": _sha256(data_path)},
        "base_model": {"name": info.get("name"), "version": info.get("version"), "dir": str(base)},
        "C": hp[TASK_C[task]],
        "C_grid": list(hp.get("c_grid", TASK_C_GRID)) if task != "polarity" else None,
        "class_weight": hp.get("class_weight"),
        "feature_scaling": hp.get("scaling", TASK_SCALING[task]),
        "transfer": {"base_columns": [HEADS[c] for c in base_columns],
                     "weights": [round(float(a), 6) for a in alpha_transfer]} if base_columns else None,
        "style": bool(view.n_style),
        "seed": seed,
        "trained_with": trained_with(),
        "cv": {"folds": n_folds, "shuffle_seed": seed, "metrics": metrics},
    }
    info["stored_weight_rows"] = len(rows)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_npz(out / "weights.npz", {"rows": rows, "values": weights[rows], "bias": bias})
    # The kind heads are not retrained by a task; they come with the base model, unchanged.
    if "toxic_kinds" in info:
        if (base / "kinds.npz").resolve() != (out / "kinds.npz").resolve():
            shutil.copyfile(base / "kinds.npz", out / "kinds.npz")
    else:
        (out / "kinds.npz").unlink(missing_ok=True)
    (out / "model.json").write_text(json.dumps(info, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
    return metrics


def _set_style(info: dict[str, Any], heads: list[str], weights: np.ndarray | None) -> None:
    """Store (or, with None, drop) the style weights of one binary head in info["style"]; a block without heads
    goes."""
    block = info.pop("style", None) or {"scheme": style.SCHEME, "features": list(style.FEATURES), "weights": {}}
    for head in heads:
        block["weights"].pop(head, None)
    if weights is not None:
        if len(heads) != 1:
            raise ValueError("style weights are learned for binary heads only")
        block["weights"][heads[0]] = [float(w) for w in weights]  # full precision: inference must match training
    if block["weights"]:
        info["style"] = block


def load_germeval2017(path: str | pathlib.Path) -> tuple[list[str], list[str]]:
    """Relevant and irrelevant documents with their document-level polarity (evaluation only, CC BY-NC).

    url, text, relevance, sentiment[, aspects]; tab-separated with quoting disabled, so split on tabs only.
    """
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="\n") as handle:
        for line in handle:
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) >= 4 and parts[3] in POLARITY_LABELS:
                texts.append(parts[1])
                labels.append(parts[3])
    return texts, labels


def evaluate_germeval2017(model_dir, path) -> dict[str, float]:
    texts, labels = load_germeval2017(path)
    predicted = TextClassifier.load(model_dir).predict(texts).sentiment()
    majority = max(set(labels), key=labels.count)
    return {
        "documents": len(texts),
        "micro_f1": round(accuracy_score(labels, predicted), 4),
        "macro_f1": round(f1_score(labels, predicted, average="macro"), 4),
        "majority_baseline_micro_f1": round(labels.count(majority) / len(labels), 4),
    }


def benchmark(model_dir, texts: Sequence[str], n: int = 20000, runs: int = 5) -> dict[str, float]:
    """Median batch throughput over `runs` passes of n texts, plus cold load time."""
    start = time.perf_counter()
    clf = TextClassifier.load(model_dir)
    load_seconds = time.perf_counter() - start
    batch = [texts[i % len(texts)] for i in range(n)]
    clf.predict(batch[:100])
    durations = []
    for _ in range(runs):
        start = time.perf_counter()
        clf.predict(batch)
        durations.append(time.perf_counter() - start)
    size = sum(p.stat().st_size for p in pathlib.Path(model_dir).iterdir())
    return {"texts_per_second": round(n / statistics.median(durations)), "load_seconds": round(load_seconds, 3),
            "model_bytes": size, "mean_chars": round(float(np.mean([len(t) for t in batch])), 1)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m detectors.training", description=__doc__)
    parser.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent / "models" / "default"))
    parser.add_argument("--germeval2018", default=str(DEFAULT_GERMEVAL2018))
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--evaluate-only", action="store_true", help="skip training, evaluate the model in --out")
    parser.add_argument("--germeval2017", help="GermEval 2017 dev.tsv for an out-of-domain polarity evaluation")
    parser.add_argument("--benchmark", action="store_true", help="measure throughput on 20,000 GermEval 2018 tweets")
    args = parser.parse_args(argv)
    try:
        if not args.evaluate_only:
            metrics = train_default_model(args.out, args.germeval2018, args.corpus, args.seed, n_folds=args.folds)
            print(json.dumps({"cv_metrics": metrics}, indent=2))
        if args.germeval2017:
            print(json.dumps({"germeval2017_dev": evaluate_germeval2017(args.out, args.germeval2017)}, indent=2))
        if args.benchmark:
            texts, _ = load_germeval2018(args.germeval2018)
            print(json.dumps({"benchmark": benchmark(args.out, texts)}, indent=2))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
