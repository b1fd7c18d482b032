"""Kinds of toxicity: insult and abuse (GermEval 2018 fine labels) and threat (project data).

A social-media team answers an insult, a wave of group-directed abuse and a threat differently: a threat against
staff or officials goes to the police (StGB 241), an insult may be reported (StGB 185), abuse of a group is a
moderation and possibly a StGB 130 matter. The shipped toxicity head says *whether* a text is toxic; these heads
say *which kind*. Each is a one-vs-rest logistic regression on the shipped hashed features, with its own Platt
calibration, so each probability is P(text is of that kind), not conditional on being toxic, and the kinds may
overlap (an insult can carry a threat).

Training data per kind, and why:
- insult / abuse: all GermEval 2018 tweets (label: the fine label is that kind) plus the project
  corpus's non-toxic comments as negatives, so the heads learn that a complaint about a construction site is
  none of them. Corpus toxic comments have no fine label and are left out.
- threat: GermEval 2018 has no threat label, so we labelled it ourselves: `detectors/data/threats_de.tsv` (every
  toxic corpus comment labelled threat or not, plus new threats and look-alike non-threats written for it) and
  `detectors/data/germeval2018_threats.tsv` (every offensive GermEval 2018 tweet, by line number, no text), with
  the corpus's non-toxic comments and GermEval 2018's OTHER tweets as negatives. Without the offensive tweets as
  labelled negatives the head learned "toxic means threat" (a plain insult scored P(threat) 0.2-0.3).
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from detectors.classifier import TOXIC_KINDS, combine_chunks
from detectors.textfeatures import Featurizer, split_chunks

DEFAULT_THREATS = pathlib.Path(__file__).resolve().parent / "data" / "threats_de.tsv"
DEFAULT_GERMEVAL_THREATS = pathlib.Path(__file__).resolve().parent / "data" / "germeval2018_threats.tsv"
GERMEVAL_FINE = {"insult": "INSULT", "abuse": "ABUSE"}
FINE_LABELS = ("OTHER", "INSULT", "ABUSE", "PROFANITY")

# Fixed before any measurement: the shipped toxicity head's C and scaling (the same task on the same tweets), and
# its scoring of long texts (the largest logit over chunks of at most 280 characters: "does any part ...").
KIND_HYPERPARAMS: dict[str, Any] = {"C": 16.0, "scaling": "nb", "chunk_chars": 280}


def load_germeval2018_fine(path: str | pathlib.Path) -> tuple[list[str], np.ndarray]:
    """Tweets and their fine labels (OTHER, INSULT, ABUSE, PROFANITY)."""
    texts, labels = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[2] not in FINE_LABELS:
                raise ValueError(f"{path}:{number}: expected text<TAB>OFFENSE|OTHER<TAB>{'|'.join(FINE_LABELS)}")
            texts.append(parts[0].replace("|LBR|", " "))
            labels.append(parts[2])
    return texts, np.array(labels)


def load_germeval_threats(path: str | pathlib.Path, g_fine: np.ndarray) -> np.ndarray:
    """Threat label per GermEval 2018 tweet: 0 for OTHER, the file's label for each offensive tweet.

    `line<TAB>threat`, line = 1-based line of the GermEval 2018 training file; every offensive tweet must be
    labelled once, and only those, so labels made for another version of the file are refused."""
    labels = np.where(g_fine == "OTHER", 0, -1)
    with open(path, encoding="utf-8") as handle:
        if handle.readline().rstrip("\n").split("\t") != ["line", "threat"]:
            raise ValueError(f"{path}: header must be line, threat (tab-separated)")
        for number, row in enumerate(handle, 2):
            parts = row.rstrip("\n").split("\t")
            if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in ("0", "1"):
                raise ValueError(f"{path}:{number}: malformed row {row[:60]!r}")
            tweet = int(parts[0]) - 1
            if not 0 <= tweet < len(labels) or labels[tweet] != -1:
                raise ValueError(f"{path}:{number}: line {parts[0]} is no offensive tweet, or labelled twice "
                                 "(labels for another version of the GermEval 2018 file?)")
            labels[tweet] = int(parts[1])
    if np.any(labels == -1):
        raise ValueError(f"{path}: offensive tweet on line {int(np.flatnonzero(labels == -1)[0]) + 1} has no label")
    return labels


@dataclass(frozen=True)
class ThreatData:
    texts: list[str]
    labels: np.ndarray
    corpus_rows: np.ndarray  # index into the corpus per row, -1 for texts written for this file only


def load_threats(path: str | pathlib.Path, corpus_texts: Sequence[str]) -> ThreatData:
    """Threat labels: `text<TAB>threat<TAB>source`, source `corpus:N` (line N of the corpus file) or `new`.

    A `corpus:N` row must repeat that corpus line's text exactly, so an edited corpus cannot silently shift the
    labels onto other texts; every toxic corpus comment must be labelled (checked by the caller's data).
    """
    texts, labels, rows = [], [], []
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if header != ["text", "threat", "source"]:
            raise ValueError(f"{path}: header must be text, threat, source (tab-separated)")
        for number, line in enumerate(handle, 2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[1] not in ("0", "1") or not parts[0].strip():
                raise ValueError(f"{path}:{number}: malformed row {line[:60]!r}")
            text, label, source = parts
            if source == "new":
                row = -1
            elif source.startswith("corpus:") and source[7:].isdigit():
                row = int(source[7:]) - 2  # line 1 is the corpus header
                if not 0 <= row < len(corpus_texts) or corpus_texts[row] != text:
                    raise ValueError(f"{path}:{number}: {source} does not hold this text (corpus edited?)")
            else:
                raise ValueError(f"{path}:{number}: source must be corpus:N or new, not {source!r}")
            texts.append(text)
            labels.append(int(label))
            rows.append(row)
    return ThreatData(texts, np.array(labels, dtype=np.int64), np.array(rows, dtype=np.int64))


@dataclass(frozen=True)
class KindPool:
    """Every text any kind head learns from, once, with per-kind labels (-1: not used for that kind)."""

    texts: list[str]
    labels: np.ndarray  # (n, len(TOXIC_KINDS)) in {-1, 0, 1}
    source: np.ndarray  # "germeval2018", "corpus" or "threats" per text


def kind_pool(g_texts: Sequence[str], g_fine: np.ndarray, corpus: dict[str, Any], threats: ThreatData,
              g_threat: np.ndarray | None = None) -> KindPool:
    """g_threat: threat label per tweet (load_germeval_threats); None uses the OTHER tweets only."""
    n_g, n_c = len(g_texts), len(corpus["texts"])
    new = np.flatnonzero(threats.corpus_rows < 0)
    labels = np.full((n_g + n_c + len(new), len(TOXIC_KINDS)), -1, dtype=np.int64)
    non_toxic = corpus["toxic"] == 0
    for k, kind in enumerate(TOXIC_KINDS):
        if kind in GERMEVAL_FINE:
            labels[:n_g, k] = g_fine == GERMEVAL_FINE[kind]
            labels[n_g:n_g + n_c, k] = np.where(non_toxic, 0, -1)
    threat = TOXIC_KINDS.index("threat")
    labels[:n_g, threat] = np.where(g_fine == "OTHER", 0, -1) if g_threat is None else g_threat
    corpus_threat = np.where(non_toxic, 0, -1)
    labelled = threats.corpus_rows >= 0
    corpus_threat[threats.corpus_rows[labelled]] = threats.labels[labelled]
    if np.any(corpus_threat == -1):
        missing = int(np.flatnonzero(corpus_threat == -1)[0]) + 2
        raise ValueError(f"the threat file labels no corpus:{missing} (every toxic corpus comment needs a label)")
    labels[n_g:n_g + n_c, threat] = corpus_threat
    labels[n_g + n_c:, threat] = threats.labels[new]
    source = np.array(["germeval2018"] * n_g + ["corpus"] * n_c + ["threats"] * len(new))
    return KindPool(list(g_texts) + list(corpus["texts"]) + [threats.texts[i] for i in new], labels, source)


@dataclass(frozen=True)
class KindFeatures:
    x: sp.csr_matrix  # one row per text (training)
    chunks: sp.csr_matrix  # one row per scoring chunk
    owner: np.ndarray  # text index per chunk row


def featurize_pool(featurizer: Featurizer, texts: Sequence[str], chunk_chars: int) -> KindFeatures:
    chunks, owner = split_chunks(list(texts), chunk_chars)
    owner = np.arange(len(chunks)) if owner is None else owner
    return KindFeatures(featurizer.transform(list(texts)), featurizer.transform(chunks), owner)


def _fit_kind(feats: KindFeatures, labels: np.ndarray, docs: np.ndarray, hp: dict[str, Any]):
    from detectors.training import _fit

    return _fit(feats.x[docs], labels[docs], hp["C"], scaling=hp["scaling"])


def _score(feats: KindFeatures, head, docs: np.ndarray) -> np.ndarray:
    """Scores of the texts `docs` (ascending) as TextClassifier computes them: max over chunks."""
    r = np.flatnonzero(np.isin(feats.owner, docs))
    return combine_chunks(head.decision(feats.chunks[r]), feats.owner[r], ("max",))


def _strata(pool: KindPool, k: int) -> np.ndarray:
    # Stratify by source and label, so every fold holds its share of the few positives of each source.
    return np.char.add(pool.source, pool.labels[:, k].astype(str))


def cross_validate_kinds(feats: KindFeatures, pool: KindPool, n_folds: int, seed: int,
                         hp: dict[str, Any] = KIND_HYPERPARAMS) -> np.ndarray:
    """Out-of-fold scores (n, kinds); NaN where a text is not used for that kind."""
    oof = np.full(pool.labels.shape, np.nan)
    for k in range(len(TOXIC_KINDS)):
        docs = np.flatnonzero(pool.labels[:, k] >= 0)
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        for train, test in splitter.split(np.zeros(len(docs)), _strata(pool, k)[docs]):
            head = _fit_kind(feats, pool.labels[:, k], docs[train], hp)
            oof[docs[test], k] = _score(feats, head, docs[test])
    return oof


def calibrate_kinds(oof: np.ndarray, pool: KindPool) -> dict[str, dict[str, float]]:
    from detectors.training import fit_platt

    calibration = {}
    for k, kind in enumerate(TOXIC_KINDS):
        used = pool.labels[:, k] >= 0
        calibration[kind] = fit_platt(oof[used, k], pool.labels[used, k])
    return calibration


def fit_kinds(feats: KindFeatures, pool: KindPool, hp: dict[str, Any] = KIND_HYPERPARAMS):
    """Final heads on all their texts: weights (n_features, kinds) and biases."""
    coef, bias = [], []
    for k in range(len(TOXIC_KINDS)):
        head = _fit_kind(feats, pool.labels[:, k], np.flatnonzero(pool.labels[:, k] >= 0), hp)
        coef.append(head.coef[:, 0])
        bias.append(head.intercept[0])
    return np.column_stack(coef), np.array(bias)


def kind_metrics(oof: np.ndarray, pool: KindPool, calibration: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Per kind and source: AUC and F1 at probability 0.5 of the out-of-fold scores; sources with fewer than 5
    positives get no numbers (an AUC over 3 texts says nothing)."""
    from detectors.training import _platt_predict

    out: dict[str, Any] = {}
    for k, kind in enumerate(TOXIC_KINDS):
        per_source = {}
        for source in ("all", *sorted(set(pool.source))):
            used = (pool.labels[:, k] >= 0) & ((pool.source == source) if source != "all" else True)
            y = pool.labels[used, k]
            if y.sum() < 5 or (1 - y).sum() < 5:
                continue
            p = _platt_predict(oof[used, k], calibration[kind])
            per_source[source] = {"n": int(used.sum()), "positives": int(y.sum()),
                                  "auc": round(float(roc_auc_score(y, oof[used, k])), 4),
                                  "f1_at_0.5": round(float(f1_score(y, p > 0.5)), 4),
                                  "precision_at_0.5": round(float(precision_score(y, p > 0.5, zero_division=0)), 4),
                                  "recall_at_0.5": round(float(recall_score(y, p > 0.5)), 4)}
        out[kind] = per_source
    return out


def fine_grained_prediction(toxic_probability: np.ndarray, toxic_threshold: float,
                            kind_probabilities: np.ndarray) -> np.ndarray:
    """GermEval 2018 fine labels from the shipped heads: OTHER unless toxic, else the more probable of insult and
    abuse (columns 0-1 of kind_probabilities). The rule was fixed before it was measured. PROFANITY is never
    predicted: there is no profanity head (71 examples, and swearing that is aimed at nobody is not what an
    authority's team needs flagged)."""
    kind = np.asarray(kind_probabilities)[:, :2].argmax(axis=1)
    return np.where(toxic_probability > toxic_threshold, np.array(["INSULT", "ABUSE"])[kind], "OTHER")
