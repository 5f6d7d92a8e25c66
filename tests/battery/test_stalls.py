"""Instances frozen (SIGSTOP) in the middle of a network call: the work they held is taken
over by another instance within its lease, in order, and their late answers change nothing
(issue 20: leases, not transactions held across network calls)."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request, Response

from contracts.events import MilestoneStatus
from contracts.topics import REPORTS, STATUS
from services.launcher.embedded import EmbeddedKafka, EmbeddedPostgres
from services.runtime.migrations import upgrade_all_async
from tests.battery.driver import STAFF, Driver, Project
from tests.battery.oracle import check_bookkeeping, converged_totals
from tests.battery.stack import Service, Stack
from tests.conftest import plain_url
from tests.support.events import milestone_changed
from tests.support.kafka import publish, read_all
from tests.support.platform import serve

pytestmark = pytest.mark.battery
T = TypeVar("T")

DELIVERY_LEASE = 5.0  # CMA_DELIVERY_LEASE_SECONDS
OUTBOX_LEASE = 3.0  # CMA_OUTBOX_LEASE_SECONDS
SLOW = 2.0  # the receiver's answer time


@dataclass
class Stalls(Stack):
    """The battery's processes with settings of their own, which a test may freeze."""

    settings: dict[str, str] = field(default_factory=dict)
    frozen: set[str] = field(default_factory=set)

    def env(self, service: Service) -> dict[str, str]:
        return super().env(service) | self.settings

    async def assigned(self, name: str, group: str) -> bool:
        """Whether `name` was given partitions in consumer group `group` (its log says so)."""
        return any(
            "Setting newly assigned partitions" in line and line.endswith(f"for group {group}")
            for line in self.services[name].log.read_text().splitlines()
        )

    def name_of(self, holder: str) -> str:
        """The service whose process a lease holder (`host/pid/random`) names."""
        pid = int(holder.split("/")[1])
        return next(n for n, s in self.services.items() if s.process and s.process.pid == pid)

    def freeze(self, name: str) -> None:
        """SIGSTOP: the process keeps its sockets and sessions but runs nothing, as a paused
        VM or a frozen container would."""
        self._signal(name, signal.SIGSTOP)
        self.frozen.add(name)

    def thaw(self, name: str) -> None:
        self._signal(name, signal.SIGCONT)
        self.frozen.discard(name)

    def _signal(self, name: str, number: signal.Signals) -> None:
        process = self.services[name].process
        assert process is not None
        process.send_signal(number)

    def stop_all(self) -> None:
        for name in list(self.frozen):
            self.thaw(name)
        super().stop_all()


@pytest.fixture
async def stalls(battery_postgres: EmbeddedPostgres, tmp_path: Path) -> AsyncIterator[Stalls]:
    url = await battery_postgres.create_database(f"battery_{uuid.uuid4().hex[:8]}")
    await upgrade_all_async(url)
    kafka = EmbeddedKafka(log_file=tmp_path / "tansu.log")
    kafka.start()
    stalls = Stalls(battery_postgres, url, kafka, tmp_path)
    try:
        yield stalls
    finally:
        stalls.stop_all()
        kafka.stop()


