"""Alerting's commands, each owning its transaction: subscribe (and queue what already fires),
change, pause, resume or delete a subscription, rotate its secret, retry a dead delivery, and
repeat what still fires. They write pending deliveries; the delivery loop sends them.

Those that change who is told take the subscriptions lock exclusively (alert transitions and
repeats take it shared), so no transaction tells a subscription as it was before the change."""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, func, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.alerting import models as m
from services.alerting.channels import check_webhook_url
from services.alerting.domain import AlertState, Channel, DeliveryStatus, Filters
from services.alerting.notifications import Pending, enqueue, lock_subscriptions, tell
from services.alerting.queries import ACTIVE, Subscription
from services.alerting.render import alert_item
from services.alerting.schemas import (
    EmailIn,
    FiltersIn,
    SubscriptionIn,
    SubscriptionPatch,
    WebhookIn,
)
from services.runtime.clock import Clock
from services.runtime.errors import Conflict, FieldError, NotFound, Unprocessable
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
        await self._check_channel(body.channel)
        sub = _new_subscription(body, owner, created_by, self.clock())
        async with self.engine.begin() as conn:
            await lock_subscriptions(conn, exclusive=True)
            await conn.execute(insert(m.subscriptions).values(sub.to_row()))
            await self._tell_firing(conn, sub)
        return sub

    async def update(
        self, subscription_id: UUID, patch: SubscriptionPatch
    ) -> tuple[Subscription, str | None]:
        """Apply the change; returns the subscription and the webhook secret it generated (or
        None). Paused: its pending deliveries are cancelled and it is told nothing. Resumed:
        it is told the alerts firing now, as a new subscription would be. New filters: the
        firing alerts they now match are told (those already told wait for the repeat)."""
        if patch.channel is not None:
            await self._check_channel(patch.channel)
        async with self.engine.begin() as conn:
            await lock_subscriptions(conn, exclusive=True)
            old = await _locked(conn, subscription_id)
            new, generated = _patched(old, patch)
            row = new.to_row()
            for key in ("subscription_id", "owner_project_id", "created_at"):
                del row[key]
            await conn.execute(
                update(m.subscriptions)
                .where(m.subscriptions.c.subscription_id == subscription_id)
                .values(row)
            )
            if new.paused or old.paused:
                await _cancel_pending(conn, subscription_id)
            if old.paused and not new.paused:  # resumed: told afresh what fires now
                await conn.execute(
                    delete(m.notification_log).where(
                        m.notification_log.c.subscription_id == subscription_id
                    )
                )
            if not new.paused:
                await self._tell_firing(conn, new)
        return new, generated

    async def delete(self, subscription_id: UUID) -> None:
        """Nothing more is sent to it: its pending deliveries are cancelled. Its delivery log
        stays (the row is marked deleted, not removed)."""
        s = m.subscriptions.c
        async with self.engine.begin() as conn:
            await lock_subscriptions(conn, exclusive=True)
            deleted = await conn.execute(
                update(m.subscriptions)
                .where(s.subscription_id == subscription_id, s.deleted_at.is_(None))
                .values(deleted_at=self.clock())
                .returning(s.subscription_id)
            )
            if deleted.first() is None:
                raise NotFound("no such subscription")
            await _cancel_pending(conn, subscription_id)
            log = m.notification_log.c
            await conn.execute(
                delete(m.notification_log).where(log.subscription_id == subscription_id)
            )

    async def rotate_secret(self, subscription_id: UUID) -> str:
        """A new webhook secret, returned once; the deliveries not yet sent are signed with it."""
        secret = secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            sub = await _locked(conn, subscription_id)
            if sub.channel is not Channel.WEBHOOK:
                raise Conflict("an e-mail subscription has no secret")
            await conn.execute(
                update(m.subscriptions)
                .where(m.subscriptions.c.subscription_id == subscription_id)
                .values(secret=secret)
            )
        return secret

    async def retry(self, delivery_id: UUID) -> None:
        """A dead delivery is sent again, at once, with a fresh set of attempts (the same
        delivery id). Only a dead one, and only to a subscription neither paused nor deleted."""
        d, s = m.deliveries.c, m.subscriptions.c
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(d.status, s.paused, s.deleted_at)
                    .join(m.subscriptions, s.subscription_id == d.subscription_id)
                    .where(d.delivery_id == delivery_id)
                    .with_for_update(of=m.deliveries)
                )
            ).one_or_none()
            if row is None:
                raise NotFound("no such delivery")
            if row.status != DeliveryStatus.DEAD:
                raise Conflict(f"only a dead delivery is retried; this one is {row.status}")
            if row.paused or row.deleted_at is not None:
                raise Conflict("its subscription is paused or deleted")
            await conn.execute(
                update(m.deliveries)
                .where(d.delivery_id == delivery_id)
                .values(
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    due_at=func.now(),
                    claimed_by=None,
                    claimed_until=None,
                    updated_at=func.now(),
                )
            )

    async def _check_channel(self, channel: WebhookIn | EmailIn) -> None:
        """A webhook must lead to a public host (422 otherwise)."""
        if isinstance(channel, WebhookIn):
            try:
                await check_webhook_url(channel.url, self.settings)
            except ValueError as exc:
                loc = ("body", "channel", "webhook", "url")  # as pydantic names it
                raise Unprocessable([FieldError(loc, str(exc))]) from exc

    async def _tell_firing(self, conn: AsyncConnection, sub: Subscription) -> None:
        """Queue for `sub` the alerts firing now that it wants and was not told lately."""
        firing = select(m.alerts).where(m.alerts.c.state == AlertState.FIRING.value)
        pending: Pending = defaultdict(list)
        for alert in await conn.execute(firing.order_by(m.alerts.c.started_at)):
            await tell(conn, pending, sub, alert, self.clock())
        await enqueue(conn, pending, self.group_wait)

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
            .where(log.notified_at + repeat <= now, *ACTIVE)
            .with_for_update(of=m.notification_log, skip_locked=True)
        )
        pending: Pending = defaultdict(list)
        async with self.engine.begin() as conn:
            await lock_subscriptions(conn, exclusive=False)
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


