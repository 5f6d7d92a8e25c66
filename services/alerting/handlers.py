"""Events applied, in the consumer's transaction (so exactly once per event id): a project's
token copy, and each alert change -> the alert's new state -> who is told -> pending
deliveries, which the delivery loop sends."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import ProjectAmended, ProjectEvent, ProjectRegistered
from services.alerting import models as m
from services.alerting.domain import AlertChange, AlertState, alert_changes, next_state
from services.alerting.notifications import Pending, enqueue, lock_subscriptions, tell
from services.alerting.queries import active_subscriptions
from services.runtime.clock import Clock


class AlertingHandlers:
    def __init__(self, clock: Clock, group_wait_seconds: float) -> None:
        self.clock, self.group_wait = clock, timedelta(seconds=group_wait_seconds)

    async def apply_events(self, conn: AsyncConnection, events: list[ProjectEvent]) -> None:
        """The consumer's effect, in its transaction: exactly once per event id."""
        changes: list[AlertChange] = []
        for event in events:
            if isinstance(event, ProjectRegistered):
                await _register(conn, event)
            elif isinstance(event, ProjectAmended):
                await _amend(conn, event)
            changes += alert_changes(event)
        if not changes:
            return
        await lock_subscriptions(conn, exclusive=False)
        subscriptions = await active_subscriptions(conn)
        pending: Pending = defaultdict(list)
        for change in changes:
            alert = await _transition(conn, change)
            if alert is None:
                continue
            for sub in subscriptions:
                await tell(conn, pending, sub, alert, self.clock())
        await enqueue(conn, pending, self.group_wait)


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
        alert: Row[Any] = (await conn.execute(stmt.returning(m.alerts))).one()
    else:
        changed = update(m.alerts).where(a.fingerprint == change.fingerprint).values(values)
        alert = (await conn.execute(changed.returning(m.alerts))).one()
    return alert


async def _register(conn: AsyncConnection, event: ProjectRegistered) -> None:
    p = event.payload
    row = {"project_id": event.project_id, "name": p.name, "sheet": p.sheet}
    row |= {"regions": list(p.regions), "token_sha256": p.api_token_sha256}
    await conn.execute(upsert(m.projects).values(row).on_conflict_do_nothing())


async def _amend(conn: AsyncConnection, event: ProjectAmended) -> None:
    """Subscriptions filter on a project's name and regions as they now stand."""
    p = event.payload
    await conn.execute(
        update(m.projects)
        .where(m.projects.c.project_id == event.project_id)
        .values(name=p.name, regions=list(p.regions))
    )
