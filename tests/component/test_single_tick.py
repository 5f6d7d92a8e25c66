"""One milestone replica ticks at a time: the holder of the `milestone-tick` lease. The others
stand by, and one takes over once the holder stops."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry

from services.milestone.domain import Rules
from services.milestone.models import leases
from services.milestone.ticker import Ticker
from services.runtime.clock import Clock
from services.runtime.db import make_engine
from services.runtime.leases import Lease
from tests.support.waiting import eventually

PERIOD = 0.2
RULES = Rules(at_risk_days=30, tolerance=0.1, report_grace_days=60)


def ticks(registry: CollectorRegistry) -> Callable[[], Awaitable[float]]:
    async def count() -> float:
        return registry.get_sample_value("cma_milestone_tick_seconds_count") or 0.0

    return count


async def test_only_the_lease_holder_ticks_and_a_standby_takes_over_when_it_stops(
    clean_database: str, clock: Clock
) -> None:
    engine = make_engine(clean_database)
    registries = [CollectorRegistry(), CollectorRegistry()]
    runs = [
        asyncio.create_task(
            Ticker(engine, clock, RULES, registry).run(
                PERIOD, Lease(engine, leases, "milestone-tick", f"replica-{i}", 3 * PERIOD)
            )
        )
        for i, registry in enumerate(registries)
    ]
    try:
        counts = [ticks(r) for r in registries]

        async def both() -> list[float]:
            return [await count() for count in counts]

        seen = await eventually(both, lambda c: sum(c) >= 5)
        assert sorted(c > 0 for c in seen) == [False, True], f"both replicas ticked: {seen}"
        holder, standby = (0, 1) if seen[0] else (1, 0)
        runs[holder].cancel()  # a clean stop hands the lease back
        await asyncio.gather(runs[holder], return_exceptions=True)
        before = await counts[standby]()
        await eventually(counts[standby], lambda n: n > before + 2)
    finally:
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        await engine.dispose()
