"""Indicator's Kafka handlers on FastStream's in-memory broker, over a real PostgreSQL."""

from __future__ import annotations

import uuid

from faststream.kafka import TestKafkaBroker
from sqlalchemy import select

from contracts.events import parse_event
from contracts.topics import PROJECTS, REPORTS
from services.indicator.app import create_app
from services.indicator.models import outbox
from services.indicator.queries import IndicatorQueries
from services.runtime.db import make_engine
from tests.support.clock import FakeClock
from tests.support.events import project_registered, report_submitted
from tests.support.platform import settings_for_tests


async def test_handlers_apply_registrations_and_the_latest_revision_once(
    clean_database: str,
) -> None:
    app = create_app(settings_for_tests(clean_database, "unused:9092"), FakeClock())
    project_id = uuid.uuid4()
    first = report_submitted(project_id, revision=1, trained=10)
    second = report_submitted(project_id, revision=2, trained=25)
    registered = project_registered(project_id)
    async with TestKafkaBroker(app.state.broker) as broker:
        # The report may arrive before the registration: it is kept and counted once known.
        await broker.publish(first.model_dump_json().encode(), REPORTS.name)
        await broker.publish(registered.model_dump_json().encode(), PROJECTS.name)
        await broker.publish(second.model_dump_json().encode(), REPORTS.name)
        await broker.publish(first.model_dump_json().encode(), REPORTS.name)  # late and repeated
    engine = make_engine(clean_database)
    tallies = await IndicatorQueries(engine).tallies(project_id=project_id)
    async with engine.connect() as conn:
        emitted = (await conn.execute(select(outbox.c.value).order_by(outbox.c.seq))).scalars()
        totals = [parse_event(v).payload for v in emitted]
    await engine.dispose()
    assert [(t.kind, t.level, t.count) for t in tallies] == [("trained", "bac+5", 25)]
    # Each change of the project's cells told the milestone service its new totals, in order.
    assert [(t.version, [(r.kind, r.level, r.count) for r in t.totals]) for t in totals] == [
        (1, [("trained", "bac+5", 10)]),
        (2, [("trained", "bac+5", 25)]),
    ]
