"""The consumer lag of a service's groups, as the broker knows it: per group and partition,
the partition's high-water mark minus the offset the group committed.

Asked of the broker every `consumer_lag_seconds` by a background loop, not at scrape time, so
a scrape costs no broker round trip and a stalled consumer (the very case the gauge is for) is
still measured: the committed offsets are the group's, whichever replica consumes. Every
replica of a service exports the same series (take `max` across instances). While the broker
does not answer, the gauge has no series rather than stale ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from contracts.topics import Topic
from services.runtime.broker import KafkaConnection

log = logging.getLogger(__name__)

Lags = dict[tuple[str, str, int], int]  # (consumer group, topic, partition) -> messages behind


def lags(
    groups: Sequence[tuple[str, Topic]],
    committed: dict[str, dict[TopicPartition, int | None]],
    beginning: dict[TopicPartition, int],
    end: dict[TopicPartition, int],
) -> Lags:
    """High-water mark minus committed offset; a partition the group never committed is
    behind by all it holds (the groups start from the earliest offset)."""
    out: Lags = {}
    for group, topic in groups:
        for partition in range(topic.partitions):
            tp = TopicPartition(topic.name, partition)
            if tp not in end:
                continue
            start = committed.get(group, {}).get(tp)
            start = beginning[tp] if start is None else max(start, beginning[tp])
            out[(group, topic.name, partition)] = max(0, end[tp] - start)
    return out


class ConsumerLag(Collector):
    def __init__(
        self,
        registry: CollectorRegistry,
        service: str,
        groups: Sequence[tuple[str, Topic]],
        kafka: KafkaConnection,
        every_seconds: float,
    ) -> None:
        self.name = f"cma_{service}_consumer_lag"
        self.groups, self.kafka, self.every_seconds = tuple(groups), kafka, every_seconds
        self.lags: Lags = {}
        registry.register(self)

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            self.name,
            "Messages a consumer group has yet to commit: the partition's high-water mark "
            "minus the group's committed offset (asked of the broker every "
            "CMA_CONSUMER_LAG_SECONDS).",
            labels=["consumer", "topic", "partition"],
        )
        for (group, topic, partition), lag in sorted(self.lags.items()):
            family.add_metric([group, topic, str(partition)], lag)
        return [family]

    async def run(self) -> None:
        """A background loop of the service (`service_lifespan`); reconnects when the broker
        comes back."""
        while True:
            # One client per group, never subscribed (it joins no group): it reads the
            # group's committed offsets as its members would on a restart.
            readers = {
                group: AIOKafkaConsumer(
                    **self.kafka.client_options(), group_id=group, enable_auto_commit=False
                )
                for group in dict.fromkeys(g for g, _ in self.groups)
            }
            try:
                for reader in readers.values():
                    await reader.start()
                while True:
                    self.lags = await self.measure(readers)
                    await asyncio.sleep(self.every_seconds)
            except Exception as exc:  # the broker is away: no series until it answers
                log.warning("consumer lag unavailable: %s", exc)
                self.lags = {}
            finally:
                for reader in readers.values():
                    await reader.stop()
            await asyncio.sleep(self.every_seconds)

    async def measure(self, readers: dict[str, AIOKafkaConsumer]) -> Lags:
        """`readers`: a started client per group, with that group's id."""
        partitions = {
            group: [TopicPartition(topic.name, p) for p in range(topic.partitions)]
            for group, topic in self.groups
        }
        committed = {
            group: dict(
                zip(
                    tps,
                    await asyncio.gather(*(readers[group].committed(tp) for tp in tps)),
                    strict=True,
                )
            )
            for group, tps in partitions.items()
        }
        everything = list(dict.fromkeys(tp for tps in partitions.values() for tp in tps))
        any_reader = next(iter(readers.values()))
        beginning = await any_reader.beginning_offsets(everything)
        end = await any_reader.end_offsets(everything)
        return lags(self.groups, committed, beginning, end)
