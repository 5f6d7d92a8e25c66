"""Who is told what: the notification log (one row per subscription and alert) decides, and
pending deliveries carry the alerts to the delivery loop. Both inside the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.alerting import models as m
from services.alerting.domain import AlertState, DeliveryStatus, should_notify
from services.alerting.queries import Subscription
from services.alerting.render import AlertItem, alert_item

Pending = dict[UUID, list[AlertItem]]  # subscription -> alert items to deliver

# Alert transitions take this advisory lock shared, subscription creation exclusive: a new
# subscription either sees an alert already firing or is seen by the transaction firing it.
SUBSCRIPTIONS_LOCK = 0x0A1E27


async def lock_subscriptions(conn: AsyncConnection, *, exclusive: bool) -> None:
    lock = func.pg_advisory_xact_lock if exclusive else func.pg_advisory_xact_lock_shared
    await conn.execute(select(lock(SUBSCRIPTIONS_LOCK)))


async def tell(
    conn: AsyncConnection, pending: Pending, sub: Subscription, alert: Row[Any], now: datetime
) -> None:
    """Adds the alert to what `sub` is sent, when it wants it and should be told now."""
    if sub.wants(alert) and await record_told(conn, sub, alert, now):
        pending[sub.subscription_id].append(alert_item(alert))


async def record_told(
    conn: AsyncConnection, sub: Subscription, alert: Row[Any], now: datetime
) -> bool:
    """Record that `sub` is told the alert's state, when the lifecycle says it should be.
    The row lock serialises the consumer and the repeat tick on one (subscription, alert)."""
    log = m.notification_log.c
    told = (
        await conn.execute(
            select(log.state, log.notified_at)
            .where(log.subscription_id == sub.subscription_id)
            .where(log.fingerprint == alert.fingerprint)
            .with_for_update()
        )
    ).one_or_none()
    state = AlertState(alert.state)
    told_state, told_at = (AlertState(told.state), told.notified_at) if told else (None, None)
    if not should_notify(told_state, told_at, state, now, sub.repeat):
        return False
    key = {"subscription_id": sub.subscription_id, "fingerprint": alert.fingerprint}
    stmt = upsert(m.notification_log).values(**key, state=state.value, notified_at=now)
    set_ = {"state": stmt.excluded.state, "notified_at": stmt.excluded.notified_at}
    await conn.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=set_))
    return True


async def enqueue(conn: AsyncConnection, pending: Pending, group_wait: timedelta) -> None:
    """One delivery per subscription. Within the group wait, items join the delivery not yet
    sent; a locked one is being sent, so a new delivery starts instead."""
    d = m.deliveries.c
    for subscription_id, items in pending.items():
        if not items:
            continue
        still_open = await conn.execute(
            select(d.delivery_id)
            .where(d.subscription_id == subscription_id, d.status == DeliveryStatus.PENDING)
            .where(d.attempts == 0, d.due_at > func.now())
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        delivery_id = still_open.scalar_one_or_none()
        if delivery_id is not None:
            more = bindparam("more", items, type_=JSONB)
            await conn.execute(
                update(m.deliveries)
                .where(d.delivery_id == delivery_id)
                .values(alerts=d.alerts.op("||")(more), updated_at=func.now())
            )
            continue
        new = {"delivery_id": uuid.uuid4(), "subscription_id": subscription_id}
        await conn.execute(
            insert(m.deliveries).values(
                **new, status=DeliveryStatus.PENDING, alerts=items, due_at=func.now() + group_wait
            )
        )
