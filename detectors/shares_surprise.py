"""Surprise of a bucket's share of some label (negative, toxic, questions, ...) against the scope's usual share."""

from __future__ import annotations

import math
from operator import add as _add
from typing import Any

from detectors.seasonal import z_to_score

# Shares are clipped away from 0 and 1 so that the divergence below stays finite for a scope that has
# (so far) never seen the label at all.
_EPS = 1e-4
# Counters are capped so the pickled state stops growing on a long stream (ints pickle by magnitude).
_CAP = 10_000


def upward_share_z(hits: float, count: float, usual: float, dispersion: float) -> float:
    """Signed likelihood root of `hits` out of `count` against the share `usual`, upward only.

    sqrt(2 n KL(s || p)) is the normal-equivalent of the binomial tail and, unlike (k - np)/sqrt(np(1-p)),
    does not overstate a couple of hits against a tiny usual share. `dispersion` (>= 1) widens it for
    bucket-to-bucket variation beyond binomial noise (quasi-likelihood).

    >>> round(upward_share_z(3, 4, 0.25, 1.0), 2), round(upward_share_z(30, 40, 0.25, 1.0), 2)
    (2.1, 6.63)
    >>> upward_share_z(1, 4, 0.25, 1.0)
    0.0
    """
    if count <= 0:
        return 0.0
    s = hits / count
    p = min(max(usual, _EPS), 1.0 - _EPS)
    if s <= p:
        return 0.0
    s = min(s, 1.0)
    kl = s * math.log(s / p) if s > 0 else 0.0
    if s < 1.0:
        kl += (1.0 - s) * math.log((1.0 - s) / (1.0 - p))
    return math.sqrt(max(2.0 * count * kl, 0.0) / dispersion)


