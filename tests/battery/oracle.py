"""What a run must end with: exact totals in both readings, every accepted event applied
once, nothing left in the outboxes, no consumer lag, and only the injected poison
dead-lettered."""

from __future__ import annotations

from collections import Counter

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.topics import DEAD_LETTERS, REPORTS
from tests.battery.driver import READINGS, STAFF, Driver
from tests.support.database import fetch
from tests.support.kafka import read_all
from tests.support.waiting import eventually


async def converged_totals(driver: Driver, indicator_url: str, within: float) -> None:
    """Waits until every project's totals, as reported and as approved, equal the driver's;
    fails with the differences."""
    async with httpx.AsyncClient(base_url=indicator_url, headers=STAFF, timeout=5) as client:

        async def wrong() -> dict[str, tuple[object, dict[str, int]]]:
            differences: dict[str, tuple[object, dict[str, int]]] = {}
            for project in driver.projects:
                for reading in READINGS:
                    url = f"/v1/projects/{project.project_id}/progress?reading={reading}"
                    try:
                        r = await client.get(url)
                        got = r.json().get("totals") if r.status_code == 200 else r.status_code
                    except httpx.HTTPError as exc:
                        got = repr(exc)
                    expected = driver.expected_totals(project, reading)
                    if got != expected:
                        differences[f"{project.project_id} {reading}"] = (got, expected)
            return differences

        await eventually(wrong, {}, within=within, every=0.25, what="(shown, expected) totals")


async def check_bookkeeping(database_url: str, bootstrap: str, poison: int = 0) -> None:
    async def unapplied() -> set[object]:
        sent = await fetch(
            database_url, "select event_id from intake.outbox where topic = $1", REPORTS.name
        )
        applied = await fetch(
            database_url,
            "select event_id from indicator.processed_events where consumer = 'indicator.reports'",
        )
        return {r[0] for r in sent} ^ {r[0] for r in applied}

    await eventually(unapplied, set(), within=15, every=0.25, what="accepted ≠ applied event ids")

    async def drained(schema: str) -> None:  # the relays poll
        async def backlog() -> int:
            [(count,)] = await fetch(
                database_url, f"select count(*) from {schema}.outbox where sent_at is null"
            )
            return int(count)

        await eventually(backlog, 0, within=15, every=0.25, what=f"{schema} outbox backlog")

    await drained("intake")
    await drained("indicator")
    # Everything consumed and committed; then every dead letter published on the way is on
    # the topic, read to its end. After a broker restart the relays publish every event again
    # and the consumer drops them as duplicates: on a loaded 2-core runner that takes longer
    # than the totals take to converge, so the wait is longer than the backlog's.
    await eventually(lambda: lag(bootstrap, "indicator.reports"), 0, within=45, every=0.25)
    letters = await read_all(bootstrap, DEAD_LETTERS)
    by_consumer = Counter(dict(m.headers)["cma-consumer"] for m in letters)
    assert by_consumer == (Counter({b"indicator.reports": poison}) if poison else Counter())


async def lag(bootstrap: str, group: str) -> int:
    """Records of the reports topic past the group's committed offsets."""
    records = await read_all(bootstrap, REPORTS)
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
