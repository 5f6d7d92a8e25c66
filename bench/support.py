"""What every benchmark needs: a scratch database and a way to report repeated runs."""

from __future__ import annotations

import os
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from services.runtime.embedded import EmbeddedPostgres
from services.runtime.migrate import upgrade_all_async


@asynccontextmanager
async def scratch_database(*, migrated: bool = True) -> AsyncIterator[str]:
    """A new database on CMA_BENCH_DATABASE_URL's server (a PostgreSQL server URL), or on an
    embedded PostgreSQL started for the benchmark and stopped after it; yields its URL."""
    name = f"cma_bench_{uuid.uuid4().hex[:8]}"
    server = os.environ.get("CMA_BENCH_DATABASE_URL")
    embedded: EmbeddedPostgres | None = None
    if server:
        conn = await asyncpg.connect(
            make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        await conn.execute(f'create database "{name}"')
        await conn.close()
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
    else:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="cma-bench-pg-")))
        url = await embedded.create_database(name)
    try:
        if migrated:
            await upgrade_all_async(url)
        yield url
    finally:
        if embedded is not None:
            embedded.stop()


def summary(name: str, runs: Sequence[float], unit: str = "s") -> str:
    """`name median X unit  runs [...]`: the median first, every run after it."""
    rounded = [round(r, 2) for r in runs]
    return f"{name} median {statistics.median(runs):.2f} {unit}  runs {rounded}"