class ShareSurprise:
    """Online detector of a raised share of one label in a bucket, respecting small counts.

    x is a bucket dict of (expected) counts, e.g. ``{"count": 40, "negative": 31.2}``; floats are fine,
    since the classifier's probabilities are summed. The usual share is a count-weighted average that
    forgets with a half-life in mentions and is shrunk toward `prior` (a beta prior worth `prior_strength`
    mentions) while the scope is new. The score is the signed likelihood root of the bucket's share
    against the usual one, widened by the uncertainty of the usual share and by a learned
    overdispersion (real buckets vary more than coin flips), mapped to 0..1 like the volume z-score.

    Only calm buckets (score below `learn_below`) are learned in full; an anomalous bucket teaches a
    tenth as much and only up to the learning threshold, so a storm does not become the norm while a
    lasting shift is still absorbed over days.

    Parameters
    ----------
    field: the key of the label's (expected) count in x.
    total: the key of the bucket's number of mentions.
    prior: the usual share assumed for a new scope.
    prior_strength: how many mentions the prior weighs.
    halflife: after how many mentions the usual share has forgotten half of what it knew.
    min_count: buckets with fewer mentions score 0 (a share of 2 mentions is no evidence).
    overdispersion: the lowest bucket-to-bucket extra variation (beta-binomial correlation) assumed.
    learn_below: scores at or above this count as anomalous for learning.

    >>> detector = ShareSurprise("negative", prior=0.25)
    >>> for _ in range(300):
    ...     detector.learn_one({"count": 20, "negative": 5})
    >>> few = detector.score_one({"count": 4, "negative": 3})
    >>> many = detector.score_one({"count": 40, "negative": 30})
    >>> few < 0.2 < 0.5 < many
    True
    >>> detector.score_one({"count": 40, "negative": 9})  # below the usual share: never anomalous
    0.0
    """

    def __init__(
        self,
        field: str,
        total: str = "count",
        prior: float = 0.25,
        prior_strength: float = 100.0,
        halflife: float = 2000.0,
        min_count: float = 3.0,
        overdispersion: float = 0.005,
        learn_below: float = 0.5,
    ):
        self.field = field
        self.total = total
        self.prior = prior
        self.prior_strength = prior_strength
        self.halflife = halflife
        self.min_count = min_count
        self.overdispersion = overdispersion
        self.learn_below = learn_below
        self._ready = False

    def _build(self) -> None:
        self._weight = 0.0  # mentions behind the usual share, after forgetting
        self._share = 0.0
        self._rho = self.overdispersion  # learned extra variation between buckets
        self._buckets = 0
        # the z-score at which score_one reaches learn_below (inverse of z_to_score)
        lb = min(max(self.learn_below, 1e-6), 1 - 1e-6)
        self._learn_z = 4.0 + math.log(lb / (1.0 - lb))
        self._ready = True

    @property
    def usual_share(self) -> float:
        """The scope's usual share, shrunk toward the prior while there is little history."""
        if not self._ready:
            return self.prior
        return (self._weight * self._share + self.prior_strength * self.prior) / (self._weight + self.prior_strength)

    def _dispersion(self, n: float, size: float | None = None) -> float:
        # beta-binomial predictive: extra variation between buckets plus the uncertainty of the usual share;
        # `size` is the mean bucket size when n sums several buckets
        weight = self._weight if self._ready else 0.0
        rho = self._rho if self._ready else self.overdispersion
        size = n if size is None else size
        return 1.0 + max(size - 1.0, 0.0) * rho + n / (weight + self.prior_strength + 1.0)

    def z(self, x: dict[str, Any], buckets: float = 1.0) -> float:
        """The upward normal-equivalent deviation of x's share from the usual share (0 below min_count).

        `buckets` > 1 says x sums that many buckets (a window): the bucket-to-bucket variation then scales
        with the mean bucket size, not with the window's total.
        """
        return self.z_of(float(x.get(self.field, 0) or 0), float(x.get(self.total, 0) or 0), buckets)

    def z_of(self, hits: float, n: float, buckets: float = 1.0) -> float:
        """z for `hits` out of `n` mentions summed over `buckets` buckets, without building a dict."""
        if n < self.min_count or n <= 0:
            return 0.0
        hits = min(max(hits, 0.0), n)
        return upward_share_z(hits, n, self.usual_share, self._dispersion(n, n / max(buckets, 1.0)))

    def score_one(self, x: dict[str, Any]) -> float:
        return z_to_score(self.z(x))

    def learn_one(self, x: dict[str, Any]) -> None:
        n = float(x.get(self.total, 0) or 0)
        if n <= 0:
            if not self._ready:
                self._build()
            return
        self.learn_batch(float(x.get(self.field, 0) or 0), n, 1)

    def learn_batch(self, hits: float, n: float, buckets: int = 1) -> None:
        """Learn `hits` out of `n` mentions that arrived in `buckets` calm buckets, in one step.

        With buckets=1 this is learn_one. A caller that batches quiet buckets (ShareSet) saves the
        per-bucket work; the usual share comes out the same up to the forgetting within the batch, and
        the overdispersion is estimated against the mean bucket size, as if the share were constant
        within the batch (topics last longer than a few buckets, so that is the conservative side).
        """
        if not self._ready:
            self._build()
        if n <= 0:
            return
        # Written out for speed (a flush runs this for six labels): usual_share, _dispersion(n, size) and
        # the learning of the overdispersion are inlined, and `b if b < a else a` stands for min(a, b) and
        # `b if b > a else a` for max(a, b) (the builtins return the same, ties and all, but cost a call).
        hits = 0.0 if hits < 0.0 else hits
        hits = n if n < hits else hits
        size = n / (1 if buckets < 1 else buckets)
        kept_weight, strength, rho = self._weight, self.prior_strength, self._rho
        p = (kept_weight * self._share + strength * self.prior) / (kept_weight + strength)
        uncertainty = n / (kept_weight + strength + 1.0)  # what the uncertainty of p explains of the variation
        extra = size - 1.0
        dispersion = 1.0 + (0.0 if extra < 0.0 else extra) * rho + uncertainty
        clipped = _EPS if p < _EPS else p  # p as upward_share_z clips it
        clipped = 1.0 - _EPS if 1.0 - _EPS < clipped else clipped
        weight = 1.0
        # upward_share_z is 0 at or below the usual share: skip the call there (about half of all calm batches)
        if n >= self.min_count and (
                upward_share_z(hits, n, p, dispersion) if hits / n > clipped else 0.0) >= self._learn_z:
            # an anomaly teaches a tenth as much and only up to the share that would just reach learn_below
            ceiling = p + self._learn_z * math.sqrt(p * (1.0 - p) * dispersion / n)
            hits, weight = n * min(hits / n, ceiling), 0.1
        elif size >= 2:
            # method of moments for the beta-binomial correlation rho: E[(k - np)^2] = np(1-p)(1 + (m-1)rho)
            # with m the bucket size, less what the uncertainty of p already explains; bigger buckets say more
            ratio = (hits - n * clipped) ** 2 / (n * clipped * (1.0 - clipped))
            excess = (ratio - 1.0 - uncertainty) / extra
            step = extra / 10.0
            rate = 0.01 * (step if step < 1.0 else 1.0)
            excess = 0.0 if excess < 0.0 else excess
            rho += rate * ((0.2 if 0.2 < excess else excess) - rho)
            self._rho = self.overdispersion if self.overdispersion > rho else rho
        decay = 0.5 ** (weight * n / self.halflife)
        kept = kept_weight * decay
        self._share = (kept * self._share + weight * hits) / (kept + weight * n)
        self._weight = kept + weight * n
        total = self._buckets + buckets
        self._buckets = _CAP if _CAP < total else total


