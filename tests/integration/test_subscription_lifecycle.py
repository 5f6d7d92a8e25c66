"""A subscription's life through the API, on real parts (PostgreSQL, the embedded broker, a
real HTTP receiver and a real SMTP server on loopback): deleted, paused and resumed, tested,
re-keyed, unsubscribed from an e-mail's link; a dead delivery sent again; the alerts listed."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

from contracts import topics
from contracts.events import MilestoneStatus
from tests.integration.test_alerting_delivery import (
    SECRET,
    STAFF,
    Mailbox,
    Stack,
    alerting,
    documented_verifier,
    milestone_event,
)
from tests.support.clock import FakeClock
from tests.support.events import project_registered
from tests.support.kafka import publish
from tests.support.platform import EmbeddedKafka, free_port
from tests.support.waiting import eventually
from tests.support.webhooks import Receiver, receiving

pytestmark = pytest.mark.integration

PUBLIC_URL = "https://alertes.example.org"


async def applied(stack: Stack, n: int) -> None:
    """Waits until the status consumer has applied (and committed) `n` events."""
    line = f'cma_alerting_events_total{{consumer="alerting.status",outcome="applied"}} {n}.0'
    await eventually(stack.metrics, lambda text: line in text)


async def overdue(stack: Stack, milestone_id: str = "m1") -> None:
    event = milestone_event(
        stack.project_id,
        stack.clock,
        MilestoneStatus.OVERDUE,
        MilestoneStatus.PENDING,
        milestone_id,
    )
    await publish(stack.bootstrap, topics.STATUS, [event])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        yield box, smtp.port
    finally:
        smtp.stop()


async def test_a_deleted_subscription_receives_nothing_more_and_its_log_stays(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    receiver = Receiver()
    async with (
        receiving(receiver) as hook,
        alerting(clean_database, kafka, clock, alert_group_wait_seconds=5) as stack,
    ):
        sub = await stack.subscribe({"type": "webhook", "url": hook, "secret": SECRET})
        path = f"/v1/subscriptions/{sub['subscription_id']}"
        await overdue(stack)
        queued = await eventually(lambda: stack.deliveries(sub["subscription_id"]), bool)
        assert queued[0]["status"] == "pending"  # waiting for its group

        assert (await stack.api.delete(path, headers=STAFF)).status_code == 204
        assert (await stack.api.get(path, headers=STAFF)).status_code == 404
        assert (await stack.api.delete(path, headers=STAFF)).status_code == 404
        listed = (await stack.api.get("/v1/subscriptions", headers=STAFF)).json()
        assert listed == []
        await overdue(stack, "m2")
        await applied(stack, 2)
        clock.advance(days=1)
        assert await stack.usecases.repeat_firing() == 0
        log = await stack.deliveries(sub["subscription_id"])  # the log stays, for staff
        assert [d["status"] for d in log] == ["cancelled"]
        assert 'cma_alerting_deliveries{status="cancelled"} 1.0' in await stack.metrics()
    assert receiver.seen == []


async def test_a_paused_subscription_receives_nothing_while_paused_then_resumes(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    receiver = Receiver()
    async with receiving(receiver) as hook, alerting(clean_database, kafka, clock) as stack:
        sub = await stack.subscribe({"type": "webhook", "url": hook, "secret": SECRET})
        path = f"/v1/subscriptions/{sub['subscription_id']}"
        r = await stack.api.patch(path, headers=STAFF, json={"paused": True})
        assert r.status_code == 200 and r.json()["paused"] is True, r.text
        assert r.json()["secret"] is None  # no new key: none was generated
        await overdue(stack)
        await applied(stack, 1)
        clock.advance(days=1)
        assert await stack.usecases.repeat_firing() == 0
        assert await stack.deliveries(sub["subscription_id"]) == []

        r = await stack.api.patch(path, headers=STAFF, json={"paused": False})
        assert r.status_code == 200 and r.json()["paused"] is False, r.text
        await eventually(receiver.count, 1)  # told at once what fires now
        assert [a["subject"] for a in receiver.bodies()[0]["alerts"]] == ["m1"]
        resolved = milestone_event(
            stack.project_id, clock, MilestoneStatus.MET_LATE, MilestoneStatus.OVERDUE
        )
        await publish(kafka.bootstrap, topics.STATUS, [resolved])
        await eventually(receiver.count, 2)
        assert receiver.bodies()[1]["status"] == "resolved"


async def test_a_dead_delivery_retried_to_a_receiver_that_now_answers_is_delivered(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    receiver = Receiver(statuses=[410])  # refused for good: dead at once
    async with receiving(receiver) as hook, alerting(clean_database, kafka, clock) as stack:
        sub = await stack.subscribe({"type": "webhook", "url": hook, "secret": SECRET})
        await overdue(stack)
        dead = await eventually(
            lambda: stack.deliveries(sub["subscription_id"]),
            lambda ds: ds and ds[0]["status"] == "dead",
        )
        retry = f"/v1/deliveries/{dead[0]['delivery_id']}/retry"
        r = await stack.api.post(retry, headers=STAFF)
        assert r.status_code == 202 and r.json()["status"] == "pending", r.text
        done = await eventually(
            lambda: stack.deliveries(sub["subscription_id"]),
            lambda ds: ds[0]["status"] == "delivered",
        )
        assert done[0]["delivery_id"] == dead[0]["delivery_id"] and done[0]["attempts"] == 1
        assert len({headers["X-CMA-Delivery"] for headers, _ in receiver.seen}) == 1
        assert await receiver.count() == 2
        again = await stack.api.post(retry, headers=STAFF)
        assert again.status_code == 409 and "dead" in again.json()["detail"]
        missing = await stack.api.post(f"/v1/deliveries/{uuid.uuid4()}/retry", headers=STAFF)
        assert missing.status_code == 404


async def test_the_one_click_unsubscribe_link_pauses_the_subscription_and_a_forged_one_does_not(
    clean_database: str,
    kafka: EmbeddedKafka,
    clock: FakeClock,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    async with alerting(
        clean_database, kafka, clock, smtp_port=port, alerting_public_url=PUBLIC_URL
    ) as stack:
        sub = await stack.subscribe({"type": "email", "address": "delegue@example.org"})
        other = await stack.subscribe({"type": "email", "address": "autre@example.org"})
        await overdue(stack)
        await eventually(box.count, 2)
        mine = next(raw for to, raw in box.messages if to == ["delegue@example.org"])
        message = email.message_from_bytes(mine, policy=email.policy.default)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = str(message["List-Unsubscribe"]).strip("<>")
        assert link.startswith(f"{PUBLIC_URL}/unsubscribe/{sub['subscription_id']}/")
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert link in text
        path = urlsplit(link).path
        state = f"/v1/subscriptions/{sub['subscription_id']}"

        async def paused(subscription: str = state) -> bool:
            return bool((await stack.api.get(subscription, headers=STAFF)).json()["paused"])

        page = await stack.api.get(path)  # a mail client fetching the link changes nothing
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert '<form method="post">' in page.text and "Suspendre" in page.text
        assert not await paused()

        signature = path.rsplit("/", 1)[1]
        tampered = signature[:-1] + ("A" if signature[-1] != "A" else "B")
        forged = [
            path.replace(signature, tampered),
            f"/unsubscribe/{other['subscription_id']}/{signature}",  # my signature, its id
            f"/unsubscribe/{sub['subscription_id']}/{'x' * 43}",
        ]
        for bad in forged:
            for method in ("GET", "POST"):
                r = await stack.api.request(method, bad)
                assert r.status_code == 403, (bad, r.text)
                assert r.headers["content-type"] == "application/problem+json"
        assert not await paused() and not await paused(
            f"/v1/subscriptions/{other['subscription_id']}"
        )

        r = await stack.api.post(
            path,
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 200 and "suspendu" in r.text, r.text
        assert await paused()
        assert not await paused(f"/v1/subscriptions/{other['subscription_id']}")
        await overdue(stack, "m2")
        await applied(stack, 2)
        assert len(await stack.deliveries(sub["subscription_id"])) == 1  # nothing more
        assert len(await stack.deliveries(other["subscription_id"])) == 2


async def test_a_test_notification_reaches_the_receiver_and_answers_with_its_outcome(
    clean_database: str,
    kafka: EmbeddedKafka,
    clock: FakeClock,
    mailbox: tuple[Mailbox, int],
) -> None:
    box, port = mailbox
    receiver = Receiver()
    down = f"http://127.0.0.1:{free_port()}/hook"
    async with (
        receiving(receiver) as hook,
        alerting(clean_database, kafka, clock, smtp_port=port) as stack,
    ):
        hooked = await stack.subscribe({"type": "webhook", "url": hook, "secret": SECRET})
        r = await stack.api.post(
            f"/v1/subscriptions/{hooked['subscription_id']}/test", headers=STAFF
        )
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["attempts"], r.json()["alerts"]) == (
            "delivered",
            1,
            [],
        )
        headers, raw = receiver.seen[0]  # already there: the answer waited for the outcome
        assert documented_verifier()(
            SECRET, headers["X-CMA-Timestamp"], headers["X-CMA-Signature"], raw
        )
        assert receiver.bodies()[0]["status"] == "test"
        assert headers["X-CMA-Delivery"] == r.json()["delivery_id"]

        mailed = await stack.subscribe({"type": "email", "address": "delegue@example.org"})
        r = await stack.api.post(
            f"/v1/subscriptions/{mailed['subscription_id']}/test", headers=STAFF
        )
        assert r.json()["status"] == "delivered", r.text
        message = email.message_from_bytes(box.messages[0][1], policy=email.policy.default)
        assert message["Subject"].startswith("[CMA] TEST") and message["List-Unsubscribe"]

        unreachable = await stack.subscribe({"type": "webhook", "url": down})
        r = await stack.api.post(
            f"/v1/subscriptions/{unreachable['subscription_id']}/test", headers=STAFF
        )
        failed = r.json()
        assert (failed["status"], failed["attempts"]) == ("dead", 1), r.text
        assert failed["last_error"].startswith("connection")


async def test_a_rotated_secret_is_shown_once_and_signs_what_follows(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    receiver = Receiver()
    verify = documented_verifier()
    async with receiving(receiver) as hook, alerting(clean_database, kafka, clock) as stack:
        sub = await stack.subscribe({"type": "webhook", "url": hook, "secret": SECRET})
        path = f"/v1/subscriptions/{sub['subscription_id']}"
        r = await stack.api.post(f"{path}/secret", headers=STAFF)
        assert r.status_code == 200, r.text
        secret = r.json()["secret"]
        assert len(secret) >= 32 and secret != SECRET
        assert "secret" not in (await stack.api.get(path, headers=STAFF)).json()
        await stack.api.post(f"{path}/test", headers=STAFF)
        headers, raw = receiver.seen[0]
        stamp, signature = headers["X-CMA-Timestamp"], headers["X-CMA-Signature"]
        assert verify(secret, stamp, signature, raw) and not verify(SECRET, stamp, signature, raw)

        mailed = await stack.subscribe({"type": "email", "address": "delegue@example.org"})
        r = await stack.api.post(
            f"/v1/subscriptions/{mailed['subscription_id']}/secret", headers=STAFF
        )
        assert r.status_code == 409


async def test_a_changed_subscription_is_told_the_firing_alerts_its_new_filters_match(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    receiver = Receiver()
    async with receiving(receiver) as hook, alerting(clean_database, kafka, clock) as stack:
        channel = {"type": "webhook", "url": hook, "secret": SECRET}
        sub = await stack.subscribe(channel, filters={"kinds": ["report_overdue"]})
        await overdue(stack)
        await applied(stack, 1)
        assert await receiver.count() == 0  # not a kind it wants
        patch: dict[str, Any] = {
            "name": "Jalons en retard",
            "filters": {"kinds": ["milestone_overdue"], "regions": ["84"]},
            "repeat_interval_seconds": 600,
        }
        path = f"/v1/subscriptions/{sub['subscription_id']}"
        r = await stack.api.patch(path, headers=STAFF, json=patch)
        assert r.status_code == 200, r.text
        changed = r.json()
        assert changed["name"] == "Jalons en retard" and changed["repeat_interval_seconds"] == 600
        assert changed["filters"]["kinds"] == ["milestone_overdue"]
        await eventually(receiver.count, 1)
        assert receiver.bodies()[0]["subscription"] == "Jalons en retard"
        bad = await stack.api.patch(path, headers=STAFF, json={"repeat_interval_seconds": 1})
        assert (
            bad.status_code == 422
            and bad.json()["errors"][0]["loc"][-1] == "repeat_interval_seconds"
        )
        assert (await stack.api.get(path, headers=STAFF)).json()["repeat_interval_seconds"] == 600


async def test_alerts_are_listed_by_filter_and_page_and_a_project_sees_only_its_own(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    other = uuid.uuid4()
    token = {"Authorization": "Bearer cmap_project-token-for-tests"}
    async with alerting(clean_database, kafka, clock) as stack:
        await publish(
            kafka.bootstrap,
            topics.PROJECTS,
            [project_registered(stack.project_id, token="cmap_project-token-for-tests")],
        )
        for milestone_id in ("m1", "m2", "m3"):
            await overdue(stack, milestone_id)
            clock.advance(minutes=1)
        elsewhere = milestone_event(other, clock, MilestoneStatus.AT_RISK, MilestoneStatus.PENDING)
        await publish(kafka.bootstrap, topics.STATUS, [elsewhere])
        await applied(stack, 4)
        resolved = milestone_event(
            stack.project_id, clock, MilestoneStatus.MET_LATE, MilestoneStatus.OVERDUE, "m1"
        )
        await publish(kafka.bootstrap, topics.STATUS, [resolved])
        await applied(stack, 5)

        async def listed(headers: dict[str, str], **params: Any) -> list[tuple[str, str]]:
            r = await stack.api.get("/v1/alerts", headers=headers, params=params)
            assert r.status_code == 200, r.text
            return [(a["subject"], a["status"]) for a in r.json()["alerts"]]

        everything = await listed(STAFF)
        assert everything == [
            ("m1", "firing"),
            ("m3", "firing"),
            ("m2", "firing"),
            ("m1", "resolved"),
        ]
        assert await listed(STAFF, status="resolved") == [("m1", "resolved")]
        assert await listed(STAFF, kind="milestone_at_risk") == [("m1", "firing")]
        assert await listed(STAFF, severity="critical", region="84", sheet="cloud") == [
            ("m3", "firing"),
            ("m2", "firing"),
            ("m1", "resolved"),
        ]
        assert await listed(STAFF, project=str(other)) == [("m1", "firing")]

        pages, cursor = [], None
        while True:
            params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            page = (await stack.api.get("/v1/alerts", headers=STAFF, params=params)).json()
            pages += [(a["subject"], a["status"]) for a in page["alerts"]]
            if (cursor := page["next_cursor"]) is None:
                break
        assert pages == everything

        async def known() -> int:
            return (await stack.api.get("/v1/alerts", headers=token)).status_code

        await eventually(known, 200)
        assert await listed(token) == [("m3", "firing"), ("m2", "firing"), ("m1", "resolved")]
        r = await stack.api.get("/v1/alerts", headers=token, params={"project": str(other)})
        assert r.status_code == 403
        r = await stack.api.get("/v1/alerts", headers=STAFF, params={"cursor": "not-a-cursor"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "cursor"]

        clock.advance(days=8)  # resolved long ago: no longer listed
        assert ("m1", "resolved") not in await listed(STAFF)
