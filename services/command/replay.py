"""Rebuild a consumer's state by replaying its topics: `cma replay <service>`, service stopped.

A consumer's tables are a function of the topics it reads (retained forever, see
docs/operations.md), so its schema can be dropped, migrated afresh and refilled by moving its
consumer groups back to the start of their topics. The inbox (`processed_events`) goes with
the schema, so every event is applied again, once; events the service emits again carry ids
derived from their causes, and downstream consumers drop those they already have.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from services.runtime.broker import KafkaConnection
from services.runtime.db import make_engine
from services.runtime.migrations import upgrade_async
from services.runtime.registry import consumer_group, service
from services.runtime.roles import confine_service_roles
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


class ReplayRefused(RuntimeError):
    """The replay would lose data or fight a running service; nothing was changed."""


def consumer_groups(name: str) -> dict[str, tuple[str, ...]]:
    """The consumer groups of a service and the topics each reads: one group per handler the
    registry lists."""
    return {consumer_group(name, c.handler): (c.topic.name,) for c in service(name).consumes}


async def rewind(
    kafka: KafkaConnection,
    groups: list[str],
    topics: list[str],
    *,
    wait_seconds: float = 60.0,
) -> None:
    """Commit the start of every partition of `topics` for each of `groups`.

    The service must be stopped. We join each group as its only member (a plain offset commit
    outside the group, generation -1, is refused by brokers that still list a departed member)
    and commit only once the group assigned us every partition: a partition held by someone
    else means the service still runs, and we refuse rather than rewind half of it."""
    for group in groups:
        await _rewind_group(kafka, group, topics, wait_seconds)


async def _rewind_group(kafka: KafkaConnection, group: str, topics: list[str], wait: float) -> None:
    consumer = AIOKafkaConsumer(
        *topics,
        **kafka.client_options(),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            known = {t: consumer.partitions_for_topic(t) for t in topics}
            every = {TopicPartition(t, p) for t, ps in known.items() for p in ps or ()}
            if all(known.values()) and consumer.assignment() == every:
                break
            if loop.time() > deadline:
                missing = [t for t, ps in known.items() if not ps]
                held = sorted(f"{tp.topic}[{tp.partition}]" for tp in every - consumer.assignment())
                why = f"no such topic {missing}" if missing else f"other members hold {held}"
                raise ReplayRefused(f"group {group}: {why}; is the service stopped?")
            await asyncio.sleep(0.1)
        starts = await consumer.beginning_offsets(list(every))
        await consumer.commit(starts)
        log.info("rewound %s on %s (%d partitions)", group, ", ".join(topics), len(every))
    finally:
        await consumer.stop()


async def drop_schema(database_url: str, schema: str) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


async def rebuild(
    settings: Settings, name: str, *, rewind_only: bool = False
) -> dict[str, tuple[str, ...]]:
    """Rewind the service's groups (refused while it runs), then drop its schema and migrate it
    afresh, unless `rewind_only`: then every event comes again and the inbox drops those
    already applied. Start the service afterwards. Returns the groups and their topics.
    Refused for a service whose schema holds data no topic carries (`not_rebuildable`)."""
    spec = service(name)
    if spec.not_rebuildable and not rewind_only:
        raise ReplayRefused(spec.not_rebuildable)
    groups = consumer_groups(name)
    if not groups:
        raise ReplayRefused(f"{name} has no consumer groups to replay")
    # Rewinding first doubles as the check that the service is stopped, before any data goes.
    for group, topics in groups.items():
        await rewind(KafkaConnection.from_settings(settings), [group], list(topics))
    if not rewind_only:
        await drop_schema(settings.database_url, spec.schema)
        await upgrade_async(settings.database_url, name)
        if name in settings.database_urls:  # the new schema's grants, to the service's role
            await confine_service_roles(settings.database_url, {name: settings.database_urls[name]})
    return groups


def main(name: str, *, rewind_only: bool = False) -> int:
    """`cma replay <service> [--rewind-only]`: prints what was done, or why nothing was."""
    try:
        groups = asyncio.run(rebuild(Settings(), name, rewind_only=rewind_only))
    except ReplayRefused as exc:
        print(f"cma replay {name}: refused, nothing changed: {exc}", file=sys.stderr)
        return 1
    done = "groups rewound" if rewind_only else "schema dropped and migrated; groups rewound"
    print(f"{name}: {done}:")
    for group, topics in groups.items():
        print(f"  {group}: {', '.join(topics)} from the start")
    print(f"Start {name} again (cma serve {name}): it consumes its topics from the start.")
    return 0
