"""`cma topics`: create the topics of `contracts/topics.py` (partitions and retention from the
contract), as a step of its own run by an identity allowed to CREATE on the cluster, so the
services can run with `CMA_KAFKA_CREATE_TOPICS=false` and no such right. It connects with the
same settings as the services (`CMA_KAFKA_*`: TLS, SASL). Existing topics are left as they are."""

from __future__ import annotations

import asyncio

from contracts.topics import ALL
from services.runtime.broker import KafkaConnection, ensure_topics
from services.runtime.settings import Settings


def main(*, replication_factor: int, min_insync_replicas: int | None) -> int:
    kafka = KafkaConnection.from_settings(Settings())
    configs = {"min.insync.replicas": str(min_insync_replicas)} if min_insync_replicas else {}
    created = asyncio.run(
        ensure_topics(kafka, ALL, replication_factor=replication_factor, configs=configs)
    )
    for topic in ALL:
        state = "created" if topic.name in created else "exists"
        print(f"{topic.name}: {state} ({topic.partitions} partitions)")
    return 0
