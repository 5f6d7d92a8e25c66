"""B6: one milestone tick over 10,000 projects × 10 milestones.

    python -m bench.milestone_tick [--projects 10000] [--runs 5]

Uses CMA_BENCH_DATABASE_URL (a PostgreSQL server URL; a scratch database is created there)
or an embedded PostgreSQL. Seeds the milestone schema directly (the benchmark measures the
tick, not the intake), then times, on the same data reset between runs:
- a *busy* tick: a third of the milestones are due within the at-risk window and change;
- a *quiet* tick right after it, where nothing changes.
Reports the median of `--runs` runs of each: the wall time, and the CPU the tick cost this
process and its PostgreSQL backend (one pooled connection, so one backend): on a shared
machine the wall time is whatever the other programs leave, the CPU is what the tick costs.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy import delete, insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.support import process_cpu_seconds, scratch_database, summary
from services.milestone import models as m
from services.milestone.domain import Rules
from services.milestone.ticker import Ticker
from services.runtime.db import make_engine

NOW = datetime(2026, 1, 15, tzinfo=UTC)
RULES = Rules(at_risk_days=30, tolerance=0.1, report_grace_days=60)


async def seed(url: str, projects: int) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        ids = [uuid.uuid4() for _ in range(projects)]
        await conn.execute(
            insert(m.projects),
            [
                {
                    "project_id": p,
                    "name": f"Projet {i}",
                    "sheet": "cloud",
                    "regions": ["84"],
                    "start_date": date(2023, 1, 1),
                    "end_date": date(2027, 12, 31),
                    "token_sha256": uuid.uuid4().hex * 2,
                }
                for i, p in enumerate(ids)
            ],
        )
        # Semesters reported: every closed one, so the report check runs but flags nothing.
        await conn.execute(
            insert(m.reported_periods),
            [
                {"project_id": p, "period": period}
                for p in ids
                for period in ("2023-S1", "2023-S2", "2024-S1", "2024-S2", "2025-S1")
            ],
        )
        rows = [
            {
                "project_id": p,
                "milestone_id": f"m{k}",
                "title": f"Jalon {k}",
                "due_date": NOW.date() + timedelta(days=10 * k - 20),
            }  # 3 of 10 in the window
            for p in ids
            for k in range(10)
        ]
        for start in range(0, len(rows), 10_000):
            await conn.execute(insert(m.milestones), rows[start : start + 10_000])
    await engine.dispose()


async def reset(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(update(m.milestones).values(status="pending", transitions=0))
        await conn.execute(delete(m.transitions))
        await conn.execute(delete(m.outbox))
    await engine.dispose()


Timed = tuple[float, float, float]  # wall, this process's CPU, the backend's CPU (seconds)


async def timed_tick(ticker: Ticker, backend: int) -> tuple[int, Timed]:
    wall, cpu, db = time.perf_counter(), time.process_time(), process_cpu_seconds(backend)
    changed = await ticker.tick()
    return changed, (
        time.perf_counter() - wall,
        time.process_time() - cpu,
        process_cpu_seconds(backend) - db,
    )


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("select pg_backend_pid()")) or 0)


async def main(projects: int, runs: int) -> None:
    async with scratch_database() as url:
        await seed(url, projects)
        engine = make_engine(url, pool_size=1)
        backend = await backend_pid(engine)
        ticker = Ticker(engine, lambda: NOW, RULES, CollectorRegistry())
        busy: list[Timed] = []
        quiet: list[Timed] = []
        changed = 0
        for _ in range(runs):
            await reset(url)
            changed, figures = await timed_tick(ticker, backend)
            busy.append(figures)
            nothing, figures = await timed_tick(ticker, backend)
            assert nothing == 0
            quiet.append(figures)
        assert await backend_pid(engine) == backend, "the tick changed connections"
        await engine.dispose()
        print(f"projects={projects} milestones={projects * 10} changed_per_busy_tick={changed}")
        for name, ticks in (("busy tick ", busy), ("quiet tick", quiet)):
            print(summary(name, [t[0] for t in ticks]))
            print(summary(f"{name} CPU: tick", [t[1] for t in ticks]))
            print(summary(f"{name} CPU: PostgreSQL", [t[2] for t in ticks]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.projects, args.runs))
