"""Replays a recorded mention stream through the whole chain, driven by the mentions' own timestamps: backtest and demo."""

from __future__ import annotations

import gc
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

from monitor.collectors import RawRecord, read_records
from monitor.normalise import InputError, parse_created_at
from monitor.config import Settings
from monitor.aggregate import ClosedBucket
from monitor.domain import AlertEvent, RejectedInput, StormAssessment
from monitor.pipeline import PipelineStats, build_pipeline
from monitor.playbooks import load_playbooks
from monitor.storage import Store


@dataclass
class ReplayResult:
    stats: PipelineStats
    events: int
    seconds: float

    @property
    def mentions_per_second(self) -> float:
        return self.stats.records / self.seconds if self.seconds > 0 else 0.0


def _progress(records: Iterable[RawRecord], enabled: bool, total: int | None, desc: str) -> Iterator[RawRecord]:
    if not enabled:
        yield from records
        return
    from tqdm import tqdm

    with tqdm(total=total, unit=" Beiträge", desc=desc, file=sys.stderr, mininterval=0.2, smoothing=0.1) as bar:
        pending = 0
        for record in records:
            pending += 1
            if pending == 1000:
                bar.update(pending)
                pending = 0
            yield record
        bar.update(pending)


def replay(
    settings: Settings,
    input_path: Path,
    *,
    database_url: str,
    on_event: Callable[[AlertEvent], None],
    progress: bool = False,
    progress_label: str = "Replay",
    input_format: str | None = None,
    on_rejected: Callable[[RejectedInput], None] | None = None,
    on_bucket: Callable[[ClosedBucket, StormAssessment], None] | None = None,
) -> ReplayResult:
    """Run the chain on one file; notification is the caller's `on_event` (a backtest only writes events)."""
    started = time.perf_counter()
    playbooks = load_playbooks(settings.playbooks_dir)
    store = Store.open(database_url)
    # A replay allocates millions of short-lived objects while holding large long-lived state (author
    # memories, baselines); the default collector thresholds then spend ~20 % of the run rescanning that
    # state. Freeze what exists and collect young objects less often; restored afterwards.
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        pipeline = build_pipeline(settings, store, playbooks, on_event=on_event, on_rejected=on_rejected,
                                  on_bucket=on_bucket)
        ordered = in_event_time_order(list(read_records(input_path, input_format)), pipeline.bucketer.lateness)
        records = _progress(iter(ordered), progress, len(ordered), progress_label)
        events = sum(1 for _ in pipeline.feed(records))
        events += sum(1 for _ in pipeline.flush())
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        store.close()
    return ReplayResult(pipeline.stats, events, time.perf_counter() - started)


def _event_time(record: RawRecord) -> float:
    payload = record.payload
    if isinstance(payload, dict):
        try:
            return parse_created_at(payload.get("created_at")).timestamp()
        except InputError:
            pass
    return float("-inf")  # rejected later anyway; first keeps it out of the way of the watermark


def in_event_time_order(records: list[RawRecord], tolerance_seconds: float) -> list[RawRecord]:
    """The records as they are if they arrive in time order (within the pipeline's lateness), else sorted.

    Recorded streams are often concatenations (one export per platform): replayed as they are, everything
    after the first part would arrive "late" and miss its buckets. Sorting is stable, so equal times keep
    their file order, and rejected lines keep their line numbers.
    """
    times = [_event_time(r) for r in records]
    newest = float("-inf")
    for t in times:
        if t < newest - tolerance_seconds:
            order = sorted(range(len(records)), key=times.__getitem__)
            return [records[i] for i in order]
        newest = max(newest, t)
    return records


class RejectedReport:
    """Says on stderr which lines were rejected and why (the first `show`), and keeps them all in a JSONL file.

    A backtest's database is usually in memory, so its rejected_inputs table would vanish with it; the file
    (created only when something is rejected) keeps the broken input for inspection.
    """

    def __init__(self, path: Path | None, stream: IO[str] = sys.stderr, show: int = 20):
        self.path = path
        self.stream = stream
        self.show = show
        self.count = 0
        self._file: IO[str] | None = None

    def __call__(self, rejected: RejectedInput) -> None:
        self.count += 1
        if self.count <= self.show:
            self.stream.write(f"stormwatch: rejected {rejected.source}:{rejected.line}: {rejected.problem}\n")
        if self.path is not None:
            if self._file is None:
                self._file = self.path.open("w", encoding="utf-8")
            record = {"source": rejected.source, "line": rejected.line, "problem": rejected.problem, "raw": rejected.raw}
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        if self.count > self.show:
            self.stream.write(f"stormwatch: … {self.count - self.show} more rejected lines\n")
        if self.count and self.path is not None:
            self.stream.write(f"stormwatch: {self.count} rejected lines kept in {self.path}\n")


def run_backtest(
    settings: Settings,
    input_path: Path,
    out_path: Path,
    *,
    database_url: str = "sqlite://",
    progress: bool = False,
    rejected_path: Path | None = None,
    report: IO[str] = sys.stderr,
    input_format: str | None = None,
) -> ReplayResult:
    """Write one JSON object per alert event to out_path; deliver nothing; keep rejected input beside it."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    rejected = RejectedReport(rejected_path or out_path.with_name(out_path.name + ".rejected.jsonl"), report)
    with out_path.open("w", encoding="utf-8") as out:

        def write(event: AlertEvent) -> None:
            out.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")

        try:
            return replay(
                settings, input_path, database_url=database_url, on_event=write, progress=progress,
                progress_label="Backtest", on_rejected=rejected, input_format=input_format,
            )
        finally:
            rejected.close()


def print_event(event: AlertEvent, settings: Settings, playbooks: dict, stream: IO[str]) -> None:
    from monitor.alerting.message import render_message

    title, body = render_message(event, playbooks.get(event.playbook), language=settings.language, zone=settings.zone)
    rule = "=" * 78
    stream.write(f"\n{rule}\n{title}\n{rule}\n{body}\n")
    stream.flush()
