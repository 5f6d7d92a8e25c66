"""B8's national reads, each against what it ran before, on the same database and with the
same answers checked:
- `IndicatorQueries.tallies()` from the kept totals against the GROUP BY over every cell;
- `approvals()` from the share kept per sheet against the join of every cell to `periods` and
  `approved_periods`, and against the join of every period's kept sums to `approved_periods`
  that replaced it before the share was kept;
- the figures of `GET /v1/progress` (`Figures.all_sheets`, which also calls `approvals()`) and
  of `GET /v1/coverage` (`Figures.coverage(None)`) from the tallies kept by the dimensions they
  read (`sheet_totals`, `region_totals`), against the tallies by every dimension;
- then those two routes whole, through an in-process ASGI client (median, p99, max).

    python -m bench.national_reads [--projects 500] [--reads 30] [--full-rows [--served 300]]

Uses CMA_BENCH_DATABASE_URL (a PostgreSQL server URL; a scratch database is created there)
or an embedded PostgreSQL. Registers `--projects` projects and applies 6 reports of 40 cells
each through the indicator's handler (so the totals and the periods' sums are kept as in
service), then times `--reads` reads of each kind, alternated, after one unmeasured read of
each; prints the medians and the ratio of the first to the last. `--full-rows` then replaces
the kept rows with those of the full B8 scale without its 6.4 M cells (56,448 rows in `totals`,
10,000 projects × 14 semesters in `periods`, half of them approved, and the share per sheet
they sum to, and the totals summed further as the handlers keep them) and times the reads of
the kept rows there: the reads over cells have nothing to read then, and are not timed. With
`--served N`, it then serves the indicator on those rows as in production and times `N`
requests of each of the two routes and of `/healthz`, one at a time (p50, p99).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable, Collection
from functools import partial
from uuid import UUID

import httpx
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.indicator_apply import NOW, PERIODS, project_ids, registrations, report_events
from bench.scale import percentile, timed_reads
from bench.support import broker, run_benchmark, scratch_database, service, summary
from contracts.catalog import load_catalog
from contracts.events import parse_event
from services.indicator.api import indicator_router
from services.indicator.domain import DIMENSIONS, Approval, Dimension, Reading, Tally
from services.indicator.figures import Figures
from services.indicator.handlers import make_handler
from services.indicator.queries import IndicatorQueries
from services.runtime.auth import BOOTSTRAP_STAFF, Caller
from services.runtime.db import make_engine

# What `IndicatorQueries.tallies` ran at each national read before the kept totals.
GROUP_BY = text("""
    select p.sheet, c.kind, c.level, c.region, c.sex, c.audience, c.period,
        sum(c.count)::bigint
    from indicator.cells c join indicator.projects p on c.project_id = p.project_id
    where p.active
    group by p.sheet, c.kind, c.level, c.region, c.sex, c.audience, c.period""")

# What `IndicatorQueries.approvals` ran before the periods' kept sums.
CELLS_JOINED = text("""
    select p.sheet, coalesce(sum(c.count) filter (where a.revision = r.revision), 0),
        sum(c.count)
    from indicator.cells c join indicator.projects p on c.project_id = p.project_id
    join indicator.periods r on r.project_id = c.project_id and r.period = c.period
    left join indicator.approved_periods a
        on a.project_id = c.project_id and a.period = c.period
    where p.active
    group by p.sheet""")

# What `IndicatorQueries.approvals` ran before the share was kept per sheet.
PERIODS_JOINED = text("""
    select p.sheet, coalesce(sum(r.people) filter (where a.revision = r.revision), 0),
        sum(r.people)
    from indicator.periods r join indicator.projects p on p.project_id = r.project_id
    left join indicator.approved_periods a
        on a.project_id = r.project_id and a.period = r.period
    where p.active
    group by p.sheet
    having sum(r.cells) > 0""")

# The full scale's kept rows: 7 sheets × 2 kinds × 8 levels × 18 regions × 2 sexes × 14
# semesters (the 56,448 groups of B8's 1,000-project run), and 10,000 projects × 14 semesters.
SEMESTERS = [f"{y}-S{s}" for y in range(2024, 2031) for s in (1, 2)]
FULL_ROWS = [
    "truncate indicator.totals, indicator.periods, indicator.approved_periods,"
    " indicator.sheet_approvals, indicator.sheet_totals, indicator.region_totals",
    """insert into indicator.totals
        select s, k, l, r, x, '', p, abs(hashtext(s || k || l || r || x || p)) % 1000, 1
        from unnest(cast(:sheets as text[])) s, unnest(array['trained', 'sensitised']) k,
            unnest(cast(:levels as text[])) l, unnest(cast(:regions as text[])) r,
            unnest(array['F', 'M']) x, unnest(cast(:periods as text[])) p""",
    """insert into indicator.projects (project_id, sheet, wave, name, lead, regions,
            start_date, end_date, commitments, token_sha256)
        select gen_random_uuid(), (cast(:sheets as text[]))[1 + i % 7], 'w', 'P' || i, 'L',
            array[(cast(:regions as text[]))[1 + i % 18]], '2024-01-01', '2030-12-31', '[]',
            md5(i::text) || md5(i::text)
        from generate_series(1, 10000 - (select count(*) from indicator.projects)) i""",
    """insert into indicator.periods
        select project_id, p, 1, gen_random_uuid(), now(), abs(hashtext(project_id || p)) % 5000,
            40
        from indicator.projects, unnest(cast(:periods as text[])) p""",
    """insert into indicator.approved_periods
        select project_id, period, 1, report_id, now() from indicator.periods
        where hashtext(project_id || period) % 2 = 0""",
    # The totals summed further, as the handlers keep them (migration 0012's backfill).
    """insert into indicator.sheet_totals
        select sheet, kind, level, audience, period, sum(count), sum(cells)
        from indicator.totals group by sheet, kind, level, audience, period""",
    """insert into indicator.region_totals
        select sheet, region, sum(count), sum(cells)
        from indicator.totals group by sheet, region""",
    """insert into indicator.sheet_approvals
        select p.sheet, sum(r.people),
            coalesce(sum(r.people) filter (where a.revision = r.revision), 0), sum(r.cells)
        from indicator.periods r join indicator.projects p on p.project_id = r.project_id
        left join indicator.approved_periods a
            on a.project_id = r.project_id and a.period = r.period
        group by p.sheet""",
]


class EveryDimension(IndicatorQueries):
    """Tallies by every dimension whatever a read asks: what the figures read before."""

    async def tallies(
        self,
        *,
        sheet: str | None = None,
        project_id: UUID | None = None,
        reading: Reading = Reading.AS_REPORTED,
        by: Collection[Dimension] = DIMENSIONS,
    ) -> list[Tally]:
        return await super().tallies(sheet=sheet, project_id=project_id, reading=reading)


Read = Callable[[], Awaitable[object]]


async def timed(reads: dict[str, Read], times: int) -> dict[str, list[float]]:
    """Each read once unmeasured, then `times` rounds of each, alternated; in ms."""
    runs: dict[str, list[float]] = {name: [] for name in reads}
    for read in reads.values():
        await read()
    for _ in range(times):
        for name, read in reads.items():
            started = time.perf_counter()
            await read()
            runs[name].append((time.perf_counter() - started) * 1000)
    return runs


def report(runs: dict[str, list[float]], ratio: bool = True) -> None:
    """Each read's runs; with `ratio`, the first's median over the last's."""
    for name, times in runs.items():
        print(summary(f"  {name:<38}", times, "ms"))
    if ratio:
        before, *_, after = runs
        print(f"  ratio {statistics.median(runs[before]) / statistics.median(runs[after]):.1f}x")


