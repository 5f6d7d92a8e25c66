"""The delivery loop: claims due deliveries by lease (replicas share the work), sends them
outside any transaction, records each attempt while its claim is still its own; and, every
second, queues the repeats of alerts that still fire.

Delivery is at least once: an instance that crashes or stalls mid-send holds its deliveries
until their claims lapse (`CMA_DELIVERY_LEASE_SECONDS`), then another instance sends them
again with the same delivery id, and receivers deduplicate on `X-CMA-Delivery`
(services/alerting/claims.py). Scheduling (group wait, backoff, leases) uses the database's
clock: it is transport timing, not a business date; the alert lifecycle follows the injected
clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from services.alerting.channels import Channels, DeliveryFailed
from services.alerting.claims import (
    Claim,
    claim_due,
    claim_new,
    record_delivered,
    record_failed,
    release_claims,
)
from services.alerting.domain import DeliveryStatus
from services.alerting.metrics import DeliveryMetrics
from services.alerting.queries import Subscription
from services.alerting.render import AlertItem
from services.alerting.usecases import AlertingUseCases
from services.runtime.leases import instance_id
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


def backoff_seconds(failed_attempts: int, base: float, jitter: float, cap: float = 3600) -> float:
    """Exponential with "equal jitter" (`jitter` in [0, 1)): half fixed, half random, so the
    retries of many deliveries to one receiver spread out."""
    delay = min(base * 2.0 ** (failed_attempts - 1), cap)
    return delay / 2 + delay / 2 * jitter


class DeliveryLoop:
    def __init__(
        self,
        engine: AsyncEngine,
        usecases: AlertingUseCases,
        channels: Channels,
        settings: Settings,
        metrics: DeliveryMetrics,
        *,
        poll_seconds: float = 0.1,
        repeat_every_seconds: float = 1.0,
        batch: int = 20,
        jitter: Callable[[], float] = random.random,
        holder: str | None = None,
    ) -> None:
        self.engine, self.usecases, self.channels = engine, usecases, channels
        self.settings, self.metrics, self.jitter = settings, metrics, jitter
        self.poll, self.repeat_every, self.batch = poll_seconds, repeat_every_seconds, batch
        self.holder = holder or instance_id()
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_repeat = loop.time()
        try:
            while True:
                try:
                    if loop.time() >= next_repeat:
                        await self.usecases.repeat_firing()
                        next_repeat = loop.time() + self.repeat_every
                    if await self.deliver_due() == 0:
                        await asyncio.sleep(self.poll)
                except asyncio.CancelledError:
                    raise
                except Exception:  # database away: the rows wait, pending
                    log.exception("alerting: delivery loop failed; retrying")
                    await asyncio.sleep(1.0)
        finally:
            with contextlib.suppress(Exception):  # a clean stop hands its claims over at once
                await release_claims(self.engine, self.holder)

    async def deliver_due(self) -> int:
        """Claim, send and record one batch of due deliveries; returns how many were attempted."""
        claims = await claim_due(self.engine, self.holder, self.lease, self.batch)
        failures = await asyncio.gather(*(self.attempt(c) for c in claims))
        for claim, failure in zip(claims, failures, strict=True):
            await self.record(claim, failure)
        return len(claims)

    async def send_now(self, sub: Subscription, alerts: list[AlertItem]) -> UUID:
        """A new delivery sent at once, one attempt and no retry (a test notification): claimed
        as it is created, sent outside any transaction, recorded delivered or dead."""
        claim = await claim_new(self.engine, sub, alerts, self.holder, self.lease)
        await self.record(claim, await self.attempt(claim), retry=False)
        return claim.delivery_id

    async def attempt(self, claim: Claim) -> DeliveryFailed | None:
        """One attempt, cut off after `CMA_DELIVERY_TIMEOUT_SECONDS`: well within its claim."""
        try:
            async with asyncio.timeout(self.settings.delivery_timeout_seconds):
                await self.channels.send(claim.subscription, str(claim.delivery_id), claim.alerts)
        except DeliveryFailed as exc:
            return exc
        except TimeoutError:
            return DeliveryFailed("timeout: the attempt took too long", retryable=True)
        except Exception as exc:  # a bug or an odd receiver: retried, within the attempt limit
            log.exception("alerting: delivery %s failed unexpectedly", claim.delivery_id)
            return DeliveryFailed(f"{type(exc).__name__}", retryable=True)
        return None

    async def record(
        self, claim: Claim, failure: DeliveryFailed | None, *, retry: bool = True
    ) -> DeliveryStatus | None:
        """Records the attempt's outcome if the claim is still ours; returns the delivery's
        status after it (pending: a retry, unless `retry` is False), or None when the claim
        had passed to another instance and the outcome was dropped."""
        channel = claim.subscription.channel
        if failure is None:
            latency = await record_delivered(self.engine, claim, self.holder)
            if latency is not None:
                self.metrics.sent.labels(channel).inc()
                self.metrics.latency.labels(channel).observe(latency)
                return DeliveryStatus.DELIVERED
        else:
            retry_in = None
            if retry and failure.retryable and claim.attempt < self.settings.delivery_max_attempts:
                base = self.settings.delivery_backoff_base_seconds
                retry_in = timedelta(seconds=backoff_seconds(claim.attempt, base, self.jitter()))
            if await record_failed(self.engine, claim, self.holder, str(failure), retry_in):
                self.metrics.failed.labels(channel).inc()
                if retry_in is not None:
                    return DeliveryStatus.PENDING
                log.warning(
                    "alerting: delivery %s dead after %d attempts", claim.delivery_id, claim.attempt
                )
                self.metrics.dead.labels(channel).inc()
                return DeliveryStatus.DEAD
        log.warning(
            "alerting: attempt %d of delivery %s not recorded: its claim passed to another "
            "instance",
            claim.attempt,
            claim.delivery_id,
        )
        self.metrics.claims_lost.labels(channel).inc()
        return None
