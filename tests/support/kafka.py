"""Direct access to the broker, for tests that inject or inspect raw messages."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from pydantic import BaseModel

from contracts.topics import Topic, event_key


async def publish(
    bootstrap: str, topic: Topic, events: Sequence[BaseModel | bytes], key: bytes = b"raw"
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for event in events:
            if isinstance(event, bytes):
                await producer.send_and_wait(topic.name, event, key=key)
            else:
                await producer.send_and_wait(
                    topic.name,
                    event.model_dump_json().encode(),
                    key=event_key(event.project_id),  # type: ignore[attr-defined]
                )
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: Topic, timeout_ms: int = 2000) -> list[ConsumerRecord]:
    consumer = AIOKafkaConsumer(
        topic.name,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=timeout_ms)
        return sorted(
            (r for rs in batches.values() for r in rs), key=lambda r: (r.partition, r.offset)
        )
    finally:
        await consumer.stop()
