"""Alerting end to end on real parts: status events on the embedded broker, a real PostgreSQL,
a real HTTP receiver and a real SMTP server on loopback, and a fake clock for the lifecycle."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from contracts import topics
from contracts.events import (
    MilestoneStatus,
    MilestoneStatusChanged,
    ProjectContext,
)
from services.alerting.app import create_app
from services.alerting.usecases import AlertingUseCases
from services.runtime.broker import KafkaConnection, ensure_topics
from tests.support.clock import FakeClock
from tests.support.data import project_body
from tests.support.events import milestone_changed, project_registered
from tests.support.kafka import publish
from tests.support.platform import (
    STAFF_TOKEN,
    EmbeddedKafka,
    Platform,
    free_port,
    serve,
    settings_for_tests,
)
from tests.support.waiting import eventually
from tests.support.webhooks import Receiver, receiving

pytestmark = pytest.mark.integration

STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
SECRET = "receiver-secret-0123456789"
CONTEXT = ProjectContext(name="La Tête Dans Le Nuage", sheet="cloud", regions=("84",))


def documented_verifier() -> Callable[[str, str, str, bytes], bool]:
    """The receiver's snippet from docs/alerting.md, run as written."""
    doc = (Path(__file__).parents[2] / "docs" / "alerting.md").read_text()
    code = re.search(r"<!-- signature-snippet -->\n```python\n(.*?)```", doc, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    return namespace["verify_cma_signature"]  # type: ignore[no-any-return]


@dataclass
class Stack:
    api: httpx.AsyncClient
    bootstrap: str
    clock: FakeClock
    usecases: AlertingUseCases  # the app's own: a test runs a repeat check when it means to
    project_id: uuid.UUID = field(default_factory=uuid.uuid4)

    async def subscribe(self, channel: dict[str, Any], **extra: Any) -> dict[str, Any]:
        body = {
            "name": "Nuage",
            "channel": channel,
            "filters": {"projects": [str(self.project_id)]},
        }
        r = await self.api.post("/v1/subscriptions", headers=STAFF, json=body | extra)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    async def status(
        self, status: MilestoneStatus, previous: MilestoneStatus = MilestoneStatus.PENDING
    ) -> MilestoneStatusChanged:
        event = milestone_event(self.project_id, self.clock, status, previous)
        await publish(self.bootstrap, topics.STATUS, [event])
        return event

    async def deliveries(self, subscription_id: str) -> list[dict[str, Any]]:
        r = await self.api.get(
            "/v1/deliveries", params={"subscription_id": subscription_id}, headers=STAFF
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def metrics(self) -> str:
        return (await self.api.get("/metrics")).text


def milestone_event(
    project_id: uuid.UUID,
    clock: FakeClock,
    status: MilestoneStatus,
    previous: MilestoneStatus,
    milestone_id: str = "m1",
) -> MilestoneStatusChanged:
    return milestone_changed(
        status,
        project_id,
        clock(),
        previous=previous,
        milestone_id=milestone_id,
        title="Ouverture du parcours bac+5",
        project=CONTEXT,
    )


@contextlib.asynccontextmanager
async def alerting(
    database_url: str, kafka: EmbeddedKafka, clock: FakeClock, **overrides: Any
) -> AsyncIterator[Stack]:
    settings = settings_for_tests(
        database_url,
        kafka.bootstrap,
        **{
            "delivery_backoff_base_seconds": 0.01,
            "alert_group_wait_seconds": 0,
            "webhook_allow_private": True,
        }
        | overrides,
    )
    await ensure_topics(KafkaConnection(kafka.bootstrap), topics.ALL)
    app = create_app(settings, clock)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as api:
        yield Stack(api, kafka.bootstrap, clock, app.state.usecases)


async def test_a_receiver_answering_500_twice_gets_the_notification_once_after_three_attempts(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    receiver = Receiver(statuses=[500, 500])
    async with receiving(receiver) as hook, alerting(clean_database, kafka, clock) as stack:
        sub = await stack.subscribe({"type": "webhook", "url": hook, "secret": SECRET})
        await stack.status(MilestoneStatus.OVERDUE)
        done = await eventually(
            lambda: stack.deliveries(sub["subscription_id"]),
            lambda ds: ds and ds[0]["status"] != "pending",
        )
        assert [(d["status"], d["attempts"], d["last_error"]) for d in done] == [
            ("delivered", 3, "HTTP 500")
        ]
        assert len({headers["X-CMA-Delivery"] for headers, _ in receiver.seen}) == 1
        assert [b["status"] for b in receiver.bodies()] == ["firing"] * 3
        metrics = await stack.metrics()
        assert 'cma_alerting_notifications_sent_total{channel="webhook"} 1.0' in metrics
        assert 'cma_alerting_notifications_failed_total{channel="webhook"} 2.0' in metrics
        assert 'cma_alerting_delivery_latency_seconds_count{channel="webhook"} 1.0' in metrics


async def test_a_receiver_that_is_down_gets_a_dead_delivery_seen_in_the_api_and_metrics(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    down = f"http://127.0.0.1:{free_port()}/hook"
    async with alerting(clean_database, kafka, clock, delivery_max_attempts=4) as stack:
        sub = await stack.subscribe({"type": "webhook", "url": down})
        assert len(sub["secret"]) >= 32  # generated, shown once
        await stack.status(MilestoneStatus.OVERDUE)
        done = await eventually(
            lambda: stack.deliveries(sub["subscription_id"]),
            lambda ds: ds and ds[0]["status"] == "dead",
        )
        assert done[0]["attempts"] == 4 and done[0]["last_error"].startswith("connection")
        assert done[0]["alerts"][0]["kind"] == "milestone_overdue"
        listed = (await stack.api.get("/v1/subscriptions", headers=STAFF)).json()
        assert "secret" not in listed[0] and listed[0]["channel"] == {
            "type": "webhook",
            "url": down,
        }
        metrics = await stack.metrics()
        assert 'cma_alerting_notifications_dead_lettered_total{channel="webhook"} 1.0' in metrics
        assert 'cma_alerting_notifications_failed_total{channel="webhook"} 4.0' in metrics
        assert 'cma_alerting_deliveries{status="dead"} 1.0' in metrics
        assert 'cma_alerting_alerts_firing{kind="milestone_overdue",sheet="cloud"} 1.0' in metrics


async def test_the_signature_verifies_with_the_documented_method_and_a_tampered_body_does_not(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    verify = documented_verifier()
    receiver = Receiver()
    async with receiving(receiver) as hook, alerting(clean_database, kafka, clock) as stack:
        await stack.subscribe({"type": "webhook", "url": hook, "secret": SECRET})
        await stack.status(MilestoneStatus.OVERDUE)
        await eventually(receiver.count, lambda n: n == 1)
    headers, body = receiver.seen[0]
    timestamp, signature = headers["X-CMA-Timestamp"], headers["X-CMA-Signature"]
    assert signature.startswith("sha256=")
    assert verify(SECRET, timestamp, signature, body)
    tampered = body.replace(b'"critical"', b'"warning"')
    assert tampered != body and not verify(SECRET, timestamp, signature, tampered)
    assert not verify(SECRET, str(int(timestamp) - 3600), signature, body)
    assert not verify("another-secret-0123456789", timestamp, signature, body)
    alert = json.loads(body)["alerts"][0]
    assert (alert["kind"], alert["status"], alert["severity"]) == (
        "milestone_overdue",
        "firing",
        "critical",
    )


async def test_a_duplicate_event_notifies_once_and_firing_then_resolved_notifies_exactly_twice(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    receiver = Receiver()
    async with receiving(receiver) as hook, alerting(clean_database, kafka, clock) as stack:
        sub = await stack.subscribe({"type": "webhook", "url": hook, "secret": SECRET})
        overdue = milestone_event(
            stack.project_id, clock, MilestoneStatus.OVERDUE, MilestoneStatus.PENDING
        )
        await publish(kafka.bootstrap, topics.STATUS, [overdue, overdue])
        duplicate = 'cma_alerting_events_total{consumer="alerting.status",outcome="duplicate"} 1.0'
        await eventually(stack.metrics, lambda text: duplicate in text)
        await eventually(receiver.count, lambda n: n == 1)
        clock.advance(hours=2)
        await stack.status(MilestoneStatus.MET_LATE, previous=MilestoneStatus.OVERDUE)
        await eventually(receiver.count, lambda n: n == 2)
        clock.advance(hours=1)
        await stack.status(MilestoneStatus.MET_LATE, previous=MilestoneStatus.MET_LATE)
        applied = 'cma_alerting_events_total{consumer="alerting.status",outcome="applied"} 3.0'
        await eventually(stack.metrics, lambda text: applied in text)  # and committed
        assert await stack.usecases.repeat_firing() == 0  # the resolved alert is not repeated
        # Whatever the third event or the repeat check queued would be a delivery by now.
        deliveries = await stack.deliveries(sub["subscription_id"])
        assert [d["alerts"][0]["status"] for d in deliveries] == ["resolved", "firing"]
        assert [b["status"] for b in receiver.bodies()] == ["firing", "resolved"]
        resolved = receiver.bodies()[1]["alerts"]
        assert [(a["kind"], a["status"]) for a in resolved] == [("milestone_overdue", "resolved")]
        assert resolved[0]["ends_at"] is not None


async def test_a_still_firing_alert_is_sent_again_only_after_the_repeat_interval(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    receiver = Receiver()
    async with receiving(receiver) as hook, alerting(clean_database, kafka, clock) as stack:
        channel = {"type": "webhook", "url": hook, "secret": SECRET}
        sub = await stack.subscribe(channel, repeat_interval_seconds=3600)
        await stack.status(MilestoneStatus.AT_RISK)
        await eventually(receiver.count, lambda n: n == 1)
        clock.advance(minutes=30)
        await stack.status(MilestoneStatus.OVERDUE, previous=MilestoneStatus.AT_RISK)
        await eventually(receiver.count, lambda n: n == 2)
        moved = receiver.bodies()[1]["alerts"]  # at_risk resolved and overdue fired, together
        assert [(a["kind"], a["status"]) for a in moved] == [
            ("milestone_at_risk", "resolved"),
            ("milestone_overdue", "firing"),
        ]
        clock.advance(minutes=59)
        assert await stack.usecases.repeat_firing() == 0  # 59 minutes are not an hour
        assert len(await stack.deliveries(sub["subscription_id"])) == 2
        clock.advance(minutes=1)
        await eventually(receiver.count, lambda n: n == 3)
        again = receiver.bodies()[2]["alerts"]
        assert [(a["kind"], a["status"]) for a in again] == [("milestone_overdue", "firing")]
        # at_risk was last told (resolved) an hour ago, as long as its repeat interval.
        assert await stack.usecases.repeat_firing() == 0  # a resolved alert is never repeated
        assert len(await stack.deliveries(sub["subscription_id"])) == 3


async def test_alerts_for_one_subscriber_within_the_group_wait_go_out_in_one_notification(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    receiver = Receiver()
    async with (
        receiving(receiver) as hook,
        alerting(clean_database, kafka, clock, alert_group_wait_seconds=3) as stack,
    ):
        sub = await stack.subscribe({"type": "webhook", "url": hook, "secret": SECRET})
        for n, milestone_id in enumerate(("m1", "m2"), start=1):  # two separate transactions
            event = milestone_event(
                stack.project_id,
                clock,
                MilestoneStatus.OVERDUE,
                MilestoneStatus.PENDING,
                milestone_id,
            )
            await publish(kafka.bootstrap, topics.STATUS, [event])
            applied = (
                f'cma_alerting_events_total{{consumer="alerting.status",outcome="applied"}} {n}.0'
            )
            await eventually(stack.metrics, lambda text, applied=applied: applied in text)
        assert await receiver.count() == 0  # still waiting for the group
        await eventually(receiver.count, lambda n: n == 1)
        subjects = [a["subject"] for a in receiver.bodies()[0]["alerts"]]
        assert subjects == ["m1", "m2"]
        assert len(await stack.deliveries(sub["subscription_id"])) == 1


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def count(self) -> int:
        return len(self.messages)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


async def test_an_email_subscription_receives_the_alert_on_a_real_smtp_server(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        async with alerting(clean_database, kafka, clock, smtp_port=smtp.port) as stack:
            await stack.status(MilestoneStatus.OVERDUE)
            firing = 'cma_alerting_alerts_firing{kind="milestone_overdue",sheet="cloud"} 1.0'
            await eventually(stack.metrics, lambda text: firing in text)
            # Subscribed after the alert fired: it is told what already fires.
            await stack.subscribe({"type": "email", "address": "delegue@example.org"})
            await eventually(mailbox.count, lambda n: n == 1)
    finally:
        smtp.stop()
    recipients, raw = mailbox.messages[0]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    summary = "Jalon « Ouverture du parcours bac+5 » de La Tête Dans Le Nuage en retard"
    assert recipients == ["delegue@example.org"]
    assert message["Subject"] == f"[CMA] EN COURS : {summary} (échéance 2025-08-31)"
    assert message["From"] == "alertes-cma@localhost" and message["X-CMA-Delivery"]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert summary in text and "[EN COURS] critique milestone_overdue" in text
    assert "Abonnement « " in text and "1 alerte." in text and "projet La Tête" in text
    assert "<strong>EN COURS</strong>" in page and "La Tête Dans Le Nuage" in page


async def test_a_project_token_cannot_subscribe_to_another_projects_alerts(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    mine, other = uuid.uuid4(), uuid.uuid4()
    token = {"Authorization": "Bearer cmap_project-token-for-tests"}
    async with alerting(clean_database, kafka, clock) as stack:
        await publish(
            kafka.bootstrap,
            topics.PROJECTS,
            [project_registered(mine, token="cmap_project-token-for-tests")],
        )

        async def listing() -> int:
            return (await stack.api.get("/v1/subscriptions", headers=token)).status_code

        await eventually(listing, lambda code: code == 200)  # the project is known
        channel = {"type": "email", "address": "projet@example.org"}
        for projects in ([str(other)], [], [str(mine), str(other)]):
            body = {"name": "x", "channel": channel, "filters": {"projects": projects}}
            r = await stack.api.post("/v1/subscriptions", headers=token, json=body)
            assert r.status_code == 403, (projects, r.text)
        assert (await stack.api.get("/v1/subscriptions", headers=STAFF)).json() == []

        body = {"name": "mine", "channel": channel, "filters": {"projects": [str(mine)]}}
        r = await stack.api.post("/v1/subscriptions", headers=token, json=body)
        assert r.status_code == 201 and r.json()["owner_project_id"] == str(mine)
        staff_sub = await stack.subscribe({"type": "email", "address": "sgpi@example.org"})
        own = (await stack.api.get("/v1/subscriptions", headers=token)).json()
        assert [s["name"] for s in own] == ["mine"]
        r = await stack.api.get(
            "/v1/deliveries",
            params={"subscription_id": staff_sub["subscription_id"]},
            headers=token,
        )
        assert r.status_code == 403


async def test_end_to_end_an_overdue_milestone_is_alerted_then_resolved_when_completed(
    platform: Platform,
) -> None:
    """The issue's scenario on the whole embedded stack: intake → milestone → alerting."""
    receiver = Receiver()
    settings = platform.settings.model_copy(
        update={"alert_group_wait_seconds": 0, "webhook_allow_private": True}
    )
    async with (
        receiving(receiver) as hook,
        serve(create_app(settings, platform.clock)) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as api,
    ):
        milestone = {"milestone_id": "m1", "title": "Ouverture", "due_date": "2025-08-31"}
        r = await platform.intake.post(
            "/v1/projects", headers=platform.staff, json=project_body(milestones=[milestone])
        )
        assert r.status_code == 201, r.text
        project_id = r.json()["project_id"]
        token = {"Authorization": f"Bearer {r.json()['api_token']}"}

        async def known() -> int:  # alerting has the project's token hash
            return (await api.get("/v1/subscriptions", headers=token)).status_code

        await eventually(known, lambda code: code == 200)
        body = {
            "name": "my milestones",
            "channel": {"type": "webhook", "url": hook, "secret": SECRET},
            "filters": {"projects": [project_id], "kinds": ["milestone_overdue"]},
        }  # the project's unreported semesters fire `report_overdue` too: not wanted here
        assert (await api.post("/v1/subscriptions", headers=token, json=body)).status_code == 201

        async def tick() -> int:  # once milestone knows the project, its tick finds m1 overdue
            await platform.ticker.tick()
            return await receiver.count()

        await eventually(tick, lambda n: n == 1)
        r = await platform.intake.post(
            f"/v1/projects/{project_id}/milestones/m1/complete",
            headers=token,
            json={"completed_on": "2025-09-01"},
        )
        assert r.status_code in (200, 201, 202), r.text
        await eventually(receiver.count, lambda n: n == 2)
    verify = documented_verifier()
    for headers, raw in receiver.seen:
        assert verify(SECRET, headers["X-CMA-Timestamp"], headers["X-CMA-Signature"], raw)
    alerts = [(a["kind"], a["status"]) for b in receiver.bodies() for a in b["alerts"]]
    assert alerts == [("milestone_overdue", "firing"), ("milestone_overdue", "resolved")]
