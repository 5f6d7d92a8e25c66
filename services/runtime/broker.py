"""Kafka broker factory and topic creation (with the partition counts from `contracts`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry

from contracts.topics import Topic
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


def make_broker(settings: Settings, service: str, registry: CollectorRegistry) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=f"cma-{service}",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=5,
        # A send waits this long for a partition leader; failing sooner lets the relay notice
        # a restarted broker (and recreate its topics) instead of waiting on it.
        request_timeout_ms=10_000,
        allow_auto_create_topics=False,  # topics come from ensure_topics, with their partitions
        middlewares=[KafkaPrometheusMiddleware(registry=registry, app_name=service)],
        logger=log,
    )


async def ensure_topics(bootstrap: str, topics: Iterable[Topic]) -> list[str]:
    """Create the missing topics; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(t.name, num_partitions=t.partitions, replication_factor=1)
                    for t in missing
                ]
            )
        return [t.name for t in missing]
    finally:
        await admin.close()


async def start_when_reachable(
    broker: KafkaBroker, bootstrap: str, topics: Iterable[Topic]
) -> None:
    """Services start without Kafka (the outbox and the offsets keep their place) and connect
    as soon as it answers."""
    topics = tuple(topics)
    while True:
        try:
            await ensure_topics(bootstrap, topics)
            await broker.start()
            return
        except Exception as exc:
            log.warning("Kafka at %s not reachable yet: %s", bootstrap, exc)
            await asyncio.sleep(1.0)
