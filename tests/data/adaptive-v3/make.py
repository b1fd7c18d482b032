"""Writes this fixture with the code of format v3 (commit d46d33b), for tests/test_feedback.py.

    rm -rf /tmp/old && mkdir /tmp/old && git archive d46d33b | tar -x -C /tmp/old
    rm -rf /tmp/old/detectors/models/default && cp -r detectors/models/default /tmp/old/detectors/models/default
    sed -i 's/info.get("format_version") != FORMAT_VERSION/info.get("format_version") not in (1, 2)/' \
        /tmp/old/detectors/classifier.py
    PYTHONPATH=/tmp/old python tests/data/adaptive-v3/make.py tests/data/adaptive-v3

Needs regenerating when the shipped base model changes (an adapted model fits only its base model): the test
then fails with "adapted for another base model". Since model 0.6.0 (model format 2) the old code's format check
has to be relaxed as above; it then ignores the abuse-lexicon columns, which none of the texts below touches, so
its predictions are those of the current features.
"""
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from detectors.classifier import TextClassifier
from detectors.feedback import FORMAT, AdaptiveClassifier

assert FORMAT == "stormwatch-adaptive-v3", f"run with the v3 code, not {FORMAT}"
out = Path(sys.argv[1])
CORRECTIONS = [
    ("RE 4 Fulda - Kassel heute +25 min, Grund: Signalstörung", "negative"),
    ("S 2 Bebra - Treysa heute +10 min, Grund: Weichenstörung", "negative"),
    ("Danke für die schnelle Reparatur der Ampel!", "positive"),
    ("Wann ist das Bürgeramt am Samstag geöffnet?", "neutral"),
    ("RB 33 Marburg - Fulda heute +40 min, Grund: Personen im Gleis", "negative"),
    ("Die Linie 7 fährt ab Montag nur noch alle 20 Minuten.", "negative"),
] * 2
PROBE = ["Die Linie 7 fährt ab Montag nur noch alle 20 Minuten.", "Danke für die schnelle Hilfe!",
         "IC 2013 Göttingen - Kassel heute +15 min, Grund: Reparatur am Zug", "Eine Schande, wie ihr mit uns umgeht!"]
model = AdaptiveClassifier(TextClassifier.load(), replay=2, reservoir_size=8)
for k, (text, label) in enumerate(CORRECTIONS):
    model.learn_one(text, polarity=label, at=datetime(2026, 3, 1 + k, 12, tzinfo=timezone.utc))
model.save(out)
model = AdaptiveClassifier.load(model.base, out)  # what the v3 code predicted from this file
(out / "expected.json").write_text(json.dumps({
    "probe": PROBE, "probabilities": model.probabilities(PROBE).tolist(),
    "scratch_weight": model.scratch_weight("polarity"),
}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
