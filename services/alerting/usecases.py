"""Alerting's commands, each owning its transaction: subscribe (and queue what already fires),
and repeat what still fires. Both write pending deliveries; the delivery loop sends them."""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.alerting import models as m
from services.alerting.channels import check_webhook_url
from services.alerting.domain import AlertState, Channel, Filters
from services.alerting.notifications import Pending, enqueue, lock_subscriptions, tell
from services.alerting.queries import Subscription
from services.alerting.render import alert_item
from services.alerting.schemas import SubscriptionIn, WebhookIn
from services.runtime.clock import Clock
from services.runtime.errors import FieldError, Unprocessable
from services.runtime.settings import Settings


class AlertingUseCases:
    def __init__(self, engine: AsyncEngine, settings: Settings, clock: Clock) -> None:
        self.engine, self.settings, self.clock = engine, settings, clock
        self.group_wait = timedelta(seconds=settings.alert_group_wait_seconds)

    async def subscribe(
        self, body: SubscriptionIn, owner: UUID | None, created_by: str
    ) -> Subscription:
        """Store a new subscription (`owner`: the project creating it, None for staff;
        `created_by`: who, as the caller's label) and
        queue the alerts already firing that it wants. A webhook must lead to a public host."""
        if isinstance(body.channel, WebhookIn):
            try:
                await check_webhook_url(body.channel.url, self.settings)
            except ValueError as exc:
                loc = ("body", "channel", "webhook", "url")  # as pydantic names it
                raise Unprocessable([FieldError(loc, str(exc))]) from exc
        sub = _new_subscription(body, owner, created_by, self.clock())
        firing = select(m.alerts).where(m.alerts.c.state == AlertState.FIRING.value)
        pending: Pending = defaultdict(list)
        async with self.engine.begin() as conn:
            await lock_subscriptions(conn, exclusive=True)
            await conn.execute(insert(m.subscriptions).values(sub.to_row()))
            for alert in await conn.execute(firing.order_by(m.alerts.c.started_at)):
                await tell(conn, pending, sub, alert, self.clock())
            await enqueue(conn, pending, self.group_wait)
        return sub

    async def repeat_firing(self) -> int:
        """Queue again each alert still firing whose subscription's repeat interval has run
        since it was last told (the SQL form of `should_notify` for that case); returns how
        many alerts were queued."""
        now, log, a = self.clock(), m.notification_log.c, m.alerts.c
        repeat = m.subscriptions.c.repeat_interval_seconds * literal_column("interval '1 second'")
        query = (
            select(log.subscription_id, m.alerts)
            .join(m.alerts, a.fingerprint == log.fingerprint)
            .join(m.subscriptions, m.subscriptions.c.subscription_id == log.subscription_id)
            .where(a.state == AlertState.FIRING, log.state == AlertState.FIRING)
            .where(log.notified_at + repeat <= now)
            .with_for_update(of=m.notification_log, skip_locked=True)
        )
        pending: Pending = defaultdict(list)
        async with self.engine.begin() as conn:
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


def _new_subscription(
    body: SubscriptionIn, owner: UUID | None, created_by: str, now: datetime
) -> Subscription:
    """A new id; a webhook given no secret gets one (the answer shows it, once)."""
    f = body.filters
    filters = Filters(
        frozenset(f.sheets),
        frozenset(f.projects),
        frozenset(f.regions),
        frozenset(k.value for k in f.kinds),
        f.min_severity,
    )
    if isinstance(body.channel, WebhookIn):
        target, secret = body.channel.url, body.channel.secret or secrets.token_urlsafe(32)
    else:
        target, secret = body.channel.address, None
    return Subscription(
        uuid.uuid4(),
        body.name,
        owner,
        Channel(body.channel.type),
        target,
        secret,
        filters,
        timedelta(seconds=body.repeat_interval_seconds),
        now,
        created_by,
    )
