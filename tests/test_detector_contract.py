"""One conformance test for every per-bucket detector, then focused tests of each one's own promise."""

import pickle
import random
from datetime import datetime, timedelta, timezone

import pytest

from detectors.base import AnomalyDetector
from detectors.copypaste import CopyPasteCampaign, count_near_duplicates
from detectors.seasonal import SeasonalVolume
from detectors.shares_surprise import NewAuthorSurge, ShareSet, ShareSurprise
from detectors.spread import PlatformSpread
from monitor.demo.sampling import poisson

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday
WORDS = (
    "Amt Stadt Bus Bahn Straße heute morgen wann warum wie danke gut schlecht Bürger Rat Schule Kita Park "
    "Baustelle Müll Termin Antrag Formular Ampel Radweg Parkplatz Bürgermeister Sitzung Frage Antwort bitte"
).split()


def _calm_count(i, rng, scale=1.0):
    hour = (i // 12) % 24
    return poisson(rng, (6 if 8 <= hour < 21 else 0.4) * scale)


def _share_bucket(field, usual):
    def make(i, rng):
        n = _calm_count(i, rng, 2.0)
        return {"count": n, field: sum(rng.random() < usual for _ in range(n)) * 1.0}
    return make


def _volume_bucket(i, rng):
    return {"t": T0 + timedelta(minutes=5 * i), "value": _calm_count(i, rng)}


def _texts_bucket(i, rng):
    return {"texts": [" ".join(rng.choices(WORDS, k=rng.randint(5, 14))) for _ in range(_calm_count(i, rng, 2.0))]}


def _platform_bucket(i, rng):
    return {"platforms": {"facebook": _calm_count(i, rng), "instagram": _calm_count(i, rng, 0.5), "x": _calm_count(i, rng, 0.3)}}


SLOGAN = "Wir fordern den sofortigen Rücktritt des Bürgermeisters wegen des Skandals um die Baustelle"

# (name, factory, calm bucket at index i, a clear anomaly at noon on the day after the stream)
CASES = [
    ("seasonal_volume", lambda: SeasonalVolume(interval_seconds=300), _volume_bucket,
     lambda i: {"t": T0 + timedelta(minutes=5 * i), "value": 60}),
    ("negative_share", lambda: ShareSurprise("negative", prior=0.25), _share_bucket("negative", 0.25),
     lambda i: {"count": 40, "negative": 31.2}),
    ("toxic_share", lambda: ShareSurprise("toxic", prior=0.03), _share_bucket("toxic", 0.03),
     lambda i: {"count": 40, "toxic": 14.0}),
    ("question_share", lambda: ShareSurprise("questions", prior=0.15), _share_bucket("questions", 0.15),
     lambda i: {"count": 40, "questions": 28.0}),
    ("positive_share", lambda: ShareSurprise("positive", prior=0.2), _share_bucket("positive", 0.2),
     lambda i: {"count": 40, "positive": 30.0}),
    ("new_authors", NewAuthorSurge, _share_bucket("new_authors", 0.35),
     lambda i: {"count": 40, "new_authors": 36.0}),
    ("share_set", ShareSet, _share_bucket("negative", 0.25),
     lambda i: {"count": 40, "negative": 31.2}),
    ("copy_paste", CopyPasteCampaign, _texts_bucket,
     lambda i: {"texts": [SLOGAN + "!" * k for k in range(25)] + [" ".join(WORDS[k : k + 6]) for k in range(10)]}),
    ("platform_spread", PlatformSpread, _platform_bucket,
     lambda i: {"platforms": {"facebook": 60, "instagram": 40, "x": 1}}),
]
STREAM = 12 * 24 * 8  # eight days of 5-minute buckets


@pytest.mark.parametrize("name, make, calm, anomaly", CASES, ids=[c[0] for c in CASES])
def test_conformance(name, make, calm, anomaly):
    detector = make()
    twin = make()
    assert isinstance(detector, AnomalyDetector)
    assert detector.__doc__ and ">>>" in detector.__doc__, "every public detector has a runnable example"
    assert 0.0 <= detector.score_one(calm(0, random.Random(0))) <= 1.0, "an untrained detector scores too"
    rng = random.Random(7)
    sizes, late_calm = [], []
    for i in range(STREAM):
        x = calm(i, rng)
        before = pickle.dumps(detector)
        score = detector.score_one(x)
        assert pickle.dumps(detector) == before, "score_one must not change state"
        assert 0.0 <= score <= 1.0
        assert detector.score_one(x) == score
        if i >= STREAM - 12 * 24:
            late_calm.append(score)
        detector.learn_one(x)
        twin.learn_one(x)
        if i % 288 == 0:
            sizes.append(len(pickle.dumps(detector)))
    assert pickle.dumps(detector) == pickle.dumps(twin), "learning is deterministic"
    assert len(set(sizes[len(sizes) // 2 :])) == 1, f"state must stop growing: {sizes}"
    noon = STREAM + 12 * 12
    storm = detector.score_one(anomaly(noon))
    assert storm >= 0.5 and storm > max(late_calm), (storm, max(late_calm))
    # calm data stays calm: false alarms above 0.5 on at most 1 in 500 calm buckets after warm-up
    assert sum(s >= 0.5 for s in late_calm) <= len(late_calm) / 500


# -- ShareSurprise ---------------------------------------------------------------------------------------------


def _trained_share(field="negative", usual=0.25, buckets=400, n=20):
    detector = ShareSurprise(field, prior=usual)
    for _ in range(buckets):
        detector.learn_one({"count": n, field: usual * n})
    return detector


def test_small_counts_are_less_surprising_than_the_same_share_of_many():
    detector = _trained_share()
    assert detector.score_one({"count": 4, "negative": 3}) < 0.2
    assert detector.score_one({"count": 40, "negative": 30}) > 0.8
    assert detector.score_one({"count": 400, "negative": 300}) > detector.score_one({"count": 40, "negative": 30})
    assert detector.score_one({"count": 2, "negative": 2}) == 0.0, "below min_count no share is evidence"


def test_a_couple_of_hits_against_a_tiny_usual_share_is_not_a_storm():
    detector = _trained_share("toxic", usual=0.01)
    assert detector.score_one({"count": 10, "toxic": 2}) < 0.3
    assert detector.score_one({"count": 60, "toxic": 20}) > 0.95


def test_expected_counts_may_be_fractional():
    detector = _trained_share()
    low, high = detector.score_one({"count": 40, "negative": 30.0}), detector.score_one({"count": 40, "negative": 31.2})
    assert 0.0 < low < high < 1.0


def test_a_storm_does_not_become_the_usual_share():
    detector = _trained_share()
    before = detector.usual_share
    storm = {"count": 60, "negative": 48}
    first = detector.score_one(storm)
    for _ in range(36):  # three hours of a hostile storm
        detector.learn_one(storm)
    assert detector.usual_share < before + 0.03
    assert detector.score_one(storm) > 0.9 and first > 0.9


def test_a_lasting_shift_is_absorbed_eventually():
    detector = _trained_share()
    shifted = {"count": 20, "negative": 10}
    first = detector.score_one(shifted)
    for _ in range(2000):
        detector.learn_one(shifted)
    assert detector.score_one(shifted) < first and detector.usual_share > 0.4


def test_noisy_scopes_learn_their_overdispersion():
    rng = random.Random(4)
    detector = ShareSurprise("negative", prior=0.25)
    for _ in range(2000):  # the share itself wanders between buckets, as with real topics
        share = rng.uniform(0.1, 0.4)
        detector.learn_one({"count": 30, "negative": float(sum(rng.random() < share for _ in range(30)))})
    assert detector._rho > 0.02
    assert detector.score_one({"count": 30, "negative": 30 * 0.42}) < 0.2


def test_new_author_surge_is_share_surprise_on_new_authors():
    detector = NewAuthorSurge()
    assert detector.field == "new_authors" and isinstance(detector, ShareSurprise)
    for _ in range(300):
        detector.learn_one({"count": 12, "new_authors": 4})
    assert detector.score_one({"count": 12, "new_authors": 5}) < 0.05
    assert detector.score_one({"count": 80, "new_authors": 70}) > 0.95


# -- CopyPasteCampaign -----------------------------------------------------------------------------------------


def test_near_duplicates_with_small_edits_are_found_and_unrelated_texts_are_not():
    base = "Die Stadtverwaltung hat die Bürger wieder einmal nicht gefragt und entscheidet über unsere Köpfe hinweg"
    edits = [
        base,
        base.upper(),
        base + " !!!",
        base.replace("wieder einmal", "erneut"),
        base.replace("Stadtverwaltung", "Verwaltung"),
        "Schaut mal: " + base,
    ]
    rng = random.Random(3)
    unrelated = [" ".join(rng.choices(WORDS, k=10)) for _ in range(50)]
    assert count_near_duplicates(edits + unrelated) == len(edits)
    assert count_near_duplicates(unrelated) <= 1
    assert count_near_duplicates(["Schande!", "Schande!", "Danke"]) == 0, "very short texts repeat by chance"


def test_hashing_is_deterministic_across_processes():
    import subprocess
    import sys

    code = "from detectors.copypaste import minhash_signatures as m; print(m(['eins zwei drei vier fünf'])[0].tolist())"
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": seed, "PYTHONPATH": "."}).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


def test_copy_paste_state_is_a_few_numbers():
    detector = CopyPasteCampaign()
    rng = random.Random(5)
    for i in range(200):
        detector.learn_one(_texts_bucket(i + 100, rng))
    big = {"texts": [SLOGAN] * 1000}
    size = len(pickle.dumps(detector))
    detector.learn_one(big)
    assert len(pickle.dumps(detector)) == size < 1000, "no texts or signatures are kept"


# -- PlatformSpread --------------------------------------------------------------------------------------------


def _trained_spread():
    detector = PlatformSpread()
    rng = random.Random(8)
    for i in range(12 * 24 * 4):
        detector.learn_one(_platform_bucket(i, rng))
    return detector


def test_two_platforms_raised_score_high_and_one_platform_spike_does_not():
    detector = _trained_spread()
    one = detector.score_one({"platforms": {"facebook": 80, "instagram": 3, "x": 1}})
    two = detector.score_one({"platforms": {"facebook": 50, "instagram": 30, "x": 1}})
    assert one < 0.1 < 0.9 < two
    assert detector.score_one({"platforms": {"facebook": 8, "instagram": 4}}) < 0.05, "a busy hour is no spread"


def test_a_new_platform_is_not_raised_before_its_warm_up_and_platforms_are_bounded():
    detector = _trained_spread()
    assert detector.platform_z({"platforms": {"tiktok": 90}})["tiktok"] == 0.0
    for i in range(40):
        detector.learn_one({"platforms": {f"p{i}": 1}})
    assert len(detector._platforms) == detector.max_platforms


def test_share_set_learns_like_the_single_detectors_it_batches():
    rng = random.Random(12)
    shares, single = ShareSet(), ShareSurprise("negative", prior=0.25)
    for i in range(STREAM):
        x = _share_bucket("negative", 0.3)(i, rng)
        shares.learn_one(x)
        single.learn_one(x)
    shares.flush()
    assert abs(shares.usual("negative") - single.usual_share) < 0.01
    assert 0.27 < shares.usual("negative") < 0.33
    storm = {"count": 40, "negative": 30, "new_authors": 35}
    zs = shares.zs(storm)
    assert zs["negative"] > 3 and zs["new_authors"] > 4 and zs["toxic"] == 0.0
