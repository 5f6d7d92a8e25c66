"""B1's database layer: a report's transaction through SQLAlchemy Core, as intake runs it,
against the same statements sent with asyncpg alone, in the same process.

    python -m bench.intake_db_layer [--reports 1500] [--runs 3]

Both write one project's report as intake does (revision upsert, report row with its 40
cells, outbox row) in one transaction on one connection, one report after the other; CPU
time per report (`time.process_time`) is what the layer costs this process, whatever else
the machine runs. Uses CMA_BENCH_DATABASE_URL's server or an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import asyncpg
from sqlalchemy import bindparam, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url

from bench.intake_load import report_body
from bench.support import run_benchmark, scratch_database, summary
from contracts.reports import Cell
from services.intake import models as m
from services.intake.anomalies import PeriodFigures
from services.runtime.db import make_engine

PERIOD = "2025-S1"
# The revision upsert as intake built it with SQLAlchemy Core before B1's storage step moved
# to asyncpg (services/intake/usecases/reports.py).
NEXT_REVISION = (
    pg_insert(m.periods)
    .values(project_id=bindparam("project_id"), period=bindparam("period"), revision=1)
    .on_conflict_do_update(
        index_elements=["project_id", "period"], set_={"revision": m.periods.c.revision + 1}
    )
    .returning(m.periods.c.revision)
)


def report_row(
    project_id: uuid.UUID, revision: int, cells: object, figures: PeriodFigures
) -> dict[str, object]:
    return {
        "report_id": uuid.uuid4(),
        "project_id": project_id,
        "period": PERIOD,
        "revision": revision,
        "idempotency_key": None,
        "request_sha256": "0" * 64,
        "submitted_by": "bench",
        "submitted_at": datetime.now(UTC),
        "reason": None,
        "cells": cells,
        "total_count": figures.total,
        "trained_count": figures.trained,
        "sex_split": figures.sex_split,
    }


async def main(reports: int, runs: int) -> None:
    async with scratch_database() as url:
        engine, project_id = make_engine(url), uuid.uuid4()
        async with engine.begin() as conn:
            await conn.execute(
                insert(m.projects).values(
                    project_id=project_id,
                    sheet="ia",
                    wave="saison-1",
                    name="Banc",
                    lead="Banc",
                    regions=["84", "11"],
                    start_date=date(2023, 1, 1),
                    end_date=date(2027, 12, 31),
                    commitments=[],
                    token_sha256="0" * 64,
                    created_at=datetime.now(UTC),
                )
            )
        body = report_body(["84", "11"], random.Random(2030))
        cells, event = json.loads(body)["cells"], body.encode()
        # Computed before the storage step in intake too: not part of what is timed.
        figures = PeriodFigures.of([Cell.model_validate(c) for c in cells])

        async def through_sqlalchemy() -> None:
            async with engine.begin() as conn:
                revision = (
                    await conn.execute(NEXT_REVISION, {"project_id": project_id, "period": PERIOD})
                ).scalar_one()
                await conn.execute(
                    m.reports.insert(), report_row(project_id, revision, cells, figures)
                )
                await conn.execute(
                    insert(m.outbox),
                    [{"event_id": uuid.uuid4(), "topic": "t", "key": b"k", "value": event}],
                )

        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        raw = await asyncpg.connect(dsn)
        await raw.set_type_codec(
            "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
        names = list(report_row(project_id, 0, cells, figures))
        columns, places = ", ".join(names), ", ".join(f"${i}" for i in range(1, len(names) + 1))
        insert_report = f"insert into intake.reports ({columns}) values ({places})"

        async def through_asyncpg() -> None:
            async with raw.transaction():
                revision = await raw.fetchval(
                    "insert into intake.periods (project_id, period, revision) values ($1, $2, 1) "
                    "on conflict (project_id, period) do update "
                    "set revision = intake.periods.revision + 1 returning revision",
                    project_id,
                    PERIOD,
                )
                await raw.execute(
                    insert_report, *report_row(project_id, revision, cells, figures).values()
                )
                await raw.execute(
                    "insert into intake.outbox (event_id, topic, key, value) "
                    "values ($1, $2, $3, $4)",
                    uuid.uuid4(),
                    "t",
                    b"k",
                    event,
                )

        cpu: dict[str, list[float]] = {"sqlalchemy": [], "asyncpg": []}
        wall: dict[str, list[float]] = {"sqlalchemy": [], "asyncpg": []}
        paths: dict[str, Callable[[], Awaitable[None]]] = {
            "sqlalchemy": through_sqlalchemy,
            "asyncpg": through_asyncpg,
        }
        for _ in range(runs):
            for name, write in paths.items():  # alternated, so drift hits both alike
                for _ in range(50):  # warm: statement caches, prepared statements
                    await write()
                started_cpu, started = time.process_time(), time.perf_counter()
                for _ in range(reports):
                    await write()
                cpu[name].append((time.process_time() - started_cpu) * 1000 / reports)
                wall[name].append((time.perf_counter() - started) * 1000 / reports)
        await raw.close()
        await engine.dispose()
        for name in paths:
            print(summary(f"{name:<10} CPU per report", cpu[name], "ms"))
            print(summary(f"{name:<10} wall per report", wall[name], "ms"))
        ratio = statistics.median(
            a / b for a, b in zip(cpu["sqlalchemy"], cpu["asyncpg"], strict=True)
        )
        print(f"CPU ratio sqlalchemy/asyncpg median {ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run_benchmark(main(args.reports, args.runs))
