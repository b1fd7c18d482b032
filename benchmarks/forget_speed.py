"""Cost of the retention purge on the adapted model: `AdaptiveClassifier.forget_before` with a full reservoir.

Usage: python benchmarks/forget_speed.py [--corrections 2000] [--runs 5] [--core 0]

A model learns --corrections corrections of the project's own corpus (one day each, polarity label), is saved,
and each run loads it, forgets the oldest 10 % (which rebuilds both learners from the other 90 %) and saves it:
what a purge did from the model's replay buffer alone (and still does when the store cannot be read). Then the
same corrections are stored in a SQLite file and each run reads them back and relearns the kept ones
(`monitor.adapted.relearn_stored`), as `stormwatch purge`, the service's hourly retention (once a day at most)
and `stormwatch correct --rebuild` do. Reports the median seconds of the steps and the corrections relearned per
second. Also times one `learn_one` for scale.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detectors.classifier import TextClassifier  # noqa: E402
from detectors.feedback import AdaptiveClassifier  # noqa: E402
from detectors.training import DEFAULT_CORPUS, load_corpus  # noqa: E402
from monitor.adapted import relearn_stored  # noqa: E402
from monitor.storage import Store  # noqa: E402
from monitor.storage.corrections import add_correction, list_corrections  # noqa: E402

LABELS = ("negative", "neutral", "positive")
START = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corrections", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--core", type=int, default=0)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    corpus = load_corpus(DEFAULT_CORPUS)
    n = args.corrections
    base = TextClassifier.load()
    model = AdaptiveClassifier(base)
    learn = []
    for i in range(n):
        j = i % len(corpus["texts"])
        t0 = time.perf_counter()
        model.learn_one(corpus["texts"][j], polarity=LABELS[int(corpus["polarity"][j])], at=START + timedelta(days=i))
        learn.append(time.perf_counter() - t0)
    cutoff = START + timedelta(days=n // 10 - 1)  # the oldest 10 % expire
    timings = {"load": [], "forget": [], "save": [], "read_store": [], "relearn_stored": []}
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "source", Path(tmp) / "target"
        model.save(source)
        with Store.open(f"sqlite:///{tmp}/corrections.db") as store:
            with store.engine.begin() as conn:
                for i in range(n):
                    j = i % len(corpus["texts"])
                    add_correction(conn, platform="bench", external_id=str(i), text=corpus["texts"][j],
                                   polarity=LABELS[int(corpus["polarity"][j])], at=START + timedelta(days=i))
            for _ in range(args.runs):
                t0 = time.perf_counter()
                rows = list_corrections(store.engine)
                t1 = time.perf_counter()
                _, relearned = relearn_stored(base, rows, cutoff)
                t2 = time.perf_counter()
                timings["read_store"].append(t1 - t0)
                timings["relearn_stored"].append(t2 - t1)
        for _ in range(args.runs):
            t0 = time.perf_counter()
            again = AdaptiveClassifier.load(base, source)
            t1 = time.perf_counter()
            forgotten = again.forget_before(cutoff)
            t2 = time.perf_counter()
            again.save(target)
            t3 = time.perf_counter()
            for key, value in zip(("load", "forget", "save"), (t1 - t0, t2 - t1, t3 - t2)):
                timings[key].append(value)
    median = {k: statistics.median(v) for k, v in timings.items()}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, pinned to core {args.core}; "
          f"Python {platform.python_version()}")
    print(f"{n} corrections learned, learn_one median {statistics.median(learn) * 1000:.2f} ms")
    print(f"forget_before: {forgotten.items} replay items dropped, {forgotten.relearned} corrections relearned")
    print(f"median of {args.runs} runs: load {median['load']:.2f} s, forget+rebuild {median['forget']:.2f} s "
          f"({forgotten.relearned / median['forget']:.0f} corrections/s), save {median['save']:.2f} s")
    print(f"from the store: read {n} stored corrections {median['read_store']:.2f} s, relearn {relearned} kept "
          f"{median['relearn_stored']:.2f} s ({relearned / median['relearn_stored']:.0f} corrections/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
