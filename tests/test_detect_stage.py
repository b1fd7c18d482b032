"""The detection stage: every stormy assessment carries its explanation, also for a quiet bucket inside a storm."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from monitor.aggregate import ClosedBucket
from monitor.config import load_settings
from monitor.demo.sampling import poisson
from monitor.detect import StormDetection
from monitor.domain import Bucket, Mention

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)
STEP = timedelta(minutes=5)


def _closed(start: datetime, texts: list[str], negative: float) -> ClosedBucket:
    mentions = [Mention(platform="facebook", external_id=f"{start:%d%H%M}-{i}", created_at=start, text=text,
                        scope="stadt", negative=negative, neutral=1 - negative) for i, text in enumerate(texts)]
    bucket = Bucket("stadt", start, start + STEP, count=len(mentions), negative=negative * len(mentions),
                    unique_authors=len(mentions), platforms={"facebook": len(mentions)} if mentions else {})
    return ClosedBucket(bucket, mentions)


def test_a_quiet_bucket_inside_a_storm_keeps_the_explanation_and_voices() -> None:
    detection = StormDetection(load_settings(ROOT / "config" / "demo.yaml"))
    rng = random.Random(3)
    t = T0
    for _ in range(3 * 288):  # three calm days: ~2 mentions per bucket, a quarter of them critical
        n = poisson(rng, 2.0)
        detection.assess(_closed(t, ["Wann ist das Bürgeramt offen?"] * n, 0.25))
        t += STEP
    angry = [f"Das Fällen der Platanen ist ein Skandal, Nummer {i}!" for i in range(40)]
    stormy = [detection.assess(_closed(t + k * STEP, angry, 0.9)) for k in range(2)]
    quiet = detection.assess(_closed(t + 2 * STEP, [], 0.0))

    assert all(a.level >= 2 and a.kind == "shitstorm" and a.explanation is not None for a in stormy)
    assert quiet.level >= 2, "the window still holds the storm, so the quiet bucket keeps a storm level"
    assert quiet.explanation is not None and quiet.explanation.fired
    assert quiet.samples and "Platanen" in quiet.samples[0].text
    assert "platanen" in quiet.top_terms
    # quotes live once, in the assessment's samples, where retention erases them; the explanation keeps none
    explained = json.dumps(stormy[0].explanation.to_json(), ensure_ascii=False)
    assert stormy[0].samples and not any(sample.text in explained for sample in stormy[0].samples)


def test_a_stormy_window_counts_the_posts_that_likely_threaten_once_per_text() -> None:
    detection = StormDetection(load_settings(ROOT / "config" / "demo.yaml"))
    rng = random.Random(5)
    t = T0
    for _ in range(3 * 288):
        n = poisson(rng, 2.0)
        detection.assess(_closed(t, ["Wann ist das Bürgeramt offen?"] * n, 0.25))
        t += STEP
    closed = _closed(t, [f"Das Fällen der Platanen ist ein Skandal, Nummer {i}!" for i in range(40)], 0.9)
    for i, mention in enumerate(closed.mentions):
        mention.text_hash = i + 1
        mention.threat = 0.9 if i < 3 else 0.2  # three posts the classifier reads as threats, the rest not
    closed.mentions[3].threat, closed.mentions[3].text_hash = 0.8, closed.mentions[0].text_hash  # a copy of one
    stormy = detection.assess(closed)
    assert stormy.level >= 2
    assert stormy.signals["threats"] == 3.0
    calm = StormDetection(load_settings(ROOT / "config" / "demo.yaml"))
    quiet = calm.assess(_closed(T0, ["Wann ist das Bürgeramt offen?"], 0.1))
    assert "threats" not in quiet.signals


def test_a_likely_threat_is_the_first_voice_of_a_storm() -> None:
    from monitor.detect import pick_samples

    at = T0
    mentions = [Mention(platform="facebook", external_id=str(i), created_at=at, text=text, scope="stadt",
                        negative=0.9, neutral=0.1, toxic=0.6, text_hash=i + 1)
                for i, text in enumerate(["Ihr seid unfähig!", "Wir stehen bald vor eurer Tür.", "Eine Schande!"])]
    mentions[1].toxic, mentions[1].threat = 0.4, 0.95  # a threat without insulting words
    samples = pick_samples(mentions, "shitstorm")
    assert samples[0].text == "Wir stehen bald vor eurer Tür."
    assert [s.possible_threat for s in samples] == [True, False, False]
    # a borderline threat in a flood of strong insults is still quoted: the alert counts it
    insults = [Mention(platform="facebook", external_id=f"i{i}", created_at=at, text=f"Ihr Versager Nr. {i}!",
                       scope="stadt", negative=0.99, neutral=0.01, toxic=0.99, threat=0.3, text_hash=100 + i)
               for i in range(5)]
    mentions[1].negative, mentions[1].toxic, mentions[1].threat = 0.6, 0.5, 0.55
    assert pick_samples(insults + mentions, "shitstorm")[0].text == "Wir stehen bald vor eurer Tür."