async def same(name: str, before: Read, after: Read) -> None:
    if await before() != await after():
        raise SystemExit(f"{name}: the new read answers differently")


async def compare(engine: AsyncEngine, reads: int, over_cells: bool) -> None:
    """The reads of the kept rows (and, `over_cells`, those over every cell they replace)."""
    queries, catalog, clock = IndicatorQueries(engine), load_catalog(), lambda: NOW
    reduced = Figures(queries, catalog, clock, 0.1)
    full = Figures(EveryDimension(engine), catalog, clock, 0.1)

    def key(t: Tally) -> tuple[object, ...]:
        return (t.sheet, t.kind, t.level, t.region, t.sex, t.audience, t.period)

    async def grouped() -> list[Tally]:
        async with engine.connect() as conn:
            return sorted((Tally(*r) for r in await conn.execute(GROUP_BY)), key=key)

    async def kept() -> list[Tally]:
        return sorted(await queries.tallies(), key=key)

    async def joined() -> dict[str, Approval]:
        async with engine.connect() as conn:
            rows = await conn.execute(CELLS_JOINED)
            return {s: Approval(int(yes), int(every)) for s, yes, every in rows}

    async def periods_joined() -> dict[str, Approval]:
        async with engine.connect() as conn:
            rows = await conn.execute(PERIODS_JOINED)
            return {s: Approval(int(yes), int(every)) for s, yes, every in rows}

    async def sums() -> dict[str, Approval]:
        return await queries.approvals()

    approval_reads: dict[str, Read] = {"periods joined": periods_joined, "kept per sheet": sums}

    progress_reads: dict[str, Read] = {
        "progress, tallies by every dimension": full.all_sheets,
        "progress, tallies by SHEET_BY": reduced.all_sheets,
    }
    coverage_reads: dict[str, Read] = {
        "coverage, tallies by every dimension": lambda: full.coverage(None),
        "coverage, tallies by COVERAGE_BY": lambda: reduced.coverage(None),
    }
    await same("all_sheets", *progress_reads.values())
    await same("coverage", *coverage_reads.values())
    await same("approvals", periods_joined, sums)
    if over_cells:
        await same("tallies", grouped, kept)
        await same("approvals", joined, sums)
        print("same_tallies=yes same_approvals=yes same_figures=yes")
        print("national tallies():")
        report(await timed({"group by over cells": grouped, "kept totals": kept}, reads))
        approval_reads = {"cells joined": joined, **approval_reads}
    else:
        print("same_approvals=yes same_figures=yes")
        print("national tallies():")
        report(await timed({"kept totals": kept}, reads), False)
    print("approvals():")
    report(await timed(approval_reads, reads))
    for name, pair in (("GET /v1/progress", progress_reads), ("GET /v1/coverage", coverage_reads)):
        print(f"{name}'s figures:")
        report(await timed(pair, reads))
    await through_http(reduced, reads)


