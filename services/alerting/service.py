"""Alerting's use cases, each in one transaction: apply events (in the consumer's), store a
subscription and tell it what already fires, and repeat what still fires. Each writes pending
deliveries; the delivery loop sends them."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, func, insert, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.events import Event, ProjectRegistered
from services.alerting import models as m
from services.alerting.domain import AlertChange, AlertState, alert_changes, next_state
from services.alerting.notifications import Pending, enqueue, record_told
from services.alerting.render import alert_item
from services.alerting.store import Subscription, all_subscriptions
from services.runtime.clock import Clock

# Alert transitions take this advisory lock shared, subscription creation exclusive: a new
# subscription either sees an alert already firing or is seen by the transaction firing it.
SUBSCRIPTIONS_LOCK = 0x0A1E27


class AlertingService:
    def __init__(self, clock: Clock, group_wait_seconds: float) -> None:
        self.clock, self.group_wait = clock, timedelta(seconds=group_wait_seconds)

    async def apply_events(self, conn: AsyncConnection, events: list[Event]) -> None:
        """The consumer's effect, in its transaction: exactly once per event id."""
        changes: list[AlertChange] = []
        for event in events:
            if isinstance(event, ProjectRegistered):
                await _register(conn, event)
            changes += alert_changes(event)
        if not changes:
            return
        await conn.execute(select(func.pg_advisory_xact_lock_shared(SUBSCRIPTIONS_LOCK)))
        subscriptions, pending = await all_subscriptions(conn), defaultdict(list)
        for change in changes:
            alert = await _transition(conn, change)
            for sub in subscriptions if alert is not None else ():
                if sub.wants(alert) and await record_told(conn, sub, alert, self.clock()):
                    pending[sub.subscription_id].append(alert_item(alert))
        await enqueue(conn, pending, self.group_wait)

    async def subscribe(self, conn: AsyncConnection, sub: Subscription) -> None:
        """Store a new subscription and queue the alerts already firing that it wants."""
        await conn.execute(select(func.pg_advisory_xact_lock(SUBSCRIPTIONS_LOCK)))
        await conn.execute(insert(m.subscriptions).values(sub.to_row()))
        firing = select(m.alerts).where(m.alerts.c.state == AlertState.FIRING.value)
        pending: Pending = defaultdict(list)
        for alert in await conn.execute(firing.order_by(m.alerts.c.started_at)):
            if sub.wants(alert) and await record_told(conn, sub, alert, self.clock()):
                pending[sub.subscription_id].append(alert_item(alert))
        await enqueue(conn, pending, self.group_wait)

    async def repeat_firing(self, engine: AsyncEngine) -> int:
        """Queue again each alert still firing whose subscription's repeat interval has run
        since it was last told (the SQL form of `should_notify` for that case)."""
        now, log, a = self.clock(), m.notification_log.c, m.alerts.c
        repeat = m.subscriptions.c.repeat_interval_seconds * literal_column("interval '1 second'")
        query = (
            select(log.subscription_id, m.alerts)
            .join(m.alerts, a.fingerprint == log.fingerprint)
            .join(m.subscriptions, m.subscriptions.c.subscription_id == log.subscription_id)
            .where(a.state == "firing", log.state == "firing", log.notified_at + repeat <= now)
            .with_for_update(of=m.notification_log, skip_locked=True)
        )
        pending: Pending = defaultdict(list)
        async with engine.begin() as conn:
            for row in await conn.execute(query):
                pending[row.subscription_id].append(alert_item(row))
                await conn.execute(
                    update(m.notification_log)
                    .where(log.subscription_id == row.subscription_id)
                    .where(log.fingerprint == row.fingerprint)
                    .values(notified_at=now)
                )
            await enqueue(conn, pending, self.group_wait)
        return sum(len(items) for items in pending.values())


async def _transition(conn: AsyncConnection, change: AlertChange) -> Row[Any] | None:
    """Apply the change to its alert; returns the alert when its state changed."""
    a = m.alerts.c
    query = select(a.state, a.source_at).where(a.fingerprint == change.fingerprint)
    current = (await conn.execute(query.with_for_update())).one_or_none()
    if current is not None and change.at < current.source_at:
        return None  # an older event arriving late does not undo a newer one
    new = next_state(AlertState(current.state) if current else None, change.state)
    if new is None:
        return None
    values: dict[str, Any] = {
        "kind": change.kind.value,
        "severity": change.severity.value,
        "state": new.value,
        "project_id": change.project_id,
        "subject": change.subject,
        "project_name": change.project.name,
        "sheet": change.project.sheet,
        "regions": list(change.project.regions),
        "summary": change.summary,
        "details": change.details,
        "source_at": change.at,
        "resolved_at": change.at if new is AlertState.RESOLVED else None,
    }
    if new is AlertState.FIRING:
        values["started_at"] = change.at
    if current is None:
        stmt = insert(m.alerts).values(fingerprint=change.fingerprint, **values)
    else:
        stmt = update(m.alerts).where(a.fingerprint == change.fingerprint).values(values)
    return (await conn.execute(stmt.returning(m.alerts))).one()


async def _register(conn: AsyncConnection, event: ProjectRegistered) -> None:
    p = event.payload
    row = {"project_id": event.project_id, "name": p.name, "sheet": p.sheet}
    row |= {"regions": list(p.regions), "token_sha256": p.api_token_sha256}
    await conn.execute(upsert(m.projects).values(row).on_conflict_do_nothing())
