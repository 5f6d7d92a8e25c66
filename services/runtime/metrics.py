"""Per-instance processing metrics shared by every consumer, and the `/metrics` rendering."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger(__name__)


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


class RenderedFamilies:
    """Metric families built off the scrape path and kept rendered in memory: rebuilt at start,
    after each batch this replica applies (`touch`, with the keys of what the batch changed),
    and at least every `MAX_AGE_SECONDS` (the batches other replicas apply), after a pause
    (`pause_after`) that bounds the rebuilds' share of a core. A scrape then costs the
    rendering of the rest of the registry only (docs/performance.md, B7'). `render` returns
    the text, given the keys touched since its previous call: it decides what to recompute
    (all of it, or only what the keys name)."""

    MAX_AGE_SECONDS = 15.0  # Prometheus' usual scrape interval

    def __init__(
        self, render: Callable[[set[Hashable]], Awaitable[bytes]], pause_seconds: float
    ) -> None:
        self.render, self.pause_seconds = render, pause_seconds
        self.text: bytes | None = None
        self.built_at = -math.inf  # monotonic time of the last rebuild
        self._dirty = asyncio.Event()
        self._touched: set[Hashable] = set()
        # The scrape path rebuilds when stale, the loop otherwise: one at a time, as `render`
        # may keep state between calls.
        self._rebuilding = asyncio.Lock()

    def touch(self, keys: Iterable[Hashable] = ()) -> None:
        self._touched.update(keys)
        self._dirty.set()

    @property
    def stale(self) -> bool:
        """Never built, or not rebuilt for twice the longest interval: the loop is not
        running (it starts once Kafka answers) or failing."""
        return time.monotonic() - self.built_at > 2 * self.MAX_AGE_SECONDS

    async def rebuild(self) -> None:
        async with self._rebuilding:
            touched, self._touched = self._touched, set()
            try:
                self.text = await self.render(touched)
            except BaseException:  # what they name is still to be done
                self._touched |= touched
                raise
            self.built_at = time.monotonic()

    async def run(self) -> None:
        """A background loop of the service (`service_lifespan`)."""
        while True:
            self._dirty.clear()
            started = time.monotonic()
            try:
                await self.rebuild()
                pause = pause_after(time.monotonic() - started, self.pause_seconds)
            except Exception:  # the database may be away: serve the last rendering meanwhile
                log.exception("metric families not rebuilt")
                pause = self.pause_seconds
            await asyncio.sleep(pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), self.MAX_AGE_SECONDS)


REBUILD_SHARE = 0.25
"""Under a constant stream of batches, the most of the loop's time spent rebuilding."""


def pause_after(rebuild_seconds: float, longest: float) -> float:
    """The pause after a rebuild: long enough that rebuilding takes at most `REBUILD_SHARE`
    of the time, and no longer than `longest`. A cheap rebuild (a batch's few projects) is
    followed by a short pause, so a figure reaches `/metrics` soon after its batch; a fixed
    pause made every figure wait for it (docs/performance.md, B4)."""
    return min(longest, rebuild_seconds * (1 / REBUILD_SHARE - 1))


def metrics_endpoint(
    registry: CollectorRegistry,
    refresh: Callable[[], Awaitable[None]] | None = None,
    token: str | None = None,
    rendered: RenderedFamilies | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """`/metrics`; with `token`, only for a request that sends it as a bearer token (the
    business families name projects, funding and milestones). `rendered`: families served as
    kept in memory, after the registry's; built on the spot when stale (the service serves
    before Kafka answers, and its loops start after)."""
    expected = f"Bearer {token}".encode() if token else None

    async def metrics(request: Request) -> Response:
        sent = request.headers.get("authorization", "").encode()
        if expected is not None and not secrets.compare_digest(sent, expected):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        if refresh is not None:
            await refresh()
        body = generate_latest(registry)
        if rendered is not None:
            if rendered.stale:
                await rendered.rebuild()
            body += rendered.text or b""
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics
