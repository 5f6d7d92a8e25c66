"""The periodic evaluation: dates move even when no data arrives. One replica ticks at a time
(the holder of the `milestone-tick` lease): a tick evaluates every open milestone, so N
replicas ticking would do the work N times. Two ticks that do race are still safe: a status
moves by compare-and-set and event ids derive from the transition."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from prometheus_client import CollectorRegistry, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine

from services.milestone.domain import Rules
from services.milestone.overdue_reports import evaluate_reports
from services.milestone.transitions import evaluate_milestones
from services.runtime.clock import Clock
from services.runtime.leases import Lease

log = logging.getLogger(__name__)


class Ticker:
    def __init__(
        self, engine: AsyncEngine, clock: Clock, rules: Rules, registry: CollectorRegistry
    ) -> None:
        self.engine, self.clock, self.rules = engine, clock, rules
        self.seconds = Histogram(
            "cma_milestone_tick_seconds",
            "Time to evaluate every open milestone and report deadline.",
            registry=registry,
        )

    async def tick(self) -> int:
        """One evaluation at the clock's time; returns how many statuses changed. Only
        pending or at-risk milestones due within the at-risk window can change with the date
        alone (an overdue one waits for data or a reschedule, which evaluate it then)."""
        started, now = time.perf_counter(), self.clock()
        horizon = now.date() + timedelta(days=self.rules.at_risk_days)
        async with self.engine.begin() as conn:
            changed = await evaluate_milestones(conn, now, self.rules, due_by=horizon)
        async with self.engine.begin() as conn:
            changed += await evaluate_reports(conn, now, self.rules)
        self.seconds.observe(time.perf_counter() - started)
        return changed

    async def run(self, every_seconds: float, lease: Lease) -> None:
        """Ticks every `every_seconds` while holding `lease` (the others stand by and take
        over once it lapses); a clean stop hands it back at once."""
        try:
            while True:
                try:
                    if await lease.hold():
                        await self.tick()
                except Exception:  # the database may be away: the next tick tries again
                    log.exception("milestone tick failed")
                await asyncio.sleep(every_seconds)
        finally:
            with contextlib.suppress(Exception):
                await lease.release()
