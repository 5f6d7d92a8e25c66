"""Faults injected into the running platform; after each, the oracle: exact totals, every
accepted event applied once, only the injected poison dead-lettered, empty outboxes, no lag."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from contracts.topics import REPORTS
from tests.battery.driver import Driver
from tests.battery.oracle import check_bookkeeping, converged_totals
from tests.support.database import EmbeddedPostgres, plain_url
from tests.support.kafka import publish
from tests.support.platform import EmbeddedKafka, PlatformProcesses
from tests.support.waiting import eventually

pytestmark = pytest.mark.battery


async def post_while(driver: Driver, reports: int, fault: asyncio.Task[None]) -> None:
    async with httpx.AsyncClient(base_url=driver.intake_url) as client:
        await asyncio.gather(driver.post_reports(client, reports), fault)


async def scrape(url: str) -> str:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{url}/metrics")).text


async def settle(
    platform: PlatformProcesses, driver: Driver, within: float = 45, poison: int = 0
) -> None:
    await converged_totals(driver, platform.url("indicator"), within)
    await check_bookkeeping(platform.database_url, platform.bootstrap, poison)


async def test_sigkill_of_the_indicator_at_20_random_points_loses_and_doubles_nothing(
    platform: PlatformProcesses, driver: Driver
) -> None:
    async def kill_repeatedly() -> None:
        rng = random.Random(20)
        for run in range(20):
            await asyncio.sleep(rng.uniform(0.05, 0.8))  # mid-batch, after commit, mid-transaction…
            await platform.kill("indicator")
            if run == 10:  # poison in the middle of the storm
                await publish(platform.bootstrap, REPORTS, [b"not json", b"{}"])
            await platform.start("indicator")

    await post_while(driver, 200, asyncio.create_task(kill_repeatedly()))
    assert driver.accepted == 200
    await settle(platform, driver, poison=2)


async def test_sigkill_of_intake_around_the_relay_loses_and_doubles_nothing(
    platform: PlatformProcesses, driver: Driver
) -> None:
    async def kill_repeatedly() -> None:
        rng = random.Random(7)
        for _ in range(6):
            await asyncio.sleep(rng.uniform(0.1, 0.8))  # between a send and its mark, at times
            await platform.kill("intake")
            await platform.start("intake")

    await post_while(driver, 120, asyncio.create_task(kill_repeatedly()))
    assert driver.accepted == 120
    await settle(platform, driver)


async def test_replaying_the_consumer_group_from_offset_zero_changes_no_total(
    platform: PlatformProcesses, driver: Driver
) -> None:
    async with httpx.AsyncClient(base_url=driver.intake_url) as client:
        await driver.post_reports(client, 80)
    await settle(platform, driver)
    await platform.stop("indicator")
    # Rewind as a member of the group (the embedded broker refuses commits from outside it).
    consumer = AIOKafkaConsumer(
        REPORTS.name,
        bootstrap_servers=platform.bootstrap,
        group_id="indicator.reports",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:

        async def assigned() -> int:
            await consumer.getmany(timeout_ms=200)
            return len(consumer.assignment())

        await eventually(assigned, REPORTS.partitions, what="partitions assigned to the rewinder")
        await consumer.commit({tp: 0 for tp in consumer.assignment()})
    finally:
        await consumer.stop()
    await platform.start("indicator")
    async with httpx.AsyncClient(base_url=driver.intake_url) as client:
        await driver.post_reports(client, 20)  # live traffic during the replay
    await settle(platform, driver)
    metrics = await scrape(platform.url("indicator"))
    duplicates = next(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith(
            'cma_indicator_events_total{consumer="indicator.reports",outcome="duplicate"}'
        )
    )
    assert duplicates >= 80  # the replayed history came again and was skipped


async def test_postgres_down_for_30s_answers_503_then_converges_within_30s(
    platform: PlatformProcesses, driver: Driver, postgres_server: EmbeddedPostgres
) -> None:
    refused_before = driver.refused.copy()

    async def outage() -> None:
        await asyncio.sleep(0.5)  # the fault: mid-traffic, for 30 s
        await asyncio.to_thread(postgres_server.stop_server)
        async with httpx.AsyncClient(base_url=driver.intake_url) as client:
            project = driver.projects[0]
            r = await client.post(
                f"/v1/projects/{project.project_id}/reports",
                headers=project.token,
                json=driver.report()[1],
            )
            assert r.status_code == 503 and r.headers["Retry-After"], r.text
        await asyncio.sleep(30)  # the outage's length, not a wait for something
        await asyncio.to_thread(postgres_server.start_server)

    await post_while(driver, 120, asyncio.create_task(outage()))
    assert driver.refused == refused_before  # every report was eventually accepted
    await settle(platform, driver, within=30)
    metrics = await scrape(platform.url("indicator"))
    retries = [
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("cma_indicator_transient_failures_total{")
    ]
    # Backoff doubles up to 5 s: a consumer retried ~10 times in 30 s, it did not spin.
    assert sum(retries) <= 40, retries


async def test_every_report_accepted_while_the_broker_restarts_is_counted_once(
    platform: PlatformProcesses, driver: Driver, kafka: EmbeddedKafka
) -> None:
    async def broker_outage() -> None:
        await asyncio.sleep(1.0)  # the fault: mid-traffic, for 3 s
        kafka.stop()
        await asyncio.sleep(3.0)
        kafka.start()  # memory only: it comes back empty

    await post_while(driver, 150, asyncio.create_task(broker_outage()))
    await settle(platform, driver, within=60)


async def test_consumers_joining_and_leaving_three_times_lose_and_double_nothing(
    platform: PlatformProcesses, driver: Driver
) -> None:
    async def churn() -> None:
        for _ in range(3):
            await platform.start("indicator-2")
            await asyncio.sleep(2.0)  # the fault's pace: a member for 2 s, then 1 s without
            await platform.stop("indicator-2")
            await asyncio.sleep(1.0)

    await post_while(driver, 200, asyncio.create_task(churn()))
    await settle(platform, driver)


async def test_a_row_lock_held_for_15s_delays_but_loses_nothing(
    platform: PlatformProcesses, driver: Driver
) -> None:
    async def hold_lock() -> None:
        conn = await asyncpg.connect(plain_url(platform.database_url))
        try:
            async with conn.transaction():
                await conn.execute("lock table indicator.cells in exclusive mode")
                await asyncio.sleep(15)  # the lock's duration
        finally:
            await conn.close()

    await post_while(driver, 120, asyncio.create_task(hold_lock()))
    await settle(platform, driver)
    # The consumer waited on the lock without its group falling apart: it joined once at
    # start, and at most once more if a heartbeat was late on this loaded machine.
    joins = platform.log("indicator").read_text().count("joining group indicator.reports")
    assert 1 <= joins <= 2, f"{joins} joins of indicator.reports"
