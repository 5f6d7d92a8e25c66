"""Per-instance processing metrics shared by every consumer, and the `/metrics` rendering."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.events = Counter(
            f"cma_{service}_events_total",
            "Events taken from Kafka, by consumer group and outcome "
            "(applied|duplicate|dead_lettered).",
            ["consumer", "outcome"],
            registry=registry,
        )
        self.transient_failures = Counter(
            f"cma_{service}_transient_failures_total",
            "Batches retried because the database or the broker was away.",
            ["consumer"],
            registry=registry,
        )
        self.batch_seconds = Histogram(
            f"cma_{service}_batch_seconds",
            "Time to apply one batch of events, retries included.",
            ["consumer"],
            registry=registry,
        )


class SnapshotCollector(Collector):
    """Exposes metric families computed just before each scrape (from the database), so
    every replica exports the same truth and a restart loses nothing."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterable[Metric]:
        return list(self.families)


def metrics_endpoint(
    registry: CollectorRegistry,
    refresh: Callable[[], Awaitable[None]] | None = None,
    token: str | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """`/metrics`; with `token`, only for a request that sends it as a bearer token (the
    business families name projects, funding and milestones)."""
    expected = f"Bearer {token}".encode() if token else None

    async def metrics(request: Request) -> Response:
        sent = request.headers.get("authorization", "").encode()
        if expected is not None and not secrets.compare_digest(sent, expected):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        if refresh is not None:
            await refresh()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
