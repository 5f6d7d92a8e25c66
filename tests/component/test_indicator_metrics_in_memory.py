"""Indicator's business families are served from memory: identical to those computed from the
database at scrape time (as before B7'), and updated project by project after the batches
applied: after reports, an amendment and a closure, the text kept is the one a full rebuild
renders, byte for byte."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import UUID

import httpx
from prometheus_client.exposition import generate_latest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.metrics_seed import NOW, carry_to_indicator, report_again, seed
from contracts.catalog import load_catalog
from contracts.projects import ProjectAmendmentIn, ProjectClosureIn
from services.indicator import models
from services.indicator.app import create_app
from services.indicator.figures import Figures
from services.indicator.metrics import business_families
from services.indicator.queries import IndicatorQueries
from services.indicator.rendered import BusinessText
from services.intake.usecases.amendments import AmendmentUseCases
from services.runtime.auth import Caller
from services.runtime.db import make_engine
from services.runtime.metrics import RenderedFamilies, SnapshotCollector
from tests.support.platform import settings_for_tests
from tests.support.waiting import eventually


class Clock:
    """The benchmark's day, which a test can move on."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def project_ids(engine: AsyncEngine) -> list[UUID]:
    """Indicator's projects, in the order `seed` registered them."""
    p = models.projects.c
    async with engine.connect() as conn:
        return list((await conn.scalars(select(p.project_id).order_by(p.name))).all())


async def test_metrics_served_from_memory_are_those_computed_at_scrape_and_follow_batches(
    clean_database: str,
) -> None:
    engine = make_engine(clean_database)
    settings = settings_for_tests(
        clean_database, "127.0.0.1:9", metrics_pause_seconds=0, metrics_national_pause_seconds=0
    )
    clock = Clock()
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
    text: BusinessText = app.state.business_text
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

        async def page() -> bytes:
            return (await client.get("/metrics")).content

        first = await computed_at_scrape()
        assert (await page()).endswith(first)  # built at the first scrape (no loop yet)
        assert text.full and text.recomputed == 5

        # Rebuild at once, then on touch (the national families when projects changed).
        loop = asyncio.gather(rendered.run(), text.run_national())
        try:
            await eventually(lambda: asyncio.sleep(0, rendered.built_at), lambda t: t > 0)
            await seed(engine, 5, 9)
            second = await computed_at_scrape()
            assert second != first and (await page()).endswith(first)  # not rebuilt yet
            added = (await project_ids(engine))[5:]
            rendered.touch(added)  # what the consumer does after each batch it applies
            # Sooner than the periodic rebuild (15 s) would show it.
            await eventually(page, lambda text: text.endswith(second), within=10)
        finally:
            loop.cancel()
    await app.state.broker.stop()
    await engine.dispose()


async def test_incremental_updates_render_what_a_full_rebuild_renders(
    clean_database: str,
) -> None:
    engine = make_engine(clean_database)
    settings = settings_for_tests(clean_database, "127.0.0.1:9", metrics_pause_seconds=0)
    clock = Clock()
    queries = IndicatorQueries(engine)
    figures = Figures(queries, load_catalog(), clock, settings.trajectory_tolerance)
    text = BusinessText(figures, national_pause_seconds=0)

    async def full() -> bytes:
        """What a replica that starts now renders."""
        return await BusinessText(figures, national_pause_seconds=0).render(set())

    async def update(touched: set[UUID]) -> bytes:
        """What the two loops do after a batch: render its projects (they show at once), then
        the national families, and assemble the page again."""
        shown = await text.render(set(touched))
        await text.refresh_national()
        kept = text.page()
        assert kept.startswith(shown[: shown.index(b"# HELP cma_indicator_target_behind")])
        return kept

    await seed(engine, 0, 12)
    ids = await project_ids(engine)
    before = await text.render(set())
    assert before == await full()

    # Reports to some projects (a new period, then a revision of it), in two batches.
    await report_again(engine, [0, 1, 7], more=1)
    touched = await carry_to_indicator(engine)
    assert touched == {ids[0], ids[1], ids[7]}
    kept = await update(touched)
    assert not text.full and text.recomputed == 3 and kept == await full() and kept != before
    await report_again(engine, [1], more=4)
    before, kept = kept, await update(await carry_to_indicator(engine))
    assert kept == await full() and kept != before

    # An amendment (name, end date, a commitment changed and one added), and a closure.
    staff = Caller(staff=True)
    commitment = {"selector": {"kind": "trained"}, "start": "2024-07-01", "horizon": "2027-12-31"}
    amendment = {
        "reason": "avenant",
        "name": "Projet renommé",
        "end_date": "2027-12-31",
        "commitments": {
            "changed": [{"id": "formes", "label": "Formés", "value": 400} | commitment],
            "added": [{"id": "apprentis", "label": "Apprentis", "value": 80} | commitment],
        },
    }
    amendments = AmendmentUseCases(engine, clock)
    await amendments.amend(ids[2], ProjectAmendmentIn.model_validate(amendment), staff)
    closure = {"status": "abandoned", "on": "2026-01-10", "reason": "arrêt"}
    await amendments.close(ids[3], ProjectClosureIn.model_validate(closure), staff)
    touched = await carry_to_indicator(engine)
    assert touched == {ids[2], ids[3]}
    before, kept = kept, await update(touched)
    assert not text.full and text.recomputed == 2 and kept == await full() and kept != before
    assert 'project="Projet renommé"'.encode() in kept and b'commitment="apprentis"' in kept

    # A batch another replica applied (nothing touched here): found by the next sweep.
    await report_again(engine, [9], more=2)
    elsewhere = await carry_to_indicator(engine)
    assert await update(set()) != await full()  # not swept yet
    text.swept_at = -float("inf")  # as `SWEEP_SECONDS` later
    before, kept = kept, await update(set())
    assert not text.full and text.recomputed == len(elsewhere) == 1 and kept == await full()
    assert kept != before

    # The next day: expected shares and freshness follow the date, so all of them again.
    clock.now += timedelta(days=1)
    before, kept = kept, await update(set())
    assert text.full and text.recomputed == 12 and kept == await full() and kept != before
    await engine.dispose()
