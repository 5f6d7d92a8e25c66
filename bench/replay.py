"""B5: rebuild the indicator by replay: 1,000,000 cells (25,000 reports × 40) into empty tables.

    python -m bench.replay [--projects 1000] [--reports 25000] [--runs 3] [--baseline-seconds 20]

Uses CMA_BENCH_DATABASE_URL (or an embedded PostgreSQL) and CMA_KAFKA_BOOTSTRAP (an empty
broker; by default an embedded `tansu` started for the benchmark). Puts the registrations and
the reports on their topics, lets the indicator (its app, without HTTP: consumers and outbox
relay) apply them live and takes an ordered hash of its cells, periods and totals. Each run
then does what `cma replay indicator` does (rewind its consumer groups, drop and migrate its
schema), starts the indicator again and times it until it has applied every event; the
hashes must match the live ones, or the benchmark fails. The naive baseline is the same
replay with one transaction per event (`consumer_batch_records=1`), timed over its first
`--baseline-seconds` (0: skipped). Rates count from the first report applied, so group joins
(5 s each on the embedded broker) are not in them; the total times include them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import asyncpg
from aiokafka import AIOKafkaProducer
from sqlalchemy.engine import make_url

from bench.indicator_apply import COORDINATES, project_ids, registrations, report_events
from bench.support import run_benchmark, scratch_database, summary
from contracts import topics
from services.command.replay import rebuild
from services.indicator.app import create_app
from services.launcher.embedded import EmbeddedKafka
from services.runtime.broker import KafkaConnection, ensure_topics
from services.runtime.settings import Settings

_TOTALS_KEY = "sheet, kind, level, region, sex, audience, period"
HASHES = {
    "cells": "select md5(string_agg(concat_ws('|', project_id, period, kind, level, region, sex,"
    " audience, count), E'\\n' order by project_id, period, kind, level, region, sex, audience))"
    " from indicator.cells",
    "periods": "select md5(string_agg(concat_ws('|', project_id, period, revision, report_id,"
    " submitted_at, people, cells), E'\\n' order by project_id, period)) from indicator.periods",
    "totals": "select md5(string_agg(concat_ws('|', project_id, kind, level, audience, n),"
    " E'\\n' order by project_id, kind, level, audience)) from (select project_id, kind, level,"
    " audience, sum(count) n from indicator.cells group by 1, 2, 3, 4) t",
    "projects": "select md5(string_agg(project_id::text, ',' order by project_id))"
    " from indicator.projects",
    # The national totals the handlers keep (services/indicator/kept_totals.py) and the same
    # summed further (models._rolled_up), as reported and approved: each table by its key.
    **{
        name: f"select md5(string_agg(concat_ws('|', {key}, count, cells), E'\\n'"
        f" order by {key})) from indicator.{table}"
        for name, table, key in (
            ("kept_totals", "totals", _TOTALS_KEY),
            ("approved_totals", "approved_totals", _TOTALS_KEY),
            *(
                (prefix + table, prefix + table, key)
                for table, key in (
                    ("sheet_totals", "sheet, kind, level, audience, period"),
                    ("region_totals", "sheet, region"),
                )
                for prefix in ("", "approved_")
            ),
        )
    },
    # The share approved the handlers keep per sheet (services/indicator/kept_approvals.py).
    "sheet_approvals": "select md5(string_agg(concat_ws('|', sheet, people, approved, cells),"
    " E'\\n' order by sheet)) from indicator.sheet_approvals",
}
APPLIED = "select count(*) from indicator.processed_events where consumer = $1"


async def publish(bootstrap: str, projects: int, count: int) -> None:
    await ensure_topics(KafkaConnection(bootstrap), topics.ALL)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    try:
        ids = project_ids(projects)
        sent = [
            await producer.send(topics.PROJECTS.name, value, key=str(p).encode())
            for p, value in zip(ids, registrations(ids), strict=True)
        ]
        for p, value in report_events(ids, count):
            sent.append(await producer.send(topics.REPORTS.name, value, key=str(p).encode()))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def consume(
    settings: Settings, projects: int, count: int, *, within: float | None = None
) -> tuple[float, int, float]:
    """Runs the indicator until it applied every event, or for `within` seconds after it
    applied its first report; returns the rate in reports per second from that first report
    (whose batch commits at once, so a replay that fits in one batch has no rate: 0), how
    many reports were applied, and the seconds before the first was (joining the groups)."""
    db = await asyncpg.connect(_plain(settings.database_url))
    app = create_app(settings)
    started = time.perf_counter()
    try:
        async with app.router.lifespan_context(app):
            first: tuple[float, int] | None = None
            while True:
                done = await db.fetchval(APPLIED, "indicator.reports")
                now = time.perf_counter()
                if first is None and done:
                    first = (now, done)
                registered = await db.fetchval(APPLIED, "indicator.projects")
                if done == count and registered == projects:
                    break
                if first is not None and within is not None and now > first[0] + within:
                    break
                await asyncio.sleep(0.05)
    finally:
        await db.close()
    if first is None:
        return 0.0, done, now - started
    rate = (done - first[1]) / (now - first[0]) if now > first[0] else 0.0
    return rate, done, first[0] - started


async def hashes(url: str) -> dict[str, str | None]:
    db = await asyncpg.connect(_plain(url))
    try:
        return {name: await db.fetchval(sql) for name, sql in HASHES.items()}
    finally:
        await db.close()


async def main(projects: int, count: int, runs: int, baseline_seconds: float) -> None:
    embedded = None
    bootstrap = os.environ.get("CMA_KAFKA_BOOTSTRAP")
    if not bootstrap:
        embedded = EmbeddedKafka()
        embedded.start()
        bootstrap = embedded.bootstrap
    cells = len(COORDINATES)
    try:
        async with scratch_database() as url:
            settings = Settings(
                database_url=url, kafka_bootstrap=bootstrap, kafka_idempotence=False
            )
            started = time.perf_counter()
            await publish(bootstrap, projects, count)
            published = time.perf_counter() - started
            started = time.perf_counter()
            await consume(settings, projects, count)
            live = time.perf_counter() - started
            expected = await hashes(url)
            totals, rebuilds, joins, rates = [], [], [], []
            for _ in range(runs):
                started = time.perf_counter()
                await rebuild(settings, "indicator")
                rebuilt = time.perf_counter()
                rate, _, joined = await consume(settings, projects, count)
                totals.append(time.perf_counter() - started)
                rebuilds.append(rebuilt - started)
                joins.append(joined)
                rates.append(rate * cells)
                got = await hashes(url)
                if got != expected:
                    raise SystemExit(f"replay differs from the live state: {got} != {expected}")
            baseline, applied = 0.0, 0
            if baseline_seconds > 0:
                naive = settings.model_copy(update={"consumer_batch_records": 1})
                await rebuild(naive, "indicator")
                baseline, applied, _ = await consume(
                    naive, projects, count, within=baseline_seconds
                )
    finally:
        if embedded is not None:
            embedded.stop()
    print(
        f"projects={projects} reports={count} cells={count * cells} "
        f"published_in={published:.1f}s live_apply={live:.1f}s hashes_equal=yes {short(expected)}"
    )
    print(summary("replay total   ", totals))
    print(summary("rewind+migrate ", rebuilds))
    print(summary("until 1st batch", joins))
    print(summary("replay rate    ", rates, "cells/s"))
    if not baseline_seconds:
        print("per-event baseline skipped (--baseline-seconds 0)")
        return
    print(
        f"per-event baseline {baseline * cells:.0f} cells/s ({applied} reports in "
        f"{baseline_seconds:.0f}s)  ratio batched/per-event "
        f"{statistics.median(rates) / max(baseline * cells, 1e-9):.1f}x"
    )


def short(digests: dict[str, str | None]) -> str:
    """Each table's digest, shortened; `empty` for a table without rows (md5 of no rows)."""
    return " ".join(f"{name}={(value or 'empty')[:8]}" for name, value in digests.items())


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1_000)
    parser.add_argument("--reports", type=int, default=25_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    args = parser.parse_args()
    run_benchmark(main(args.projects, args.reports, args.runs, args.baseline_seconds))