async def polled(read: Callable[[], Awaitable[T]], ok: Callable[[T], bool], within: float) -> T:
    deadline = asyncio.get_running_loop().time() + within
    while not ok(value := await read()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {value!r} after {within}s")
        await asyncio.sleep(0.05)
    return value


def now() -> float:
    return asyncio.get_running_loop().time()


async def fetch(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


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
    stalls: Stalls,
) -> None:
    stalls.settings |= {
        "CMA_WEBHOOK_ALLOW_PRIVATE": "true",
        "CMA_ALERT_GROUP_WAIT_SECONDS": "0",
        "CMA_DELIVERY_LEASE_SECONDS": str(DELIVERY_LEASE),
        "CMA_DELIVERY_TIMEOUT_SECONDS": str(SLOW * 2),
    }
    receiver = SlowReceiver()
    async with serve(receiver.app()) as receiver_url:
        for name in ("alerting", "alerting-2"):
            await asyncio.to_thread(stalls.start, name)
        urls = {name: service.url for name, service in stalls.services.items()}
        for name in urls:  # a replica's loops start once its consumers have joined
            for group in ("alerting.status", "alerting.projects"):
                await polled(lambda n=name, g=group: stalls.assigned(n, g), bool, within=60)
        project_id = uuid.uuid4()
        body = {
            "name": "Nuage",
            "channel": {"type": "webhook", "url": f"{receiver_url}/hook", "secret": "s" * 32},
            "filters": {"projects": [str(project_id)]},
        }
        async with httpx.AsyncClient(base_url=urls["alerting"], headers=STAFF) as api:
            assert (await api.post("/v1/subscriptions", json=body)).status_code == 201
        overdue = milestone_changed(MilestoneStatus.OVERDUE, project_id, datetime.now(UTC))
        await publish(stalls.kafka.bootstrap, STATUS, [overdue])
        await asyncio.wait_for(receiver.first.wait(), 60)

        [claim] = await fetch(stalls.database_url, "select * from alerting.deliveries")
        sender = stalls.name_of(claim["claimed_by"])  # the instance mid-send
        stalls.freeze(sender)
        receiver.first_may_answer.set()  # its answer waits in the frozen process's socket
        try:
            await polled(receiver.count, lambda n: n >= 2, 30)
            taken_over_after = receiver.seen[1][0] - receiver.seen[0][0]
            delivered = await polled(
                lambda: fetch(stalls.database_url, "select * from alerting.deliveries"),
                lambda rows: rows[0]["status"] == "delivered",
                within=30,
            )
        finally:
            stalls.thaw(sender)
        print(f"\nalerting: sent again {taken_over_after:.1f}s after the first send")

        lost = 'cma_alerting_delivery_claims_lost_total{channel="webhook"}'
        await polled(lambda: metric(urls[sender], lost), lambda n: n == 1, 30)  # it woke, answered
        assert receiver.seen[1][1] == receiver.seen[0][1]  # the same delivery id
        assert taken_over_after <= DELIVERY_LEASE + 3, taken_over_after
        after = await fetch(stalls.database_url, "select * from alerting.deliveries")
        assert after == delivered  # the late 500 overwrote nothing
        assert (after[0]["attempts"], after[0]["last_error"]) == (2, None)
        assert stalls.name_of(after[0]["claimed_by"]) != sender
        sent = 'cma_alerting_notifications_sent_total{channel="webhook"}'
        assert [await metric(u, sent) for u in urls.values()].count(1.0) == 1  # recorded once
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
    stalls: Stalls,
) -> None:
    stalls.settings["CMA_OUTBOX_LEASE_SECONDS"] = str(OUTBOX_LEASE)
    replicas = ("intake", "intake-2")
    for name in replicas:
        await asyncio.to_thread(stalls.start, name)
    await asyncio.to_thread(stalls.start, "indicator")  # for the oracle's totals
    intakes = [stalls.services[n].url for n in replicas]
    driver = Driver(intakes[0], random.Random(20))
    async with httpx.AsyncClient(base_url=intakes[0]) as client:
        await driver.register(client, 6)
    watch = OutboxWatch(stalls.database_url)
    watching = asyncio.create_task(watch.run())
    leases = "select holder from intake.leases where name = 'outbox-relay'"
    timings: dict[str, float] = {}

    async def freeze_the_active_relay() -> None:
        # Under load, the active relay spends most of its time publishing or awaiting acks.
        written = "select count(*) as n from intake.outbox"
        await polled(lambda: fetch(stalls.database_url, written), lambda r: r[0]["n"] >= 50, 60)
        [holder] = await fetch(stalls.database_url, leases)
        frozen = stalls.name_of(holder["holder"])
        stalls.freeze(frozen)
        frozen_at = now()
        try:
            await polled(
                lambda: fetch(stalls.database_url, leases),
                lambda rows: rows[0]["holder"] != holder["holder"],
                within=30,
            )
            timings["takeover"] = now() - frozen_at
            await asyncio.sleep(max(0.0, 8 - (now() - frozen_at)))  # frozen 8 s in all
        finally:
            stalls.thaw(frozen)

    await asyncio.gather(
        *(post_in_turn(driver, p, intakes, 25) for p in driver.projects),
        freeze_the_active_relay(),
    )
    driver.intake_url = intakes[1]
    await converged_totals(driver, stalls.services["indicator"].url, 60)
    await check_bookkeeping(stalls.database_url, stalls.kafka.bootstrap)
    watching.cancel()

    rows = await fetch(
        stalls.database_url,
        "select event_id, key from intake.outbox where topic = $1 order by seq",
        REPORTS.name,
    )
    expected: dict[bytes, list[str]] = defaultdict(list)
    for row in rows:
        expected[row["key"]].append(str(row["event_id"]))
    records = await read_all(stalls.kafka.bootstrap, REPORTS, timeout_ms=3000)
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
