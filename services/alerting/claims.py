"""Claiming deliveries by lease, and recording an attempt only while the claim is still ours.

Each is one committed statement (`services/runtime/leases.py`): nothing is locked while the
notification is sent, so an instance that stalls mid-send holds a delivery only until its
claim lapses; another instance then claims it again (the same delivery id: receivers
deduplicate on `X-CMA-Delivery`). The stalled instance's late outcome matches no claim and is
dropped, so it cannot overwrite the outcome the other instance recorded. Each statement
commits on its own, whatever engine it is given."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy import Update, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.alerting import models as m
from services.alerting.domain import DeliveryStatus
from services.alerting.queries import ACTIVE, Subscription
from services.alerting.render import AlertItem
from services.runtime.leases import autocommit


@dataclass(frozen=True)
class Claim:
    """A delivery this instance claimed: what to send, to whom, and which attempt it is (the
    attempt number and the holder identify the claim)."""

    delivery_id: UUID
    attempt: int
    subscription: Subscription
    alerts: list[AlertItem]


async def claim_due(engine: AsyncEngine, holder: str, lease: timedelta, batch: int) -> list[Claim]:
    """Claims up to `batch` due deliveries that nobody holds (never claimed, recorded, or
    whose claim lapsed), oldest due first; each claim begins an attempt. A paused or deleted
    subscription's are left alone. Only a subscription's oldest pending delivery can be
    claimed: its deliveries go one at a time, in the order they were made (on every instance),
    so an alert is never heard resolved before it was heard firing."""
    d, due, older = m.deliveries.c, m.deliveries.alias("due"), m.deliveries.alias("older")
    earlier_pending = (
        select(older.c.delivery_id)
        .where(older.c.subscription_id == due.c.subscription_id)
        .where(older.c.status == DeliveryStatus.PENDING, older.c.seq < due.c.seq)
    )
    free = (
        select(due.c.delivery_id)
        .join(m.subscriptions, m.subscriptions.c.subscription_id == due.c.subscription_id)
        .where(*ACTIVE)
        .where(due.c.status == DeliveryStatus.PENDING, due.c.due_at <= func.now())
        .where(or_(due.c.claimed_until.is_(None), due.c.claimed_until < func.now()))
        .where(~earlier_pending.exists())
        .order_by(due.c.due_at)
        .limit(batch)
        .with_for_update(of=due, skip_locked=True)  # two claimers never take the same row
    )
    stmt = (
        update(m.deliveries)
        .where(d.delivery_id.in_(free), d.subscription_id == m.subscriptions.c.subscription_id)
        .values(
            attempts=d.attempts + 1,
            claimed_by=holder,
            claimed_until=func.now() + lease,
            updated_at=func.now(),
        )
        .returning(d.delivery_id, d.attempts, d.alerts, m.subscriptions)
    )
    async with autocommit(engine).connect() as conn:
        rows = (await conn.execute(stmt)).all()
    return [Claim(r.delivery_id, r.attempts, Subscription.from_row(r), r.alerts) for r in rows]


async def claim_new(
    engine: AsyncEngine, sub: Subscription, alerts: list[AlertItem], holder: str, lease: timedelta
) -> Claim:
    """A new delivery, claimed by `holder` from the start (a notification sent at once, such
    as a test): if the holder stalls, the claim lapses and the delivery loop sends it."""
    delivery_id = uuid.uuid4()
    stmt = insert(m.deliveries).values(
        delivery_id=delivery_id,
        subscription_id=sub.subscription_id,
        status=DeliveryStatus.PENDING,
        alerts=alerts,
        attempts=1,
        due_at=func.now(),
        claimed_by=holder,
        claimed_until=func.now() + lease,
    )
    async with autocommit(engine).connect() as conn:
        await conn.execute(stmt)
    return Claim(delivery_id, 1, sub, alerts)


def _if_still_ours(claim: Claim, holder: str) -> Update:
    d = m.deliveries.c
    return (
        update(m.deliveries)
        .where(d.delivery_id == claim.delivery_id, d.status == DeliveryStatus.PENDING)
        .where(d.claimed_by == holder, d.attempts == claim.attempt, d.claimed_until.is_not(None))
        .values(claimed_until=None, updated_at=func.now())
    )


async def record_delivered(engine: AsyncEngine, claim: Claim, holder: str) -> float | None:
    """Marks the delivery delivered; returns its latency (queued → delivered), or None when the
    claim is no longer ours and nothing was recorded."""
    d = m.deliveries.c
    stmt = _if_still_ours(claim, holder).values(
        status=DeliveryStatus.DELIVERED, delivered_at=func.now()
    )
    latency = func.extract("epoch", func.now() - d.created_at)
    async with autocommit(engine).connect() as conn:
        row = (await conn.execute(stmt.returning(latency))).first()
    return None if row is None else float(row[0])


async def record_failed(
    engine: AsyncEngine, claim: Claim, holder: str, error: str, retry_in: timedelta | None
) -> bool:
    """Records a failed attempt: due again after `retry_in`, or dead when None. False when the
    claim is no longer ours and nothing was recorded."""
    stmt = _if_still_ours(claim, holder).values(last_error=error[:500])
    if retry_in is None:
        stmt = stmt.values(status=DeliveryStatus.DEAD)
    else:
        stmt = stmt.values(due_at=func.now() + retry_in)
    async with autocommit(engine).connect() as conn:
        return (await conn.execute(stmt.returning(literal(1)))).first() is not None


async def release_claims(engine: AsyncEngine, holder: str) -> None:
    """On a clean stop: the deliveries still claimed by `holder` may be claimed again at once
    (their attempts were cut short; they stay counted)."""
    d = m.deliveries.c
    async with autocommit(engine).connect() as conn:
        await conn.execute(
            update(m.deliveries)
            .where(d.claimed_by == holder, d.claimed_until.is_not(None))
            .where(d.status == DeliveryStatus.PENDING)
            .values(claimed_until=None)
        )
