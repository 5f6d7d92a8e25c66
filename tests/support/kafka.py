"""Direct access to the broker, for tests that inject or inspect raw messages."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
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


async def read_all(bootstrap: str, topic: Topic, within: float = 10.0) -> list[ConsumerRecord]:
    """Every record of `topic` up to its end when read (each partition's high watermark in
    the broker's fetch answers, which the embedded broker reports right, unlike its
    ListOffsets), by partition and offset: an empty list proves that nothing was there.
    Fails if they cannot all be read within `within` seconds."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        if topic.name not in await consumer.topics():
            return []
        partitions = consumer.partitions_for_topic(topic.name) or set()
        assigned = [TopicPartition(topic.name, p) for p in sorted(partitions)]
        consumer.assign(assigned)

        async def at_the_end() -> bool:
            for tp in assigned:
                end = consumer.highwater(tp)  # None until a fetch answered for tp
                if end is None or await consumer.position(tp) < end:
                    return False
            return True

        records: list[ConsumerRecord] = []
        async with asyncio.timeout(within):
            while True:
                batches = await consumer.getmany(timeout_ms=100)
                records += (r for rs in batches.values() for r in rs)
                if await at_the_end():
                    break
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()
