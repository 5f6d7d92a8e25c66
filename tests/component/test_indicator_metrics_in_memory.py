"""Indicator's business families are served from memory: identical to those computed from the
database at scrape time (as before B7'), and rebuilt after the batches applied."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.exposition import generate_latest

from bench.metrics_seed import clock, seed
from contracts.catalog import load_catalog
from services.indicator.app import create_app
from services.indicator.figures import Figures
from services.indicator.metrics import business_families
from services.indicator.queries import IndicatorQueries
from services.runtime.db import make_engine
from services.runtime.metrics import RenderedFamilies, SnapshotCollector
from tests.support.platform import settings_for_tests
from tests.support.waiting import eventually


async def test_metrics_served_from_memory_are_those_computed_at_scrape_and_follow_batches(
    clean_database: str,
) -> None:
    engine = make_engine(clean_database)
    settings = settings_for_tests(clean_database, "127.0.0.1:9", metrics_pause_seconds=0)
    figures = Figures(
        IndicatorQueries(engine), load_catalog(), clock, settings.trajectory_tolerance
    )

    async def computed_at_scrape() -> bytes:
        snapshot = SnapshotCollector()
        snapshot.families = await business_families(figures)
        return generate_latest(snapshot)

    await seed(engine, 0, 5)
    app = create_app(settings, clock)
    rendered: RenderedFamilies = app.state.business_metrics
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

        async def page() -> bytes:
            return (await client.get("/metrics")).content

        first = await computed_at_scrape()
        assert (await page()).endswith(first)  # built at the first scrape (no loop yet)

        loop = asyncio.create_task(rendered.run())  # rebuilds at once, then on touch
        try:
            await eventually(lambda: asyncio.sleep(0, rendered.built_at), lambda t: t > 0)
            await seed(engine, 5, 9)
            second = await computed_at_scrape()
            assert second != first and (await page()).endswith(first)  # not rebuilt yet
            rendered.touch()  # what the consumer does after each batch it applies
            # Sooner than the periodic rebuild (15 s) would show it.
            await eventually(page, lambda text: text.endswith(second), within=10)
        finally:
            loop.cancel()
    await app.state.broker.stop()
    await engine.dispose()
