"""`stormwatch run`: collectors and pipeline in a worker thread, the web UI and /metrics in the foreground."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable

from prometheus_client import CollectorRegistry

from monitor.adapted import apply_retention, rebuild_if_outdated
from monitor.collectors import RawRecord, read_records
from monitor.config import FileReplayCollector, Settings
from monitor.detect import THREAT_PROBABILITY
from monitor.pipeline import Pipeline, build_pipeline
from monitor.playbooks import load_playbooks
from monitor.storage import Store
from monitor.timeutil import Clock, system_clock

log = logging.getLogger("stormwatch.service")

POLL_SECONDS = 5.0
PURGE_EVERY_SECONDS = 3600.0
BATCH = 2000


class ReplayWorker:
    """Feeds file-replay collectors into the pipeline, resuming from the stored checkpoint (the last line done)."""

    def __init__(
        self,
        settings: Settings,
        pipeline: Pipeline,
        store: Store,
        *,
        clock: Clock = system_clock,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self.pipeline = pipeline
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.stop = threading.Event()
        # None: purge on the first pass (monotonic time may start near 0, e.g. shortly after boot)
        self._last_purge: float | None = None

    def run_once(self) -> int:
        """One pass over every collector from its checkpoint; returns the number of records processed."""
        done = 0
        for collector in self.settings.collectors:
            done += self._replay(collector)
        self._maybe_purge()
        return done

    def run_forever(self) -> None:
        while not self.stop.is_set():
            try:
                if self.run_once() == 0:
                    self.stop.wait(POLL_SECONDS)
            except Exception:  # the service must outlive one bad pass; the next pass resumes from the checkpoint
                log.exception("collector pass failed")
                self.stop.wait(POLL_SECONDS)

    def _replay(self, collector: FileReplayCollector) -> int:
        if not collector.path.exists():
            log.warning("collector %s: file not found: %s", collector.name, collector.path)
            return 0
        checkpoint = int(self.store.get_checkpoint(collector.name) or 0)
        default_scope = collector.scope or "default"
        batch: list[RawRecord] = []
        processed = 0
        paced_from: tuple[float, float] | None = None
        for record in read_records(collector.path, collector.format, start_line=checkpoint):
            if self.stop.is_set():
                break
            if collector.speed > 0:
                paced_from = self._pace(record, collector.speed, paced_from)
            batch.append(record)
            if len(batch) >= BATCH or collector.speed > 0:
                processed += self._commit(collector, batch, default_scope)
                batch = []
        if batch:
            processed += self._commit(collector, batch, default_scope)
        return processed

    def _commit(self, collector: FileReplayCollector, batch: list[RawRecord], default_scope: str) -> int:
        list(self.pipeline.process_batch(batch, default_scope=default_scope))
        last_line = max((r.line or 0) for r in batch)
        self.store.set_checkpoint(collector.name, str(last_line), now=self.clock())
        return len(batch)

    def _pace(self, record: RawRecord, speed: float, start: tuple[float, float] | None) -> tuple[float, float] | None:
        """Sleep so that the stream's time advances `speed` times faster than the wall clock."""
        payload = record.payload
        if not isinstance(payload, dict) or not isinstance(payload.get("created_at"), str):
            return start
        try:
            from monitor.timeutil import parse_utc

            event_time = parse_utc(payload["created_at"]).timestamp()
        except ValueError:
            return start
        now = time.monotonic()
        if start is None:
            return (event_time, now)
        due = start[1] + (event_time - start[0]) / speed
        if due > now:
            self.sleep(min(due - now, POLL_SECONDS))
        return start

    def _maybe_purge(self) -> None:
        now = time.monotonic()
        if self._last_purge is not None and now - self._last_purge < PURGE_EVERY_SECONDS:
            return
        self._last_purge = now
        now = self.clock()
        counts = self.store.purge_expired(now, self.settings.privacy)
        if any(counts.values()):
            log.info("retention: %s", counts)
        forgotten, warning = apply_retention(self.settings, now, store=self.store)
        if warning:
            log.warning("retention: %s", warning)
        elif forgotten.changed:
            log.info("retention: adapted model rebuilt without expired corrections "
                     "(%d replay items dropped, %d kept corrections relearned)", forgotten.items, forgotten.relearned)


def build_service(settings: Settings, *, registry: CollectorRegistry | None = None, clock: Clock = system_clock):
    """Everything `run` needs, wired and ready: (app, worker, store). Split out so tests can drive it."""
    from monitor.alerting.notify import Notifier
    from monitor.metrics import Metrics
    from monitor.web.app import create_app

    registry = registry or CollectorRegistry()
    metrics = Metrics(registry)
    playbooks = load_playbooks(settings.playbooks_dir)
    store = Store.open(settings.database.url)

    def record_notification(record) -> None:
        store.log_notification(record)
        metrics.observe_notification(record)

    notifier = Notifier(
        settings.notifications, playbooks, record=record_notification, zone=settings.zone, clock=clock
    )

    def on_event(event) -> None:
        metrics.observe_alert_event(event)
        notifier.deliver(event)

    def on_bucket(closed, assessment) -> None:
        metrics.set_bucket(closed.bucket)
        metrics.set_storm_level(assessment.scope, assessment.level)
        metrics.set_lag((clock() - closed.bucket.end).total_seconds())

    def on_mentions(mentions) -> None:
        counts: dict[tuple[str, str], int] = {}
        threats: dict[str, int] = {}
        for m in mentions:
            counts[(m.scope, m.platform)] = counts.get((m.scope, m.platform), 0) + 1
            if m.threat >= THREAT_PROBABILITY:
                threats[m.scope] = threats.get(m.scope, 0) + 1
        for (scope, platform), n in counts.items():
            metrics.observe_mentions(scope, platform, n)
        for scope, n in threats.items():
            metrics.observe_possible_threats(scope, n)

    relearned = rebuild_if_outdated(settings, store, clock())
    if relearned is not None:
        log.info("outdated adapted model relearned: %d of %d stored corrections", *relearned)
    pipeline = build_pipeline(
        settings,
        store,
        playbooks,
        on_event=on_event,
        on_bucket=on_bucket,
        on_mentions=on_mentions,
        on_rejected=lambda rejected: metrics.observe_rejected(rejected.source),
    )
    worker = ReplayWorker(settings, pipeline, store, clock=clock)
    app = create_app(settings=settings, playbooks=playbooks, store=store, metrics_registry=registry)
    return app, worker, store


def run_service(settings: Settings, *, host: str | None = None, port: int | None = None) -> int:
    import uvicorn

    logging.getLogger("stormwatch").setLevel(logging.INFO)
    app, worker, store = build_service(settings)
    thread = threading.Thread(target=worker.run_forever, name="stormwatch-pipeline", daemon=True)
    thread.start()
    log.info("started at %s", datetime.now(timezone.utc).isoformat())
    try:
        uvicorn.run(app, host=host or settings.web.host, port=port or settings.web.port, log_level="warning")
    finally:
        worker.stop.set()
        thread.join(timeout=10)
        store.close()
    return 0
