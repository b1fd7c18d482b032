"""Prometheus metrics of the service, on an injected registry so tests and several instances never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from monitor.domain import AlertEvent, Bucket, NotificationRecord

NAMESPACE = "stormwatch"


class Metrics:
    """The service's metrics; the pipeline calls the observe/set methods, /metrics exposes the registry.

    >>> registry = CollectorRegistry()
    >>> metrics = Metrics(registry)
    >>> metrics.observe_mentions("stadt", "facebook", 3)
    >>> registry.get_sample_value("stormwatch_ingest_mentions_total", {"scope": "stadt", "platform": "facebook"})
    3.0
    """

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry
        self.mentions = Counter(
            "mentions", "Mentions ingested", ["scope", "platform"],
            namespace=NAMESPACE, subsystem="ingest", registry=registry,
        )
        self.rejected = Counter(
            "rejected", "Inputs rejected by normalisation", ["source"],
            namespace=NAMESPACE, subsystem="ingest", registry=registry,
        )
        self.possible_threats = Counter(
            "possible_threats",
            "Mentions the classifier's threat head scores as a likely threat (P >= 0.5), copies included",
            ["scope"], namespace=NAMESPACE, subsystem="classify", registry=registry,
        )
        self.alert_events = Counter(
            "events", "Alert events (opened, updated, escalated, resolved)", ["scope", "kind", "event"],
            namespace=NAMESPACE, subsystem="alert", registry=registry,
        )
        self.notifications = Counter(
            "notifications", "Notification deliveries by target and outcome", ["target", "outcome"],
            namespace=NAMESPACE, subsystem="alert", registry=registry,
        )
        self.storm_level = Gauge(
            "level", "Current storm level on the Shitstorm-Skala (0-6)", ["scope"],
            namespace=NAMESPACE, subsystem="storm", registry=registry,
        )
        self.bucket_mentions = Gauge(
            "bucket_mentions", "Mentions in the last closed bucket", ["scope"],
            namespace=NAMESPACE, subsystem="aggregate", registry=registry,
        )
        self.lag = Gauge(
            "lag", "Delay between a mention's creation and its processing", [],
            namespace=NAMESPACE, subsystem="pipeline", unit="seconds", registry=registry,
        )

    def observe_mentions(self, scope: str, platform: str, n: int) -> None:
        if n > 0:
            self.mentions.labels(scope=scope, platform=platform).inc(n)

    def observe_possible_threats(self, scope: str, n: int) -> None:
        # Counted even when no storm is open: one threat in a calm week is what the on-call person must see.
        if n > 0:
            self.possible_threats.labels(scope=scope).inc(n)

    def observe_rejected(self, source: str, n: int = 1) -> None:
        if n > 0:
            self.rejected.labels(source=source).inc(n)

    def observe_alert_event(self, event: AlertEvent) -> None:
        self.alert_events.labels(scope=event.scope, kind=event.kind, event=event.event).inc()
        self.set_storm_level(event.scope, event.level)

    def observe_notification(self, record: NotificationRecord) -> None:
        # the target id, never the URL: labels end up in Prometheus and Grafana, far from the secret store
        outcome = "success" if record.success else "failure"
        self.notifications.labels(target=record.target_id, outcome=outcome).inc()

    def set_storm_level(self, scope: str, level: int) -> None:
        self.storm_level.labels(scope=scope).set(level)

    def set_bucket(self, bucket: Bucket) -> None:
        self.bucket_mentions.labels(scope=bucket.scope).set(bucket.count)

    def set_lag(self, seconds: float) -> None:
        self.lag.set(max(0.0, seconds))
