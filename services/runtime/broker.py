"""Kafka: how every client connects (`KafkaConnection`: bootstrap, TLS, SASL), the broker
factory, and topic creation with the partition counts and retention from `contracts`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.helpers import create_ssl_context
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from prometheus_client import CollectorRegistry

from contracts.topics import Topic
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


@dataclass(frozen=True)
class KafkaConnection:
    """Where the cluster is and how to authenticate: the broker, the admin client and `cma
    replay`'s consumer all take their options from here, so they connect the same way."""

    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    create_topics: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaConnection:
        password = settings.kafka_sasl_password
        return cls(
            settings.kafka_bootstrap,
            security_protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_username=settings.kafka_sasl_username,
            sasl_password=password.get_secret_value() if password else None,
            ssl_cafile=settings.kafka_ssl_cafile,
            ssl_certfile=settings.kafka_ssl_certfile,
            ssl_keyfile=settings.kafka_ssl_keyfile,
            create_topics=settings.kafka_create_topics,
        )

    def security(self) -> BaseSecurity | None:
        """FastStream's description of it (None: plaintext, no authentication)."""
        use_ssl = self.security_protocol in ("SSL", "SASL_SSL")
        context = (
            create_ssl_context(
                cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
            )
            if use_ssl
            else None
        )
        if self.security_protocol.startswith("SASL_"):
            sasl = _SASL[self.sasl_mechanism]
            return sasl(self.sasl_username or "", self.sasl_password or "", ssl_context=context)
        return BaseSecurity(ssl_context=context) if use_ssl else None

    def client_options(self) -> dict[str, Any]:
        """aiokafka's keyword arguments (AIOKafkaAdminClient, AIOKafkaConsumer)."""
        return {"bootstrap_servers": self.bootstrap, **parse_security(self.security())}


def make_broker(settings: Settings, service: str, registry: CollectorRegistry) -> KafkaBroker:
    kafka = KafkaConnection.from_settings(settings)
    return KafkaBroker(
        kafka.bootstrap,
        security=kafka.security(),
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


async def ensure_topics(
    kafka: KafkaConnection,
    topics: Iterable[Topic],
    *,
    replication_factor: int = 1,
    configs: dict[str, str] | None = None,
) -> list[str]:
    """Create the missing topics (partitions and retention from the contract, `configs` on
    top); returns the names created. Needs the CREATE right on the cluster."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        t.name,
                        num_partitions=t.partitions,
                        replication_factor=replication_factor,
                        topic_configs={"retention.ms": str(t.retention_ms), **(configs or {})},
                    )
                    for t in missing
                ]
            )
        return [t.name for t in missing]
    finally:
        await admin.close()


async def start_when_reachable(
    broker: KafkaBroker, kafka: KafkaConnection, topics: Iterable[Topic]
) -> None:
    """Services start without Kafka (the outbox and the offsets keep their place) and connect
    as soon as it answers; they create missing topics unless `cma topics` made them."""
    topics = tuple(topics)
    while True:
        try:
            if kafka.create_topics:
                await ensure_topics(kafka, topics)
            await broker.start()
            return
        except Exception as exc:
            log.warning("Kafka at %s not reachable yet: %s", kafka.bootstrap, exc)
            await asyncio.sleep(1.0)
