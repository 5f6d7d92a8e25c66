"""B7: the series each service's `/metrics` exports, with 1,000 projects registered.

    python -m bench.metrics_series [--projects 1000] [--sizes 100,300] [--scrapes 5]

Uses CMA_BENCH_DATABASE_URL (a PostgreSQL server URL; a scratch database is created there)
or an embedded PostgreSQL. Registers projects through intake and carries their events through
every service (bench/metrics_seed.py), growing one database to each size in turn; at each
size builds the four apps with `create_app` and scrapes `/metrics` in-process (no broker: the
per-instance processing families show their zero-initialised series). Prints per service the
series at each size, per family its slope per project, the documented formula's value
(docs/metrics.md, "Series count") beside the measure, the flags (a family crossing projects
with a catalog dimension, or growing faster than linearly), and the median scrape time at the
largest size.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from bench import metrics_seed
from bench.metrics_formula import PER_PROJECT_FAMILIES, catalog_bounds, per_project, terms
from bench.support import run_benchmark, scratch_database, summary
from services.runtime.db import make_engine
from services.runtime.registry import NAMES, SERVICES
from services.runtime.settings import Settings

CATALOG_LABELS = {"level", "region", "sex", "audience"}
SUPERLINEAR = 1.1  # series per project at the largest size over that at the smallest


@dataclass
class Size:
    projects: int
    terms: dict[str, int]  # the formula's variables, counted in the database
    series: dict[str, dict[str, int]] = field(default_factory=dict)  # service -> family -> n
    labels: dict[str, set[str]] = field(default_factory=dict)  # family -> label names
    scrape_seconds: dict[str, list[float]] = field(default_factory=dict)


def count(exposition: str, labels: dict[str, set[str]]) -> dict[str, int]:
    """Series per family (a histogram's buckets, sum and count are series each)."""
    series: dict[str, int] = {}
    for family in text_string_to_metric_families(exposition):
        series[family.name] = len(family.samples)
        for sample in family.samples:
            labels.setdefault(family.name, set()).update(set(sample.labels) - {"le"})
    return series


async def scrape(app: FastAPI, times: int) -> tuple[str, list[float]]:
    transport = httpx.ASGITransport(app=app)
    seconds, text = [], ""
    async with (
        app.router.lifespan_context(app),  # disposes the engine; Kafka is never reached
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        for _ in range(times):
            started = time.perf_counter()
            response = await client.get("/metrics")
            seconds.append(time.perf_counter() - started)
            response.raise_for_status()
            text = response.text
    return text, seconds


async def measure(url: str, sizes: list[int], scrapes: int) -> list[Size]:
    settings = Settings(database_url=url, kafka_bootstrap="127.0.0.1:1", environment="test")
    engine, measured, done = make_engine(url), [], 0
    try:
        for n in sizes:
            await metrics_seed.seed(engine, done, n)
            done = n
            size = Size(n, await terms(engine))
            for spec in SERVICES:
                app = spec.create_app(settings, metrics_seed.clock)
                text, size.scrape_seconds[spec.name] = await scrape(app, scrapes)
                size.series[spec.name] = count(text, size.labels)
            measured.append(size)
    finally:
        await engine.dispose()
    return measured


def flags(counts: list[int], sizes: list[int], labels: set[str], bound: int | None) -> list[str]:
    """What breaks the formula: a project crossed with a catalog dimension, growth faster than
    linear (of a family not bounded by the catalog), a catalog-bounded family over its bound, or
    another family that grows at all."""
    found, crossed = [], labels & CATALOG_LABELS
    if "project_id" in labels and crossed:
        found.append(f"CROSSES projects × {'×'.join(sorted(crossed))}")
    # A catalog-bounded family fills up toward its bound as data arrives (a forecast appears
    # once a target has two reported semesters): its bound, not its slope, is what holds.
    if bound is None and counts[0] and counts[-1] / sizes[-1] > SUPERLINEAR * counts[0] / sizes[0]:
        found.append("SUPERLINEAR")
    if bound is not None and counts[-1] > bound:
        found.append(f"OVER its bound {bound}")
    if bound is None and "project_id" not in labels and len(set(counts)) > 1:
        found.append("GROWS without a project label or a catalog bound")
    return found


def report(measured: list[Size]) -> list[str]:
    """Prints the tables; returns what breaks the formula (empty when it holds)."""
    sizes, last, raised = [s.projects for s in measured], measured[-1], []
    bounds = catalog_bounds(last.terms["semesters"])
    print(f"B7 /metrics series; projects registered: {sizes}")
    for s in measured:
        print(f"  terms at {s.projects}: {s.terms}")
    for service in NAMES:
        totals = [sum(s.series[service].values()) for s in measured]
        exact = [per_project(service, s.terms) for s in measured]
        got = [
            sum(n for f, n in s.series[service].items() if f in PER_PROJECT_FAMILIES)
            for s in measured
        ]
        constant = [t - g for t, g in zip(totals, got, strict=True)]
        print(f"\n{service}: series {totals} = constant part {constant} + per-project {got}")
        print(f"  per-project part by the formula {exact}")
        print(summary(f"  scrape at {sizes[-1]} projects", last.scrape_seconds[service]))
        print(f"  {'family':56} " + " ".join(f"{n:>6}" for n in sizes) + "  slope  bound  flags")
        for family in sorted(last.series[service]):
            counts = [s.series[service].get(family, 0) for s in measured]
            if not any(counts):
                continue  # declared, no sample yet (FastStream's before any message)
            slope = (counts[-1] - counts[0]) / max(1, sizes[-1] - sizes[0])
            bound = bounds.get(family)
            found = flags(counts, sizes, last.labels.get(family, set()), bound)
            raised += [f"{service} {family}: {f}" for f in found]
            cells = " ".join(f"{n:>6}" for n in counts)
            shown = "" if bound is None else bound
            print(f"  {family:56} {cells} {slope:6.3f} {shown:>6}  {' '.join(found)}")
        if got != exact:
            raised.append(f"{service}: per-project series {got} != formula {exact}")
    print("\nbroken: " + ("; ".join(raised) if raised else "nothing, the formula holds"))
    return raised


async def main(projects: int, sizes: tuple[int, ...], scrapes: int) -> list[Size]:
    quiet = [logging.getLogger(name) for name in ("services.runtime.broker", "aiokafka")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:  # the apps' lifespans look for Kafka, which this benchmark never runs
        logger.setLevel(logging.CRITICAL)
    try:
        async with scratch_database() as url:
            measured = await measure(url, sorted({*sizes, projects}), scrapes)
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
    report(measured)
    return measured


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1_000)
    parser.add_argument("--sizes", default="100,300", help="smaller sizes, comma-separated")
    parser.add_argument("--scrapes", type=int, default=5)
    args = parser.parse_args()
    extra = tuple(int(n) for n in args.sizes.split(",") if n)
    run_benchmark(main(args.projects, extra, args.scrapes))
