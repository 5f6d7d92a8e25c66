"""What a run must end with: exact totals, every accepted event applied once, only the
injected poison dead-lettered, nothing left in the outboxes, no consumer lag."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.topics import DEAD_LETTERS, REPORTS
from tests.battery.driver import STAFF, Driver
from tests.conftest import plain_url
from tests.support.kafka import read_all


async def converged_totals(driver: Driver, indicator_url: str, within: float) -> None:
    """Waits until every project's totals equal the driver's; fails with the differences."""
    deadline = asyncio.get_running_loop().time() + within
    async with httpx.AsyncClient(base_url=indicator_url, headers=STAFF, timeout=5) as client:
        while True:
            wrong = {}
            for project in driver.projects:
                try:
                    r = await client.get(f"/v1/projects/{project.project_id}/progress")
                    got = r.json().get("totals") if r.status_code == 200 else r.status_code
                except httpx.HTTPError as exc:
                    got = repr(exc)
                if got != driver.expected_totals(project):
                    wrong[project.project_id] = (got, driver.expected_totals(project))
            if not wrong:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"totals differ after {within}s: {wrong}")
            await asyncio.sleep(0.25)


async def check_bookkeeping(database_url: str, bootstrap: str, poison: int = 0) -> None:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        sent = await conn.fetch("select event_id from intake.outbox where topic = $1", REPORTS.name)
        applied = await conn.fetch(
            "select event_id from indicator.processed_events where consumer = 'indicator.reports'"
        )
        assert {r[0] for r in applied} == {r[0] for r in sent}, "applied ≠ accepted event ids"

        async def drained(schema: str) -> None:  # the relays poll: give them a few seconds
            for _ in range(60):
                backlog = await conn.fetchval(
                    f"select count(*) from {schema}.outbox where sent_at is null"
                )
                if backlog == 0:
                    break
                await asyncio.sleep(0.25)
            assert backlog == 0, f"{schema} outbox backlog {backlog}"

        await drained("intake")
        await drained("indicator")
    finally:
        await conn.close()
    letters = await read_all(bootstrap, DEAD_LETTERS, timeout_ms=1000)
    by_consumer = Counter(dict(m.headers)["cma-consumer"] for m in letters)
    assert by_consumer == (Counter({b"indicator.reports": poison}) if poison else Counter())
    assert await lag(bootstrap, "indicator.reports") == 0


async def lag(bootstrap: str, group: str) -> int:
    """Records of the reports topic past the group's committed offsets (the end of each
    partition is taken from the records read, not from ListOffsets)."""
    records = await read_all(bootstrap, REPORTS, timeout_ms=1500)
    ends: dict[int, int] = {}
    for r in records:
        ends[r.partition] = max(ends.get(r.partition, 0), r.offset + 1)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        behind = 0
        for partition, end in ends.items():
            committed = await consumer.committed(TopicPartition(REPORTS.name, partition)) or 0
            behind += max(0, end - committed)
        return behind
    finally:
        await consumer.stop()