class NewAuthorSurge(ShareSurprise):
    """A surge of authors never seen in this scope before: ShareSurprise on ``new_authors``.

    Firestorm participants are mostly not the scope's usual commenters: they arrive from a shared link,
    a hashtag or another page. The share of new authors among a bucket's mentions therefore rises
    before the negative share does on a page with a loyal audience. Who counts as new is decided upstream
    (the aggregation keeps the scope's author memory); this detector only judges the share. The prior is
    higher than for labels because public pages always have a stream of first-time commenters.

    >>> detector = NewAuthorSurge()
    >>> for _ in range(300):
    ...     detector.learn_one({"count": 10, "new_authors": 3})
    >>> detector.score_one({"count": 10, "new_authors": 4}) < 0.05
    True
    >>> detector.score_one({"count": 60, "new_authors": 50}) > 0.9
    True
    """

    def __init__(
        self,
        total: str = "count",
        prior: float = 0.35,
        prior_strength: float = 100.0,
        halflife: float = 2000.0,
        min_count: float = 5.0,
        overdispersion: float = 0.005,
        learn_below: float = 0.5,
    ):
        super().__init__(
            "new_authors",
            total=total,
            prior=prior,
            prior_strength=prior_strength,
            halflife=halflife,
            min_count=min_count,
            overdispersion=overdispersion,
            learn_below=learn_below,
        )


# The labels a scope's buckets carry, with the usual share assumed for a new scope and the fewest mentions
# a share is judged on. New authors and near-duplicates are always present on public pages, hence their priors.
SHARE_FIELDS: tuple[tuple[str, float, float], ...] = (
    ("negative", 0.25, 3.0),
    ("toxic", 0.03, 3.0),
    ("questions", 0.15, 3.0),
    ("positive", 0.2, 3.0),
    ("new_authors", 0.35, 5.0),
    ("duplicates", 0.05, 5.0),
)


