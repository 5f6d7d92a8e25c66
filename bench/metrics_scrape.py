"""B7': indicator's `/metrics` served from memory, at `--projects` projects.

    python -m bench.metrics_scrape [--projects 10000] [--scrapes 200] [--rebuilds 3]

Seeds a scratch database (CMA_BENCH_DATABASE_URL's server or an embedded PostgreSQL) with B7's
data (`bench/metrics_seed.py`: projects registered and reported through intake's use cases,
carried through every service's apply functions), builds indicator's app and, in-process
(httpx ASGITransport, no broker):
- times `--rebuilds` rebuilds of the families kept in memory (the database queries, the
  families, their rendering): what each batch applied costs the indicator in the background;
- times `--scrapes` scrapes of `/metrics` as served now (p50, p99);
- times `--rebuilds` scrapes as they were before: the families computed from the database at
  each scrape and rendered with the rest (the naive baseline);
- checks that the families served from memory are byte for byte those computed at scrape time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
from prometheus_client.exposition import generate_latest

from bench.metrics_seed import clock, seed
from bench.support import scratch_database, summary
from contracts.catalog import load_catalog
from services.indicator.app import create_app
from services.indicator.figures import Figures
from services.indicator.metrics import business_families
from services.indicator.queries import IndicatorQueries
from services.runtime.db import make_engine
from services.runtime.metrics import RenderedFamilies, SnapshotCollector
from services.runtime.settings import Settings

SEED_CHUNK = 1_000  # projects carried through the services at a time


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


async def main(projects: int, scrapes: int, rebuilds: int) -> None:
    async with scratch_database() as url:
        engine = make_engine(url)
        started = time.perf_counter()
        for first in range(0, projects, SEED_CHUNK):
            await seed(engine, first, min(projects, first + SEED_CHUNK))
        print(f"seeded {projects} projects in {time.perf_counter() - started:.0f} s", flush=True)

        settings = Settings(database_url=url, kafka_bootstrap="127.0.0.1:9", staff_tokens="x" * 16)
        app = create_app(settings, clock)
        rendered: RenderedFamilies = app.state.business_metrics
        rebuild = []
        for _ in range(rebuilds):
            began = time.perf_counter()
            await rendered.rebuild()
            rebuild.append(time.perf_counter() - began)

        figures = Figures(
            IndicatorQueries(engine), load_catalog(), clock, settings.trajectory_tolerance
        )
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
            for _ in range(rebuilds):  # today's way: computed from the database per scrape
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
        print(summary("rebuild (queries, families, rendering)", rebuild))
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
    args = parser.parse_args()
    asyncio.run(main(args.projects, args.scrapes, args.rebuilds))