async def through_http(figures: Figures, reads: int) -> None:
    """The two routes whole (the indicator's router: validation, the response model, JSON),
    through an in-process ASGI client: what HTTP adds to the figures, without the network,
    the server or the service's other work (the full B8 run measures those)."""
    app = FastAPI()

    async def staff(request: Request) -> Caller:
        return BOOTSTRAP_STAFF

    app.include_router(indicator_router(figures, staff))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        def get(path: str) -> Read:
            async def read() -> None:
                (await client.get(path)).raise_for_status()

            return read

        runs = await timed({p: get(p) for p in ("/v1/progress", "/v1/coverage")}, reads)
    print("through HTTP (in-process ASGI client):")
    for name, times in runs.items():
        ranked = sorted(times)
        p99 = ranked[min(len(ranked) - 1, round(0.99 * (len(ranked) - 1)))]
        print(
            f"  GET {name:<34} median {statistics.median(times):.2f} ms"
            f"  p99 {p99:.2f} ms  max {ranked[-1]:.2f} ms"
        )


async def served(url: str, reads: int) -> None:
    """`GET /healthz`, `/v1/progress` and `/v1/coverage` from the indicator served as in
    production (`cma serve indicator`, its own process, with its broker: CMA_KAFKA_BOOTSTRAP's
    or an embedded one), one request at a time, `reads` each after 3 unmeasured: as B8's full
    run reads them (bench/scale.py), on these rows without their cells."""
    token = secrets.token_urlsafe(24)
    limits = {"rate_limit_per_minute": "600000", "rate_limit_burst": "10000"}
    with broker() as bootstrap:
        settings = {"database_url": url, "kafka_bootstrap": bootstrap, "staff_tokens": token}
        with service("indicator", **settings, **limits) as (_, base):
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
                print("served (cma serve indicator, one request at a time):")
                for path in ("/healthz", "/v1/progress", "/v1/coverage"):
                    seconds = await timed_reads(client, partial(_same, path), reads, 600)
                    ms = [s * 1000 for s in seconds]
                    print(
                        f"  GET {path:<34} p50 {percentile(ms, 0.5):.1f} ms"
                        f"  p99 {percentile(ms, 0.99):.1f} ms  max {max(ms):.0f} ms  ({len(ms)})"
                    )


def _same(path: str, _: int) -> str:
    return path


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(text(f"select count(*) from indicator.{table}"))).scalar_one()
        )


async def main(projects: int, reads: int, full_rows: bool = False, served_reads: int = 0) -> None:
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
        cells, rows = await count(engine, "cells"), await count(engine, "totals")
        print(f"projects={projects} cells={cells} totals_rows={rows} reads={reads}")
        await compare(engine, reads, over_cells=True)
        if full_rows:
            catalog = load_catalog()
            params = {
                "sheets": list(catalog.sheets),
                "levels": list(catalog.levels),
                "regions": list(catalog.regions),
                "periods": SEMESTERS,
            }
            async with engine.begin() as conn:
                for statement in FULL_ROWS:
                    await conn.execute(text(statement), params)
                await conn.execute(text("analyze"))
            rows, periods = await count(engine, "totals"), await count(engine, "periods")
            print(f"full rows: totals_rows={rows} periods_rows={periods} (no cells read)")
            await compare(engine, reads, over_cells=False)
            if served_reads:
                await served(url, served_reads)
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--reads", type=int, default=30)
    parser.add_argument("--full-rows", action="store_true")
    parser.add_argument("--served", type=int, default=0, metavar="READS")
    args = parser.parse_args()
    run_benchmark(main(args.projects, args.reads, args.full_rows, args.served))
