"""Reading alerting's tables: subscriptions as domain objects, the delivery log, the figures
its metrics export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Row, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.alerting import models as m
from services.alerting.domain import (
    AlertKind,
    AlertState,
    Channel,
    DeliveryStatus,
    Filters,
    Severity,
)
from services.alerting.render import AlertItem


@dataclass(frozen=True)
class Subscription:
    subscription_id: UUID
    name: str
    owner_project_id: UUID | None
    channel: Channel
    target: str  # the webhook's URL or the e-mail address
    secret: str | None
    filters: Filters
    repeat: timedelta
    created_at: datetime
    paused: bool = False
    deleted: bool = False
    created_by: str | None = None  # the creator's label; null before it was recorded

    @classmethod
    def from_row(cls, row: Row[Any]) -> Subscription:
        filters = Filters(
            frozenset(row.sheets),
            frozenset(row.projects),
            frozenset(row.regions),
            frozenset(row.kinds),
            Severity(row.min_severity),
        )
        return cls(
            row.subscription_id,
            row.name,
            row.owner_project_id,
            Channel(row.channel),
            row.target,
            row.secret,
            filters,
            timedelta(seconds=row.repeat_interval_seconds),
            row.created_at,
            row.paused,
            row.deleted_at is not None,
            row.created_by,
        )

    def to_row(self) -> dict[str, Any]:
        f = self.filters
        return {
            "subscription_id": self.subscription_id,
            "name": self.name,
            "owner_project_id": self.owner_project_id,
            "channel": self.channel.value,
            "target": self.target,
            "secret": self.secret,
            "sheets": sorted(f.sheets),
            "projects": sorted(f.projects),
            "regions": sorted(f.regions),
            "kinds": sorted(f.kinds),
            "min_severity": f.min_severity.value,
            "repeat_interval_seconds": int(self.repeat.total_seconds()),
            "created_at": self.created_at,
            "paused": self.paused,
            "created_by": self.created_by,
        }

    def wants(self, alert: Row[Any]) -> bool:
        return self.filters.matches(alert.kind, alert.project_id, alert.sheet, tuple(alert.regions))


@dataclass(frozen=True)
class Delivery:
    """One notification to one subscription, as the delivery log shows it."""

    delivery_id: UUID
    subscription_id: UUID
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    due_at: datetime  # the end of the group wait, then of each retry's backoff
    alerts: list[AlertItem]

    @property
    def next_attempt_at(self) -> datetime | None:
        return self.due_at if self.status is DeliveryStatus.PENDING else None

    @classmethod
    def from_row(cls, row: Row[Any]) -> Delivery:
        return cls(
            delivery_id=row.delivery_id,
            subscription_id=row.subscription_id,
            status=DeliveryStatus(row.status),
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            updated_at=row.updated_at,
            delivered_at=row.delivered_at,
            due_at=row.due_at,
            alerts=row.alerts,
        )


ACTIVE = (m.subscriptions.c.paused.is_(False), m.subscriptions.c.deleted_at.is_(None))
"""The subscriptions that are told anything: neither paused nor deleted."""


async def active_subscriptions(conn: AsyncConnection) -> list[Subscription]:
    query = select(m.subscriptions).where(*ACTIVE).order_by(m.subscriptions.c.created_at)
    return [Subscription.from_row(r) for r in await conn.execute(query)]


@dataclass(frozen=True)
class AlertFilters:
    """`GET /v1/alerts`: None matches everything."""

    status: AlertState | None = None
    kind: AlertKind | None = None
    sheet: str | None = None
    project: UUID | None = None
    region: str | None = None
    severity: Severity | None = None


@dataclass(frozen=True)
class AlertCursor:
    """Where a page of alerts ends: alerts are listed newest `started_at` first."""

    started_at: datetime
    fingerprint: str


class AlertingQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def subscriptions(self, owner: UUID | None = None) -> list[Subscription]:
        """Every subscription not deleted, or those a project created (`owner`)."""
        query = select(m.subscriptions).order_by(m.subscriptions.c.created_at)
        query = query.where(m.subscriptions.c.deleted_at.is_(None))
        if owner is not None:
            query = query.where(m.subscriptions.c.owner_project_id == owner)
        async with self.engine.connect() as conn:
            return [Subscription.from_row(r) for r in await conn.execute(query)]

    async def subscription_ids(self, owner: UUID) -> list[UUID]:
        """The subscriptions a project created, deleted ones included (their log stays)."""
        s = m.subscriptions.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(s.subscription_id).where(s.owner_project_id == owner))
            return list(rows.scalars())

    async def subscription(
        self, subscription_id: UUID, *, deleted: bool = False
    ) -> Subscription | None:
        """The subscription, or None; a deleted one only when `deleted` (its log stays)."""
        query = select(m.subscriptions).where(m.subscriptions.c.subscription_id == subscription_id)
        if not deleted:
            query = query.where(m.subscriptions.c.deleted_at.is_(None))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        return None if row is None else Subscription.from_row(row)

    async def delivery(self, delivery_id: UUID) -> Delivery | None:
        query = select(m.deliveries).where(m.deliveries.c.delivery_id == delivery_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        return None if row is None else Delivery.from_row(row)

    async def alerts(
        self, filters: AlertFilters, since: datetime, limit: int, after: AlertCursor | None
    ) -> list[Row[Any]]:
        """Alerts firing, and those resolved since `since`, newest first, after the cursor."""
        a, f = m.alerts.c, filters
        query = select(m.alerts).where(or_(a.state == AlertState.FIRING, a.resolved_at >= since))
        for column, value in (
            (a.state, f.status),
            (a.kind, f.kind),
            (a.sheet, f.sheet),
            (a.project_id, f.project),
            (a.severity, f.severity),
        ):
            if value is not None:
                query = query.where(column == value)
        if f.region is not None:
            query = query.where(a.regions.contains([f.region]))
        if after is not None:
            query = query.where(
                tuple_(a.started_at, a.fingerprint) < tuple_(after.started_at, after.fingerprint)
            )
        query = query.order_by(a.started_at.desc(), a.fingerprint.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return list(await conn.execute(query))

    async def deliveries(
        self, subscription_ids: list[UUID] | None, status: DeliveryStatus | None, limit: int
    ) -> list[Delivery]:
        """The newest deliveries first, of the given subscriptions (None: of all)."""
        d = m.deliveries.c
        query = select(m.deliveries).order_by(d.created_at.desc(), d.delivery_id).limit(limit)
        if subscription_ids is not None:
            query = query.where(d.subscription_id.in_(subscription_ids))
        if status is not None:
            query = query.where(d.status == status)
        async with self.engine.connect() as conn:
            return [Delivery.from_row(r) for r in await conn.execute(query)]

    async def firing_by_kind_and_sheet(self) -> dict[tuple[AlertKind, str], int]:
        a = m.alerts.c
        query = (
            select(a.kind, a.sheet, func.count())
            .where(a.state == AlertState.FIRING)
            .group_by(a.kind, a.sheet)
        )
        async with self.engine.connect() as conn:
            return {(AlertKind(k), s): int(n) for k, s, n in await conn.execute(query)}

    async def deliveries_by_status(self) -> dict[DeliveryStatus, int]:
        d = m.deliveries.c
        query = select(d.status, func.count()).group_by(d.status)
        async with self.engine.connect() as conn:
            return {DeliveryStatus(s): int(n) for s, n in await conn.execute(query)}
