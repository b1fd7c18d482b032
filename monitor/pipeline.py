"""Wires the stages in one direction: normalise -> enrich -> store -> aggregate -> detect -> decide -> notify."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Protocol

from monitor.adapted import adapted_model_dir, load_base
from monitor.aggregate import Bucketer, ClosedBucket
from monitor.alerting.decide import AlertDecider
from monitor.collectors.base import RawRecord
from monitor.config import Settings
from monitor.detect import StormDetection
from monitor.domain import AlertEvent, Mention, RejectedInput, StormAssessment
from monitor.enrich import Enricher
from monitor.normalise import InputError, Pseudonymiser, normalise

log = logging.getLogger("stormwatch.pipeline")

DEFAULT_SCOPE = "default"


class MentionStore(Protocol):
    def insert_mentions(self, mentions: list[Mention]) -> set[tuple[str, str]]: ...
    def save_buckets(self, buckets: list, assessments: list | None = None) -> None: ...
    def record_alert_event(self, event: AlertEvent) -> int: ...
    def record_rejected(self, rejected: RejectedInput) -> None: ...


@dataclass
class PipelineStats:
    records: int = 0
    rejected: int = 0
    stored: int = 0
    duplicates: int = 0
    late: int = 0
    buckets: int = 0
    alert_events: int = 0


def pseudonymiser_from(settings: Settings, environ: dict[str, str] | None = None) -> Pseudonymiser:
    env = os.environ if environ is None else environ
    key = env.get(settings.privacy.pseudonym_key_env) or settings.privacy.pseudonym_key_fallback
    if not key:
        raise ValueError(
            f"set the environment variable {settings.privacy.pseudonym_key_env} to a secret of at least 16 characters "
            "(authors are stored only as keyed pseudonyms)"
        )
    return Pseudonymiser(key.encode("utf-8"))


def enricher_from(settings: Settings) -> Enricher:
    """The configured classifier, adapted by the deployment's staff corrections unless that is switched off."""
    classifier = settings.classifier
    adapted = adapted_model_dir(classifier.adapted_model, settings.database.url) if classifier.use_corrections else None
    return Enricher(load_base(classifier), adapted)


def build_pipeline(settings: Settings, store: MentionStore, playbooks: dict, **hooks: Any) -> "Pipeline":
    """A pipeline with the configured classifier and pseudonym key; `hooks` are Pipeline's on_* callbacks."""
    return Pipeline(
        settings,
        store=store,
        enricher=enricher_from(settings),
        playbooks=playbooks,
        pseudonymiser=pseudonymiser_from(settings),
        **hooks,
    )


class Pipeline:
    """Processes raw records in batches and yields the alert events they cause, in event-time order.

    Each stage is called once per batch, so the classifier and the database see thousands of mentions
    per call. Side effects beyond storage (notification, metrics) are hooks, so a backtest simply leaves
    them out.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: MentionStore,
        enricher: Enricher,
        playbooks: dict,
        pseudonymiser: Pseudonymiser,
        on_event: Callable[[AlertEvent], None] | None = None,
        on_rejected: Callable[[RejectedInput], None] | None = None,
        on_bucket: Callable[[ClosedBucket, StormAssessment], None] | None = None,
        on_mentions: Callable[[list[Mention]], None] | None = None,
        batch_size: int = 5000,
        lateness_seconds: int = 120,
    ):
        self.settings = settings
        self.store = store
        self.enricher = enricher
        self.pseudonymiser = pseudonymiser
        self.on_event = on_event
        self.on_rejected = on_rejected
        self.on_bucket = on_bucket
        self.on_mentions = on_mentions
        self.batch_size = batch_size
        self.bucketer = Bucketer(settings.detection.bucket_minutes * 60, lateness_seconds)
        self.detection = StormDetection(settings)
        self.decider = AlertDecider(settings, playbooks)
        self.stats = PipelineStats()
        self._default_scopes: dict[str, str] = {}

    def feed(self, records: Iterable[RawRecord], *, default_scope: str = DEFAULT_SCOPE) -> Iterator[AlertEvent]:
        batch: list[RawRecord] = []
        for record in records:
            batch.append(record)
            if len(batch) >= self.batch_size:
                yield from self.process_batch(batch, default_scope=default_scope)
                batch = []
        if batch:
            yield from self.process_batch(batch, default_scope=default_scope)

    def flush(self) -> Iterator[AlertEvent]:
        """Close the remaining buckets (end of a replay)."""
        yield from self._detect(list(self.bucketer.close_ready(flush=True)))

    def process_batch(self, records: list[RawRecord], *, default_scope: str = DEFAULT_SCOPE) -> Iterator[AlertEvent]:
        mentions = self._normalise(records, default_scope)
        if mentions:
            self.enricher.enrich(mentions)
            fresh = self._store(mentions)
            for mention in fresh:
                self.bucketer.add(mention)
            self.stats.late = self.bucketer.late
            if self.on_mentions and fresh:
                self.on_mentions(fresh)
        yield from self._detect(list(self.bucketer.close_ready()))

    def _reject(self, record: RawRecord, problem: str) -> None:
        self.stats.rejected += 1
        raw = record.raw
        if not raw and record.payload is not None:
            raw = repr(record.payload)[:2000]
        rejected = RejectedInput(record.source, record.line, problem, raw)
        log.warning("%s:%s: %s", record.source, record.line, problem)
        self.store.record_rejected(rejected)
        if self.on_rejected:
            self.on_rejected(rejected)

    def _normalise(self, records: list[RawRecord], default_scope: str) -> list[Mention]:
        mentions: list[Mention] = []
        for record in records:
            self.stats.records += 1
            if record.problem is not None:
                self._reject(record, record.problem)
                continue
            try:
                mentions.append(normalise(record.payload, pseudonymiser=self.pseudonymiser, default_scope=default_scope))
            except InputError as exc:
                self._reject(record, str(exc))
        return mentions

    def _store(self, mentions: list[Mention]) -> list[Mention]:
        new_keys = self.store.insert_mentions(mentions)
        fresh: list[Mention] = []
        for mention in mentions:
            key = mention.key
            if key in new_keys:
                new_keys.discard(key)  # a key repeated inside the batch counts once
                fresh.append(mention)
        self.stats.stored += len(fresh)
        self.stats.duplicates += len(mentions) - len(fresh)
        return fresh

    def _detect(self, closed: list[ClosedBucket]) -> Iterator[AlertEvent]:
        if not closed:
            return
        closed.sort(key=lambda c: (c.bucket.start, c.bucket.scope))  # events in event-time order across scopes
        assessments = [self.detection.assess(c) for c in closed]
        self.stats.buckets += len(closed)
        # empty calm buckets are implicit zeros, and calm ones need no explanation: store only what carries news
        kept = [(c.bucket, a if a.level else None) for c, a in zip(closed, assessments) if c.bucket.count or a.level]
        if kept:
            self.store.save_buckets([b for b, _ in kept], [a for _, a in kept])
        for bucket, assessment in zip(closed, assessments):
            if self.on_bucket:
                self.on_bucket(bucket, assessment)
            event = self.decider.decide(assessment)
            if event is None:
                continue
            self.stats.alert_events += 1
            self.store.record_alert_event(event)
            if self.on_event:
                self.on_event(event)
            yield event
