"""How often each consumer asks the broker for records: only the one readers wait on (the
indicator's reports, whose figures B4 times after the 201) asks every CMA_CONSUMER_WAIT_MS;
every other consumer, and every revocation listener, every CMA_CONSUMER_QUIET_WAIT_MS, since an
idle consumer's every fetch costs the broker and the service CPU."""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import create_async_engine

from services.indicator.models import processed_events
from services.runtime.auth import TokenDirectory
from services.runtime.consumer import subscribe_consumers
from services.runtime.registry import SERVICES
from services.runtime.token_events import listen_for_revocations
from tests.support.platform import settings_for_tests

SETTINGS = settings_for_tests("unused", "unused", consumer_wait_ms=7, consumer_quiet_wait_ms=300)


async def _nothing(*_: object) -> None:
    return None


def waits(broker: KafkaBroker) -> dict[str, int]:
    """Each subscriber's topic and its wait for a batch (the wait it fetches with too)."""
    return {s.topic_names[0]: s.batch_timeout_ms for s in broker.subscribers}


def test_only_the_indicators_report_consumer_fetches_with_the_short_wait() -> None:
    engine = create_async_engine("postgresql+asyncpg://unused/unused")
    found: dict[str, int] = {}
    for spec in SERVICES:
        broker = KafkaBroker()
        registry = CollectorRegistry()
        subscribe_consumers(
            broker, spec.name, spec.consumes, engine, processed_events, _nothing, SETTINGS, registry
        )
        found |= {f"{spec.name} {topic}": wait for topic, wait in waits(broker).items()}
    assert found.pop("indicator cma.reports.v1") == 7
    assert found, "the other services consume too"
    assert set(found.values()) == {300}, found


def test_revocation_listeners_fetch_with_the_quiet_wait() -> None:
    broker = KafkaBroker()
    listen_for_revocations(broker, TokenDirectory(_nothing), SETTINGS, "intake")
    assert waits(broker) and set(waits(broker).values()) == {300}
