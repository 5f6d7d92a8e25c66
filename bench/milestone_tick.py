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
The busy tick's CPU is also split by step (`Steps`), both sides.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock

from prometheus_client import CollectorRegistry
from sqlalchemy import delete, insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.support import process_cpu_seconds, run_benchmark, scratch_database, summary
from services.milestone import models as m
from services.milestone import ticker as ticker_module
from services.milestone import transitions
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
CPU = tuple[float, float]  # this process's CPU, the backend's CPU (seconds)

# The functions a tick calls, timed by `Steps`: (module, attribute, step).
STEPS = (
    (ticker_module, "evaluate_milestones", "milestones"),
    (transitions, "_compare_and_set", "statuses + transition rows (statement)"),
    (transitions, "status_changed_events", "events built"),
    (transitions, "enqueue_encoded", "events to the outbox (COPY)"),
    (ticker_module, "evaluate_reports", "overdue reports"),
)
INNER = [name for _, _, name in STEPS[1:4]]  # parts of "milestones"


class Steps:
    """The CPU each step of a tick costs this process and the backend, by wrapping the
    functions of `STEPS` (the backend's figure comes from /proc, to a hundredth of a second
    per call). The benchmark's instrument: the service is not touched."""

    def __init__(self, backend: int) -> None:
        self.backend = backend
        self.spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])

    @contextlib.contextmanager
    def timing(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for module, attribute, name in STEPS:
                wrapped = self._wrap(getattr(module, attribute), name)
                stack.enter_context(mock.patch.object(module, attribute, wrapped))
            yield

    def _wrap(self, function: Callable[..., Any], name: str) -> Callable[..., Any]:
        def start() -> CPU:
            return time.process_time(), process_cpu_seconds(self.backend)

        def stop(started: CPU) -> None:
            spent = self.spent[name]
            spent[0] += time.process_time() - started[0]
            spent[1] += process_cpu_seconds(self.backend) - started[1]

        if inspect.iscoroutinefunction(function):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = start()
                try:
                    return await function(*args, **kwargs)
                finally:
                    stop(started)

            return timed_async

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = start()
            try:
                return function(*args, **kwargs)
            finally:
                stop(started)

        return timed

    def of_tick(self, tick: Timed) -> dict[str, CPU]:
        """Every step's CPU in one tick (`tick` its totals), the untimed parts by difference."""
        spent = {name: (cpu, db) for name, (cpu, db) in self.spent.items()}
        zero = (0.0, 0.0)
        milestones, reports = spent.get("milestones", zero), spent.get("overdue reports", zero)
        inner = [spent.get(name, zero) for name in INNER]
        steps = {
            "read + evaluation": (
                milestones[0] - sum(c for c, _ in inner),
                milestones[1] - sum(d for _, d in inner),
            ),
            **{name: spent.get(name, zero) for name in INNER},
            "overdue reports": reports,
            "transactions, rest": (
                tick[1] - milestones[0] - reports[0],
                tick[2] - milestones[1] - reports[1],
            ),
        }
        self.spent.clear()
        return steps


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
        busy_steps: list[dict[str, CPU]] = []
        steps = Steps(backend)
        changed = 0
        for _ in range(runs):
            await reset(url)
            with steps.timing():
                changed, figures = await timed_tick(ticker, backend)
            busy.append(figures)
            busy_steps.append(steps.of_tick(figures))
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
        for step in busy_steps[0]:
            cpu = statistics.median(s[step][0] for s in busy_steps)
            db = statistics.median(s[step][1] for s in busy_steps)
            print(f"busy tick step {step:<40} CPU median: tick {cpu:.2f} s  PostgreSQL {db:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    run_benchmark(main(args.projects, args.runs))
