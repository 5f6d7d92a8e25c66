"""One outbox relay active per outbox: a standby takes over when the holder stalls past its
lease, and each key's events still reach Kafka in the order of the outbox's `seq`."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from contracts.topics import ALL, REPORTS
from services.intake.models import leases, outbox
from services.launcher.embedded import EmbeddedKafka
from services.runtime.broker import KafkaConnection, make_broker, start_when_reachable
from services.runtime.db import make_engine
from services.runtime.outbox import OutboxRelay, enqueue
from tests.support.database import fetch
from tests.support.events import report_submitted
from tests.support.kafka import read_all
from tests.support.platform import settings_for_tests
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

LEASE = 1.0


class StallingBroker:
    """The relay's broker, frozen inside its `publish` number `after` until `wake` is set: a
    relay stalled mid-publish, as a paused process would be."""

    def __init__(self, broker: KafkaBroker, after: int) -> None:
        self.broker, self.after, self.calls = broker, after, 0
        self.stalled, self.wake = asyncio.Event(), asyncio.Event()

    async def publish(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.after:
            self.stalled.set()
            await self.wake.wait()
        return await self.broker.publish(*args, **kwargs)


@pytest.fixture
async def broker(clean_database: str, kafka: EmbeddedKafka) -> AsyncIterator[KafkaBroker]:
    settings = settings_for_tests(clean_database, kafka.bootstrap)
    broker: KafkaBroker = make_broker(settings, "test", CollectorRegistry())
    await start_when_reachable(broker, KafkaConnection(kafka.bootstrap), ALL)
    yield broker
    await broker.stop()


def relay(database_url: str, broker: Any, bootstrap: str, holder: str) -> OutboxRelay:
    return OutboxRelay(
        make_engine(database_url),
        outbox,
        leases,
        broker,
        KafkaConnection(bootstrap),
        ALL,
        batch_rows=100,
        poll_seconds=0.01,
        lease_seconds=LEASE,
        holder=holder,
    )


async def enqueue_interleaved(database_url: str, projects: int, each: int) -> list[uuid.UUID]:
    """`each` events for each of `projects` keys, interleaved in `seq`; returns the ids in
    `seq` order."""
    keys = [uuid.uuid4() for _ in range(projects)]
    events = [
        report_submitted(key, revision=n, trained=n) for n in range(1, each + 1) for key in keys
    ]
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await enqueue(conn, outbox, REPORTS, events)
    await engine.dispose()
    return [e.event_id for e in events]


def first_copies_by_key(records: list[Any]) -> dict[bytes, list[str]]:
    """Each key's event ids in the order their first copies sit in Kafka (a duplicate that
    comes later is skipped by consumers, as they skip it by event id)."""
    seen, order = set(), defaultdict(list)
    for r in records:  # sorted by partition and offset; a key lives in one partition
        event_id = json.loads(r.value)["event_id"]
        if event_id not in seen:
            seen.add(event_id)
            order[r.key].append(event_id)
    return order


async def outbox_rows(database_url: str) -> list[asyncpg.Record]:
    return await fetch(
        database_url,
        "select seq, event_id, key, sent_at, sent_partition, sent_offset, created_at "
        "from intake.outbox order by seq",
    )


async def test_a_standby_relay_takes_over_a_stalled_one_within_the_lease_keeping_each_keys_order(
    clean_database: str, kafka: EmbeddedKafka, broker: KafkaBroker
) -> None:
    ids = await enqueue_interleaved(clean_database, projects=3, each=10)
    stalling = StallingBroker(broker, after=7)
    active = relay(clean_database, stalling, kafka.bootstrap, "relay-a")
    standby = relay(clean_database, broker, kafka.bootstrap, "relay-b")
    first = asyncio.create_task(active.publish_pending())
    await asyncio.wait_for(stalling.stalled.wait(), 10)  # six sent, the seventh in flight
    stalled_at = asyncio.get_running_loop().time()
    assert await standby.publish_pending() == 0  # the lease is the active relay's: stand by
    sent = await eventually(
        standby.publish_pending, lambda n: n > 0, within=10, every=0.02, what="standby's sends"
    )
    took_over_after = asyncio.get_running_loop().time() - stalled_at
    assert sent == len(ids) and took_over_after < LEASE + 1.0, took_over_after
    marked = {
        r["seq"]: (r["sent_partition"], r["sent_offset"]) for r in await outbox_rows(clean_database)
    }

    stalling.wake.set()  # the stalled relay wakes with one send in hand
    assert await first == 7  # it sends it, finds its lease gone, sends nothing more
    assert await active.publish_pending() == 0  # and stands by
    rows = await outbox_rows(clean_database)
    assert {r["seq"]: (r["sent_partition"], r["sent_offset"]) for r in rows} == marked

    order = first_copies_by_key(await read_all(kafka.bootstrap, REPORTS))
    expected: dict[bytes, list[str]] = defaultdict(list)
    for row in rows:
        expected[row["key"]].append(str(row["event_id"]))
    assert dict(order) == dict(expected)
    assert [str(r["event_id"]) for r in rows] == [str(i) for i in ids]


async def test_a_relay_that_stops_cleanly_hands_its_outbox_over_at_once(
    clean_database: str, kafka: EmbeddedKafka, broker: KafkaBroker
) -> None:
    first = relay(clean_database, broker, kafka.bootstrap, "relay-a")
    second = relay(clean_database, broker, kafka.bootstrap, "relay-b")
    running = asyncio.create_task(first.run())
    await eventually(
        lambda: asyncio.sleep(0, first.lease.remaining()),
        lambda s: s > 0,
        within=10,
        every=0.02,
        what="seconds left on the first relay's lease",
    )
    assert await second.publish_pending() == 0
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    ids = await enqueue_interleaved(clean_database, projects=2, each=2)
    assert await second.publish_pending() == len(ids)  # no wait for the lease to lapse
