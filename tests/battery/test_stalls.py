"""Instances frozen (SIGSTOP) in the middle of a network call: the work they held is taken
over by another instance within its lease, in order, and their late answers change nothing
(issue 20: leases, not transactions held across network calls)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request, Response

from contracts.events import MilestoneStatus
from contracts.topics import REPORTS, STATUS
from tests.battery.driver import Driver, Project
from tests.battery.oracle import check_bookkeeping, converged_totals
from tests.support.database import fetch, plain_url
from tests.support.events import milestone_changed
from tests.support.kafka import publish, read_all
from tests.support.platform import STAFF, PlatformProcesses, serve
from tests.support.waiting import eventually

pytestmark = pytest.mark.battery

DELIVERY_LEASE = 5.0  # CMA_DELIVERY_LEASE_SECONDS
OUTBOX_LEASE = 3.0  # CMA_OUTBOX_LEASE_SECONDS
SLOW = 2.0  # the receiver's answer time


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    """Short leases, and what a webhook to a slow receiver on 127.0.0.1 needs."""
    return {
        "outbox_lease_seconds": OUTBOX_LEASE,
        "delivery_lease_seconds": DELIVERY_LEASE,
        "delivery_timeout_seconds": SLOW * 2,
        "alert_group_wait_seconds": 0,
        "webhook_allow_private": True,
    }


def holding(platform: PlatformProcesses, holder: str) -> str:
    """The service whose process a lease holder (`host/pid/random`) names."""
    return platform.name_of(int(holder.split("/")[1]))


async def assigned(platform: PlatformProcesses, name: str, group: str) -> bool:
    """Whether `name` was given partitions in consumer group `group` (its log says so)."""
    return any(
        "Setting newly assigned partitions" in line and line.endswith(f"for group {group}")
        for line in platform.log(name).read_text().splitlines()
    )


def now() -> float:
    return asyncio.get_running_loop().time()


async def metric(url: str, line: str) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    return next((float(x.split()[-1]) for x in text.splitlines() if x.startswith(line)), 0.0)


# --- alerting ------------------------------------------------------------------------------


@dataclass
class SlowReceiver:
    """Answers every webhook after `SLOW` seconds; the first one only once the test allows it,
    and with a 500, so that a late answer recorded would show (a retry, a third request)."""

    seen: list[tuple[float, str]] = field(default_factory=list)  # (arrival, X-CMA-Delivery)
    first: asyncio.Event = field(default_factory=asyncio.Event)
    first_may_answer: asyncio.Event = field(default_factory=asyncio.Event)

    async def count(self) -> int:
        return len(self.seen)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.seen.append((now(), request.headers["X-CMA-Delivery"]))
            if len(self.seen) == 1:
                self.first.set()
                await self.first_may_answer.wait()
                await asyncio.sleep(SLOW)
                return Response(status_code=500)
            await asyncio.sleep(SLOW)
            return Response(status_code=200)

        return app


async def test_an_alerting_instance_frozen_mid_send_loses_the_notification_to_the_other(
    processes: PlatformProcesses,
) -> None:
    deliveries = "select * from alerting.deliveries"
    receiver = SlowReceiver()
    async with serve(receiver.app()) as receiver_url:
        names = ("alerting", "alerting-2")
        for name in names:
            await processes.start(name)
        for name in names:  # a replica's loops start once its consumers have joined
            for group in ("alerting.status", "alerting.projects"):
                await eventually(
                    functools.partial(assigned, processes, name, group),
                    True,
                    within=60,
                    what=f"{name} assigned partitions of {group}",
                )
        project_id = uuid.uuid4()
        body = {
            "name": "Nuage",
            "channel": {"type": "webhook", "url": f"{receiver_url}/hook", "secret": "s" * 32},
            "filters": {"projects": [str(project_id)]},
        }
        async with httpx.AsyncClient(base_url=processes.url("alerting"), headers=STAFF) as api:
            assert (await api.post("/v1/subscriptions", json=body)).status_code == 201
        overdue = milestone_changed(MilestoneStatus.OVERDUE, project_id, datetime.now(UTC))
        await publish(processes.bootstrap, STATUS, [overdue])
        await asyncio.wait_for(receiver.first.wait(), 60)

        [claim] = await fetch(processes.database_url, deliveries)
        sender = holding(processes, claim["claimed_by"])  # the instance mid-send
        processes.freeze(sender)
        receiver.first_may_answer.set()  # its answer waits in the frozen process's socket
        try:
            await eventually(receiver.count, lambda n: n >= 2, what="webhook requests")
            taken_over_after = receiver.seen[1][0] - receiver.seen[0][0]
            delivered = await eventually(
                lambda: fetch(processes.database_url, deliveries),
                lambda rows: rows[0]["status"] == "delivered",
                what="the delivery recorded as delivered",
            )
        finally:
            processes.thaw(sender)
        print(f"\nalerting: sent again {taken_over_after:.1f}s after the first send")

        lost = 'cma_alerting_delivery_claims_lost_total{channel="webhook"}'
        await eventually(  # it woke, got its answer, and found its claim gone
            lambda: metric(processes.url(sender), lost), 1.0, what=f"{sender}'s lost claims"
        )
        assert receiver.seen[1][1] == receiver.seen[0][1]  # the same delivery id
        assert taken_over_after <= DELIVERY_LEASE + 3, taken_over_after
        after = await fetch(processes.database_url, deliveries)
        assert after == delivered  # the late 500 overwrote nothing
        assert (after[0]["attempts"], after[0]["last_error"]) == (2, None)
        assert holding(processes, after[0]["claimed_by"]) != sender
        sent = 'cma_alerting_notifications_sent_total{channel="webhook"}'
        counts = [await metric(processes.url(name), sent) for name in names]
        assert counts.count(1.0) == 1  # recorded once
        assert len(receiver.seen) == 2  # no retry came of the late answer


# --- intake's outbox relay -----------------------------------------------------------------


@dataclass
class OutboxWatch:
    """How long each committed outbox row waits unsent, as seen from outside every 0.1 s."""

    database_url: str
    first_unsent: dict[int, float] = field(default_factory=dict)
    waited: dict[int, float] = field(default_factory=dict)

    async def run(self) -> None:
        conn = await asyncpg.connect(plain_url(self.database_url))
        try:
            while True:
                rows = await conn.fetch("select seq from intake.outbox where sent_at is null")
                unsent, at = {r["seq"] for r in rows}, now()
                for seq in unsent:
                    self.first_unsent.setdefault(seq, at)
                for seq, since in self.first_unsent.items():
                    if seq not in unsent and seq not in self.waited:
                        self.waited[seq] = at - since
                await asyncio.sleep(0.1)
        finally:
            await conn.close()


async def post_in_turn(driver: Driver, project: Project, urls: list[str], count: int) -> None:
    """One client per project, each report after the previous one's answer, alternating
    between the intake replicas (a round-robin balancer); a replica that does not answer
    within 2 s gets the same request (same Idempotency-Key) sent to the other one."""
    async with httpx.AsyncClient(timeout=2) as client:
        for n in range(count):
            _, body = driver.report()
            path = f"/v1/projects/{project.project_id}/reports"
            headers = {**project.token, "Idempotency-Key": str(uuid.uuid4())}
            answer = None
            for attempt in range(100):
                url = urls[(n + attempt) % len(urls)]
                try:
                    answer = await client.post(f"{url}{path}", headers=headers, json=body)
                except httpx.HTTPError:
                    continue
                if answer.status_code != 503:
                    break
            assert answer is not None and answer.status_code in (200, 201), answer
            driver.accepted += 1
            project.latest[str(body["period"])] = list(body["cells"])  # type: ignore[call-overload]


async def test_an_intake_relay_frozen_mid_publish_keeps_each_projects_order_within_the_lease(
    platform: PlatformProcesses,
) -> None:
    replicas = ("intake", "intake-2")  # and indicator, for the oracle's totals
    await platform.start("intake-2")
    intakes = [platform.url(name) for name in replicas]
    driver = Driver(intakes[0], random.Random(20))
    async with httpx.AsyncClient(base_url=intakes[0]) as client:
        await driver.register(client, 6)
    watch = OutboxWatch(platform.database_url)
    watching = asyncio.create_task(watch.run())
    leases = "select holder from intake.leases where name = 'outbox-relay'"
    timings: dict[str, float] = {}

    async def freeze_the_active_relay() -> None:
        # Under load, the active relay spends most of its time publishing or awaiting acks.
        written = "select count(*) from intake.outbox"
        await eventually(
            lambda: fetch(platform.database_url, written),
            lambda rows: rows[0][0] >= 50,
            within=60,
            what="outbox rows written",
        )
        [(holder,)] = await fetch(platform.database_url, leases)
        frozen = holding(platform, holder)
        platform.freeze(frozen)
        frozen_at = now()
        try:
            await eventually(
                lambda: fetch(platform.database_url, leases),
                lambda rows: rows[0]["holder"] != holder,
                what=f"the relay lease taken from {frozen} ({holder})",
            )
            timings["takeover"] = now() - frozen_at
            await asyncio.sleep(max(0.0, 8 - (now() - frozen_at)))  # the fault: 8 s frozen
        finally:
            platform.thaw(frozen)

    try:
        await asyncio.gather(
            *(post_in_turn(driver, p, intakes, 25) for p in driver.projects),
            freeze_the_active_relay(),
        )
        driver.intake_url = intakes[1]
        await converged_totals(driver, platform.url("indicator"), 60)
        await check_bookkeeping(platform.database_url, platform.bootstrap)
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching

    rows = await fetch(
        platform.database_url,
        "select event_id, key from intake.outbox where topic = $1 order by seq",
        REPORTS.name,
    )
    expected: dict[bytes, list[str]] = defaultdict(list)
    for row in rows:
        expected[row["key"]].append(str(row["event_id"]))
    records = await read_all(platform.bootstrap, REPORTS)
    first_copies: dict[bytes, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for record in records:  # by partition and offset; a project's events share a partition
        event_id = json.loads(record.value)["event_id"]
        if event_id not in seen:
            seen.add(event_id)
            first_copies[record.key].append(event_id)
    assert dict(first_copies) == dict(expected)
    longest = max(watch.waited.values(), default=0.0)
    print(
        f"\nintake: {len(rows)} events, takeover {timings['takeover']:.1f}s after the freeze, "
        f"longest wait unsent {longest:.1f}s (lease {OUTBOX_LEASE}s), "
        f"{len(records) - len(seen)} late duplicates in Kafka"
    )
    assert timings["takeover"] <= OUTBOX_LEASE + 2, timings
    assert longest <= OUTBOX_LEASE + 2, longest
