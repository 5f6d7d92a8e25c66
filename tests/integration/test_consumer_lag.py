"""The consumer-lag gauge: per group and partition, the broker's high-water mark minus the
group's committed offset."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry

from contracts.topics import Topic
from services.runtime.broker import KafkaConnection, ensure_topics
from services.runtime.consumer_lag import ConsumerLag
from tests.support.kafka import publish
from tests.support.platform import EmbeddedKafka

pytestmark = pytest.mark.integration

TOPIC = Topic("cma.lag-test.v1", 2, "For this test.")


async def commit(bootstrap: str, group: str, partition: int, offset: int) -> None:
    """Commits `offset` on `partition` for `group`, as the consumer that owns it would."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tp = TopicPartition(TOPIC.name, partition)
        consumer.assign([tp])
        await consumer.commit({tp: OffsetAndMetadata(offset, "")})
    finally:
        await consumer.stop()


async def measured(lag: ConsumerLag, bootstrap: str, group: str) -> dict[tuple[str, str, int], int]:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        return await lag.measure({group: reader})
    finally:
        await reader.stop()


async def test_the_lag_is_what_the_group_has_not_committed_per_partition(
    kafka: EmbeddedKafka,
) -> None:
    await ensure_topics(KafkaConnection(kafka.bootstrap), [TOPIC])
    # The same key: one partition holds all three.
    await publish(kafka.bootstrap, TOPIC, [b"a", b"b", b"c"], key=b"same")
    registry = CollectorRegistry()
    lag = ConsumerLag(
        registry, "test", [("test.reader", TOPIC)], KafkaConnection(kafka.bootstrap), 10.0
    )
    before = await measured(lag, kafka.bootstrap, "test.reader")
    full = next(p for (_, _, p), n in before.items() if n)
    assert before == {
        ("test.reader", TOPIC.name, full): 3,
        ("test.reader", TOPIC.name, 1 - full): 0,
    }

    await commit(kafka.bootstrap, "test.reader", full, 2)  # two of three applied
    lag.lags = await measured(lag, kafka.bootstrap, "test.reader")
    labels = {"consumer": "test.reader", "topic": TOPIC.name}
    assert (
        registry.get_sample_value("cma_test_consumer_lag", {**labels, "partition": str(full)}) == 1
    )
    assert (
        registry.get_sample_value("cma_test_consumer_lag", {**labels, "partition": str(1 - full)})
        == 0
    )
