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
