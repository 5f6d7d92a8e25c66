"""B7': indicator's `/metrics` served from memory, at `--projects` projects.

    python -m bench.metrics_scrape [--projects 10000] [--scrapes 200] [--rebuilds 3]
        [--touched 1,100]

Seeds a scratch database (CMA_BENCH_DATABASE_URL's server or an embedded PostgreSQL) with B7's
data (`bench/metrics_seed.py`: projects registered and reported through intake's use cases,
carried through every service's apply functions), builds indicator's app and, in-process
(httpx ASGITransport, no broker):
- times `--rebuilds` full rebuilds of the families kept in memory (every project's figures
  and the national ones from the database, rendered): what a replica does at start and when
  the date changes;
- for each N of `--touched` (and 0), `--rebuilds` times: a report for N projects applied as
  one of indicator's batches, then times the rebuild it triggers (those N projects recomputed
  and the page assembled: when they show), the ratio full ÷ incremental, and the rebuild of
  the national families that their own loop runs after it;
- times `--rebuilds` sweeps (the projects' fingerprints read every 15 s to find other
  replicas' batches);
- times `--scrapes` scrapes of `/metrics` as served now (p50, p99);
- times `--rebuilds` scrapes as they were before: the families computed from the database at
  each scrape and rendered with the rest (the naive baseline);
- checks that the families served from memory, after the incremental rebuilds, are byte for
  byte those computed at scrape time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import httpx
from prometheus_client.exposition import generate_latest
from sqlalchemy import text

from bench.metrics_seed import carry_to_indicator, clock, report_again, seed
from bench.support import run_benchmark, scratch_database, summary
from services.indicator.app import create_app
from services.indicator.metrics import business_families
from services.indicator.rendered import BusinessText
from services.runtime.db import make_engine
from services.runtime.metrics import RenderedFamilies, SnapshotCollector
from services.runtime.settings import Settings

SEED_CHUNK = 1_000  # projects carried through the services at a time


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


async def main(projects: int, scrapes: int, rebuilds: int, touched: Sequence[int] = ()) -> None:
    async with scratch_database() as url:
        engine = make_engine(url)
        started = time.perf_counter()
        for first in range(0, projects, SEED_CHUNK):
            await seed(engine, first, min(projects, first + SEED_CHUNK))
        print(f"seeded {projects} projects in {time.perf_counter() - started:.0f} s", flush=True)
        async with engine.begin() as conn:
            # The planner's statistics, as autovacuum would have them by now: fresh from the
            # seed, the aggregations sort on disk (a tenth of the speed at 3,000 projects).
            await conn.execute(text("analyze"))

        settings = Settings(database_url=url, kafka_bootstrap="127.0.0.1:9", staff_tokens="x" * 16)
        app = create_app(settings, clock)
        rendered: RenderedFamilies = app.state.business_metrics
        kept: BusinessText = app.state.business_text
        figures = kept.figures
        await rendered.rebuild()  # the first: every project

        full = []
        for _ in range(rebuilds):  # what a replica that starts does
            began = time.perf_counter()
            await BusinessText(figures, settings.metrics_national_pause_seconds).render(set())
            full.append(time.perf_counter() - began)
        print(summary("full rebuild (queries, families, rendering)", full), flush=True)

        more, national = 0, []
        for n in (0, *touched):
            incremental = []
            for _ in range(rebuilds):
                more += 1
                await report_again(engine, range(min(n, projects)), more)
                rendered.touch(await carry_to_indicator(engine))
                began = time.perf_counter()
                await rendered.rebuild()  # the batch's projects show
                incremental.append(time.perf_counter() - began)
                assert not kept.full and kept.recomputed == min(n, projects), kept.recomputed
                began = time.perf_counter()
                await kept.refresh_national()  # then their loop brings the national families
                national.append(time.perf_counter() - began)
                await rendered.rebuild()  # and the page is assembled again
            ratio = statistics.median(full) / statistics.median(incremental)
            label = f"rebuild after a batch touching {n} projects"
            print(f"{summary(label, [t * 1000 for t in incremental], 'ms')}  full ÷ it {ratio:.1f}")
        print(summary("national families (their own loop)", national))

        sweep = []
        for _ in range(rebuilds):
            began = time.perf_counter()
            await figures.queries.fingerprints()
            sweep.append(time.perf_counter() - began)
        print(summary("sweep (fingerprints, every 15 s)", [t * 1000 for t in sweep], "ms"))

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            served, before = [], []
            page = (await client.get("/metrics")).raise_for_status().content  # warm: routes
            cpu = time.process_time()
            for _ in range(scrapes):
                began = time.perf_counter()
                page = (await client.get("/metrics")).raise_for_status().content
                served.append(time.perf_counter() - began)
            cpu = (time.process_time() - cpu) / scrapes
            for _ in range(rebuilds):  # the former way: computed from the database per scrape
                began = time.perf_counter()
                snapshot = SnapshotCollector()
                snapshot.families = await business_families(figures)
                computed = generate_latest(snapshot)
                before.append(time.perf_counter() - began)
        await engine.dispose()
        await app.state.broker.stop()

        assert page.endswith(computed), "families served from memory differ from computed"
        series = sum(1 for line in computed.splitlines() if line and not line.startswith(b"#"))
        print(f"projects={projects} business series={series} identical=yes")
        print(summary("computed at scrape (before)", before))
        print(
            f"scrape served from memory: p50 {statistics.median(served) * 1000:.1f} ms  "
            f"p99 {p99(served) * 1000:.1f} ms  max {max(served) * 1000:.1f} ms  "
            f"({scrapes} scrapes); CPU per scrape {cpu * 1000:.1f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--rebuilds", type=int, default=3)
    parser.add_argument(
        "--touched", default="1,100", help="projects changed by the batch before a rebuild"
    )
    args = parser.parse_args()
    touched = [int(n) for n in args.touched.split(",") if n]
    run_benchmark(main(args.projects, args.scrapes, args.rebuilds, touched))