class ShareSet:
    """All share detectors of one scope in one object: one pass over the bucket, one batched learning step.

    x is a bucket dict with ``count`` and the (expected) count of every field, e.g. ``{"count": 40,
    "negative": 31.2, "toxic": 3.1, "questions": 4, "positive": 2, "new_authors": 30, "duplicates": 12}``;
    a missing field counts as 0. Each field is judged by its own ShareSurprise (NewAuthorSurge for
    ``new_authors``); `zs` returns every field's z-score, `score_one` the most surprising one mapped to 0..1.

    Learning is batched: buckets are summed until `batch_mentions` mentions or `batch_buckets` buckets
    have gathered and are then learned in one step (ShareSurprise.learn_batch). Most buckets are small,
    so this is what makes six share baselines per scope cheap; the usual shares lag by at most one batch,
    which against a half-life of 2,000 mentions is nothing. State: six ShareSurprise (five numbers each)
    plus the pending sums, fixed in size.

    >>> shares = ShareSet()
    >>> calm = {"count": 20, "negative": 5, "toxic": 0.4, "questions": 3, "positive": 4, "new_authors": 7,
    ...         "duplicates": 1}
    >>> for _ in range(300):
    ...     shares.learn_one(calm)
    >>> round(shares.detectors["negative"].usual_share, 2)
    0.25
    >>> shares.score_one(calm) < 0.05
    True
    >>> storm = {**calm, "count": 60, "negative": 45, "new_authors": 50}
    >>> zs = shares.zs(storm)
    >>> zs["negative"] > 4 and zs["new_authors"] > 4 and zs["questions"] == 0.0
    True
    """

    def __init__(
        self,
        fields: tuple[tuple[str, float, float], ...] = SHARE_FIELDS,
        total: str = "count",
        halflife: float = 2000.0,
        batch_mentions: float = 200.0,
        batch_buckets: int = 12,
    ):
        self.fields = tuple(name for name, _, _ in fields)
        self.total = total
        self.batch_mentions = batch_mentions
        self.batch_buckets = batch_buckets
        self.detectors: dict[str, ShareSurprise] = {}
        for name, prior, min_count in fields:
            if name == "new_authors":
                self.detectors[name] = NewAuthorSurge(total=total, prior=prior, halflife=halflife, min_count=min_count)
            else:
                self.detectors[name] = ShareSurprise(name, total=total, prior=prior, halflife=halflife,
                                                     min_count=min_count)
        self._pending = [0.0] * len(self.fields)
        self._pending_n = 0.0
        self._pending_buckets = 0

    def usual(self, name: str) -> float:
        return self.detectors[name].usual_share

    def zs(self, x: dict[str, Any], buckets: float = 1.0) -> dict[str, float]:
        """Every field's upward z-score for bucket (or window of `buckets` buckets) x."""
        n = float(x.get(self.total, 0) or 0)
        return {name: d.z_of(float(x.get(name, 0) or 0), n, buckets) for name, d in self.detectors.items()}

    def score_one(self, x: dict[str, Any]) -> float:
        return z_to_score(max(self.zs(x).values(), default=0.0))

    def learn_one(self, x: dict[str, Any]) -> None:
        n = float(x.get(self.total, 0) or 0)
        if n <= 0:
            return  # an empty bucket carries no share
        self.add(n, [float(x.get(name, 0) or 0) for name in self.fields])

    def add(self, n: float, hits: Any) -> None:
        """learn_one for a caller that has the bucket's count and its field counts (in `fields` order) at hand."""
        if n <= 0:
            return
        self._pending = list(map(_add, self._pending, hits))  # map(add) is cheaper than a comprehension over zip
        pending_n = self._pending_n = self._pending_n + n
        buckets = self._pending_buckets = self._pending_buckets + 1
        if pending_n >= self.batch_mentions or buckets >= self.batch_buckets:
            self.flush()

    def flush(self) -> None:
        """Learn what is pending now (also called by the batching itself)."""
        if self._pending_n > 0:
            for i, name in enumerate(self.fields):
                self.detectors[name].learn_batch(self._pending[i], self._pending_n, self._pending_buckets)
        self._pending = [0.0] * len(self.fields)
        self._pending_n = 0.0
        self._pending_buckets = 0
