"""B8's national reads: `IndicatorQueries.tallies` from the kept totals against the GROUP BY
over every cell it ran before, on the same database.

    python -m bench.national_reads [--projects 500] [--reads 30]

Uses CMA_BENCH_DATABASE_URL (a PostgreSQL server URL; a scratch database is created there)
or an embedded PostgreSQL. Registers `--projects` projects and applies 6 reports of 40 cells
each through the indicator's handler (so the totals are kept as in service), then times
`--reads` national reads of each kind, alternated, after one unmeasured read of each; checks
that both answer the same tallies and prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from bench.indicator_apply import NOW, PERIODS, project_ids, registrations, report_events
from bench.support import scratch_database, summary
from contracts.events import parse_event
from services.indicator.domain import Tally
from services.indicator.handlers import make_handler
from services.indicator.queries import IndicatorQueries
from services.runtime.db import make_engine

# What `IndicatorQueries.tallies` ran at each national read before the kept totals.
GROUP_BY = text("""
    select p.sheet, c.kind, c.level, c.region, c.sex, c.audience, c.period,
        sum(c.count)::bigint
    from indicator.cells c join indicator.projects p on c.project_id = p.project_id
    where p.active
    group by p.sheet, c.kind, c.level, c.region, c.sex, c.audience, c.period""")


async def main(projects: int, reads: int) -> None:
    async with scratch_database() as url:
        engine = make_engine(url)
        apply = make_handler(lambda: NOW)
        ids = project_ids(projects)
        reports = [parse_event(v) for _, v in report_events(ids, projects * len(PERIODS))]
        async with engine.begin() as conn:
            await apply(conn, [parse_event(v) for v in registrations(ids)])  # type: ignore[misc]
        for start in range(0, len(reports), 500):
            async with engine.begin() as conn:
                await apply(conn, reports[start : start + 500])  # type: ignore[arg-type]
        queries = IndicatorQueries(engine)

        async def grouped() -> list[Tally]:
            async with engine.connect() as conn:
                rows = await conn.execute(GROUP_BY)
                return [Tally(*r) for r in rows]

        async def kept() -> list[Tally]:
            return await queries.tallies()

        def key(t: Tally) -> tuple[object, ...]:
            return (t.sheet, t.kind, t.level, t.region, t.sex, t.audience, t.period)

        if sorted(await grouped(), key=key) != sorted(await kept(), key=key):
            raise SystemExit("the kept totals differ from the GROUP BY over cells")
        times: dict[str, list[float]] = {"group by": [], "kept": []}
        reads_of: dict[str, Callable[[], Awaitable[list[Tally]]]] = {
            "group by": grouped,
            "kept": kept,
        }
        for _ in range(reads):
            for name, read in reads_of.items():
                started = time.perf_counter()
                await read()
                times[name].append((time.perf_counter() - started) * 1000)
        async with engine.connect() as conn:
            cells = (await conn.execute(text("select count(*) from indicator.cells"))).scalar()
            rows = (await conn.execute(text("select count(*) from indicator.totals"))).scalar()
        await engine.dispose()
    print(f"projects={projects} cells={cells} totals_rows={rows} reads={reads} same_tallies=yes")
    print(summary("group by over cells", times["group by"], "ms"))
    print(summary("kept totals        ", times["kept"], "ms"))
    ratio = statistics.median(times["group by"]) / statistics.median(times["kept"])
    print(f"ratio group-by/kept {ratio:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--reads", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.projects, args.reads))
