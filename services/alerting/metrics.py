"""Alerting's metrics: delivery counters and latency per instance; alerts firing and deliveries
by status read from the database at scrape time (every replica exports the same truth).

Labels are bounded: channel (2), kind (7: AlertKind), sheet (the catalog's 7), status (4)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from contracts.catalog import load_catalog
from services.alerting.domain import AlertKind, Channel, DeliveryStatus
from services.alerting.queries import AlertingQueries

P = "cma_alerting_"


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(name: str, doc: str) -> Counter:
            return Counter(P + name, doc, ["channel"], registry=registry)

        self.sent = counter("notifications_sent_total", "Notifications delivered.")
        self.failed = counter(
            "notifications_failed_total", "Delivery attempts that failed (retried or not)."
        )
        self.dead = counter(
            "notifications_dead_lettered_total",
            "Notifications given up on: attempts exhausted or refused for good.",
        )
        self.claims_lost = counter(
            "delivery_claims_lost_total",
            "Attempts whose outcome was dropped: their claim had lapsed and passed to another "
            "instance (which sent the notification again).",
        )
        self.latency = Histogram(
            P + "delivery_latency_seconds",
            "From a notification being queued to its delivery (group wait and retries included).",
            ["channel"],
            buckets=(0.1, 0.5, 1, 2.5, 5, 15, 30, 60, 120, 300, 900, 3600),
            registry=registry,
        )
        for channel in Channel:  # zeros from the start: increase() sees the first
            for metric in (self.sent, self.failed, self.dead, self.claims_lost, self.latency):
                metric.labels(channel)


async def alerting_families(queries: AlertingQueries) -> list[Metric]:
    firing = await queries.firing_by_kind_and_sheet()
    alerts = GaugeMetricFamily(
        P + "alerts_firing", "Alerts firing now, by kind and sheet.", labels=["kind", "sheet"]
    )
    for kind in AlertKind:  # zeros too, so a rule can tell "none firing" from "no data"
        for sheet in sorted(set(load_catalog().sheets) | {s for _, s in firing}):
            alerts.add_metric([kind.value, sheet], firing.get((kind, sheet), 0))
    by_status = await queries.deliveries_by_status()
    deliveries = GaugeMetricFamily(
        P + "deliveries", "Deliveries recorded, by status.", labels=["status"]
    )
    for status in DeliveryStatus:
        deliveries.add_metric([status.value], by_status.get(status, 0))
    return [alerts, deliveries]
