"""B3: report cells applied per second by one indicator instance, idempotently.

    python -m bench.indicator_apply [--projects 500] [--reports 2500] [--runs 5]

Uses CMA_BENCH_DATABASE_URL (a PostgreSQL server URL; a scratch database is created there)
or an embedded PostgreSQL. Registers `--projects` projects, then feeds `--reports` report
events of 40 cells (≈2 KB of JSON each) as Kafka `ConsumerRecord`s to the indicator's real
`IdempotentConsumer.handle_records` (parsing, inbox claim, apply, totals into the outbox):
- *batched*: in batches of `consumer_batch_records` (500), one transaction each, as deployed;
- *duplicates*: the same batches again, every event already in the inbox;
- *per event*: the naive baseline, one transaction per event, on `--baseline-reports`.
Tables are emptied between runs; prints the median cells/s of each and the ratios.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from bench.support import run_benchmark, scratch_database, summary
from contracts.events import IndicatorReportSubmitted, ProjectRegistered
from contracts.topics import PROJECTS, REPORTS, Topic, event_key
from services.indicator import models as m
from services.indicator.handlers import make_handler
from services.runtime.consumer import IdempotentConsumer
from services.runtime.db import make_engine
from services.runtime.metrics import ConsumerMetrics
from services.runtime.settings import Settings

NOW = datetime(2026, 1, 15, tzinfo=UTC)
PERIODS = ("2023-S1", "2023-S2", "2024-S1", "2024-S2", "2025-S1", "2025-S2")
LEVELS = ("bac", "bac+2", "bac+3", "bac+5", "bac+8")
REGIONS = ("84", "11")
# 2 kinds × 5 levels × 2 regions × 2 sexes: the report of 40 cells.
COORDINATES = list(itertools.product(("trained", "sensitised"), LEVELS, REGIONS, ("F", "M")))


def project_ids(projects: int, seed: int = 0) -> list[uuid.UUID]:
    return [uuid.UUID(int=(seed << 64) + i + 1) for i in range(projects)]


def registrations(ids: Sequence[uuid.UUID]) -> list[bytes]:
    return [
        ProjectRegistered(
            event_id=uuid.uuid4(),
            occurred_at=NOW,
            producer="bench",
            project_id=p,
            payload={
                "sheet": "cloud",
                "wave": "w1",
                "name": f"Projet {i}",
                "lead": "Université",
                "regions": REGIONS,
                "start_date": "2023-01-01",
                "end_date": "2027-12-31",
                "funding_eur": 1_000_000,
                "commitments": (),
                "api_token_sha256": f"{i:064x}",
            },
        )
        .model_dump_json()
        .encode()
        for i, p in enumerate(ids)
    ]


def report_events(ids: Sequence[uuid.UUID], count: int) -> Iterator[tuple[uuid.UUID, bytes]]:
    """`count` reports, round-robin over the projects; each project cycles through the
    periods, so later reports are new revisions that replace earlier cells."""
    for i in range(count):
        project, nth = ids[i % len(ids)], i // len(ids)
        event = IndicatorReportSubmitted(
            event_id=uuid.uuid4(),
            occurred_at=NOW,
            producer="bench",
            project_id=project,
            payload={
                "report_id": uuid.uuid4(),
                "period": PERIODS[nth % len(PERIODS)],
                "revision": nth // len(PERIODS) + 1,
                "submitted_by": "bench",
                "submitted_at": NOW,
                "reason": None,
                "cells": [
                    {"kind": k, "level": lv, "region": r, "sex": s, "count": (i + j * 7) % 997}
                    for j, (k, lv, r, s) in enumerate(COORDINATES)
                ],
            },
        )
        yield project, event.model_dump_json().encode()


def records(topic: Topic, keyed: Sequence[tuple[uuid.UUID, bytes]]) -> list[ConsumerRecord]:
    return [
        ConsumerRecord(topic.name, 0, offset, 0, 0, event_key(p), value, None, 36, len(value), ())
        for offset, (p, value) in enumerate(keyed)
    ]


def batches(items: list[ConsumerRecord], size: int) -> list[list[ConsumerRecord]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def empty(conn_url: str) -> None:
    engine = make_engine(conn_url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "truncate indicator.cells, indicator.periods, indicator.totals,"
                " indicator.sheet_totals, indicator.region_totals, indicator.outbox"
            )
        )
        await conn.execute(
            text("delete from indicator.processed_events where consumer = 'indicator.reports'")
        )
    await engine.dispose()


async def main(projects: int, reports: int, baseline_reports: int, runs: int) -> None:
    settings = Settings()
    broker = KafkaBroker("unused:9092")  # only a dead letter would use it: none here
    async with scratch_database() as url:
        engine = make_engine(url)
        metrics = ConsumerMetrics(CollectorRegistry(), "bench")
        apply = make_handler(lambda: NOW)

        def consumer(name: str, topic: Topic) -> IdempotentConsumer:
            return IdempotentConsumer(
                name, topic, engine, m.processed_events, apply, settings, metrics
            )

        ids = project_ids(projects)
        keyed = list(zip(ids, registrations(ids), strict=True))
        for batch in batches(records(PROJECTS, keyed), settings.consumer_batch_records):
            await consumer("indicator.projects", PROJECTS).handle_records(broker, batch)
        reports_consumer = consumer("indicator.reports", REPORTS)
        fed = records(REPORTS, list(report_events(ids, reports)))
        naive = fed[:baseline_reports]
        cells = len(COORDINATES)

        async def timed(items: list[ConsumerRecord], size: int) -> float:
            started = time.perf_counter()
            for batch in batches(items, size):
                await reports_consumer.handle_records(broker, batch)
            return len(items) * cells / (time.perf_counter() - started)

        batched, duplicates, per_event = [], [], []
        for _ in range(runs):
            await empty(url)
            batched.append(await timed(fed, settings.consumer_batch_records))
            duplicates.append(await timed(fed, settings.consumer_batch_records))
            await empty(url)
            per_event.append(await timed(naive, 1))
        async with engine.connect() as conn:
            stored = (await conn.execute(text("select count(*) from indicator.cells"))).scalar()
        await engine.dispose()
    b, d, n = (statistics.median(x) for x in (batched, duplicates, per_event))
    print(
        f"projects={projects} reports={reports} cells={reports * cells} "
        f"batch={settings.consumer_batch_records} baseline_reports={baseline_reports} "
        f"cells_stored_after_baseline={stored}"
    )
    print(summary("batched   ", batched, "cells/s"))
    print(summary("duplicates", duplicates, "cells/s"))
    print(summary("per event ", per_event, "cells/s"))
    print(f"ratio batched/per-event {b / n:.1f}x  duplicates/batched {d / b:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--reports", type=int, default=2_500)
    parser.add_argument("--baseline-reports", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    run_benchmark(main(args.projects, args.reports, args.baseline_reports, args.runs))