def _filters(f: FiltersIn) -> Filters:
    return Filters(
        frozenset(f.sheets),
        frozenset(f.projects),
        frozenset(f.regions),
        frozenset(k.value for k in f.kinds),
        f.min_severity,
    )


def _new_subscription(
    body: SubscriptionIn, owner: UUID | None, created_by: str, now: datetime
) -> Subscription:
    """A new id; a webhook given no secret gets one (the answer shows it, once)."""
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
        _filters(body.filters),
        timedelta(seconds=body.repeat_interval_seconds),
        now,
        created_by=created_by,
    )


def _patched(sub: Subscription, patch: SubscriptionPatch) -> tuple[Subscription, str | None]:
    """`sub` with the patch's fields; and the webhook secret generated, if one was: a webhook
    given no secret keeps the old one, or gets a new one if it was an e-mail."""
    new, generated = sub, None
    if patch.name is not None:
        new = replace(new, name=patch.name)
    if isinstance(patch.channel, WebhookIn):
        secret = patch.channel.secret or sub.secret
        if secret is None:
            secret = generated = secrets.token_urlsafe(32)
        new = replace(new, channel=Channel.WEBHOOK, target=patch.channel.url, secret=secret)
    elif isinstance(patch.channel, EmailIn):
        new = replace(new, channel=Channel.EMAIL, target=patch.channel.address, secret=None)
    if patch.filters is not None:
        new = replace(new, filters=_filters(patch.filters))
    if patch.repeat_interval_seconds is not None:
        new = replace(new, repeat=timedelta(seconds=patch.repeat_interval_seconds))
    if patch.paused is not None:
        new = replace(new, paused=patch.paused)
    return new, generated


async def _locked(conn: AsyncConnection, subscription_id: UUID) -> Subscription:
    """The subscription, its row locked until the transaction ends; NotFound once deleted."""
    s = m.subscriptions.c
    query = select(m.subscriptions).where(s.subscription_id == subscription_id)
    row = (await conn.execute(query.where(s.deleted_at.is_(None)).with_for_update())).first()
    if row is None:
        raise NotFound("no such subscription")
    return Subscription.from_row(row)


async def _cancel_pending(conn: AsyncConnection, subscription_id: UUID) -> None:
    """Its deliveries not yet sent are not sent. One being sent at this moment may still
    arrive; its outcome is then not recorded (its claim no longer matches)."""
    d = m.deliveries.c
    await conn.execute(
        update(m.deliveries)
        .where(d.subscription_id == subscription_id, d.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, claimed_until=None, updated_at=func.now())
    )
