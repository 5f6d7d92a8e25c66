"""Webhooks: the signature against a known answer, replays refused by the documented
verification, and SSRF targets refused at registration and again at delivery, where
redirects are never followed."""

from __future__ import annotations

import re
import types
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from contracts import topics
from contracts.events import (
    MilestoneStatus,
    MilestoneStatusChanged,
)
from services.alerting.channels import Channels, DeliveryFailed, check_webhook_url
from services.alerting.domain import Channel, Filters, Severity
from services.alerting.queries import Subscription
from services.alerting.signing import UnsubscribeLinks, sign
from services.runtime.broker import KafkaConnection, ensure_topics
from services.runtime.settings import Settings
from tests.security.conftest import SharedPlatform
from tests.support.clock import FakeClock
from tests.support.database import new_database
from tests.support.events import milestone_changed
from tests.support.kafka import publish
from tests.support.platform import STAFF, Platform, running_broker, serve, settings_for_tests
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SECRET = "whsec-known-answer-0123456789"
TIMESTAMP = "1756728000"  # 2025-09-01T12:00:00Z
BODY = b'{"version":"1","alerts":[]}'
# HMAC-SHA256(SECRET, TIMESTAMP + "." + BODY), computed independently with
# `printf '1756728000.{"version":"1","alerts":[]}' | openssl dgst -sha256 -hmac "$SECRET"`.
KNOWN_SIGNATURE = "sha256=2147f7ec04a8e39a51d068f4f3e14c628d4fdfe1afe580b2711498c139374cf4"


def documented_verifier(now: float) -> Callable[[str, str, str, bytes], bool]:
    """The receiver's snippet from docs/alerting.md, run as written, its clock at `now`."""
    doc = (Path(__file__).parents[2] / "docs" / "alerting.md").read_text()
    code = re.search(r"<!-- signature-snippet -->\n```python\n(.*?)```", doc, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    namespace["time"] = types.SimpleNamespace(time=lambda: now)
    return namespace["verify_cma_signature"]  # type: ignore[no-any-return]


def test_the_signature_matches_a_known_answer() -> None:
    assert sign(SECRET, TIMESTAMP, BODY) == KNOWN_SIGNATURE


def test_the_documented_verification_accepts_a_fresh_delivery_and_refuses_a_replay() -> None:
    signed_at = int(TIMESTAMP)
    assert documented_verifier(signed_at + 10)(SECRET, TIMESTAMP, KNOWN_SIGNATURE, BODY)
    assert documented_verifier(signed_at + 300)(SECRET, TIMESTAMP, KNOWN_SIGNATURE, BODY)
    # The same bytes, a valid signature, replayed later (or stamped in the future): refused.
    assert not documented_verifier(signed_at + 301)(SECRET, TIMESTAMP, KNOWN_SIGNATURE, BODY)
    assert not documented_verifier(signed_at + 86_400)(SECRET, TIMESTAMP, KNOWN_SIGNATURE, BODY)
    assert not documented_verifier(signed_at - 301)(SECRET, TIMESTAMP, KNOWN_SIGNATURE, BODY)
    # A replayer who restamps the timestamp cannot re-sign it.
    fresh = str(signed_at + 3600)
    assert not documented_verifier(signed_at + 3600)(SECRET, fresh, KNOWN_SIGNATURE, BODY)
    verify = documented_verifier(signed_at)
    for timestamp in ("", "abc", "-1", "1756728000.0", " 1756728000"):
        assert not verify(SECRET, timestamp, KNOWN_SIGNATURE, BODY)


SSRF_TARGETS = [
    "http://127.0.0.1/hook",
    "http://127.0.0.1:8004/v1/subscriptions",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata, link-local
    "http://0.0.0.0/",
    "http://0/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://2130706433/",  # 127.0.0.1 in decimal
    "http://017700000001/",  # in octal
    "http://0x7f000001/",  # in hexadecimal
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fec0::1]/",
    "http://localhost/",  # a name resolving to loopback
    "http://LOCALHOST./",
    "http://user:pass@127.0.0.1/",
    "https://localhost:8443/hook",
]


@pytest.mark.parametrize("url", SSRF_TARGETS)
async def test_a_private_target_is_refused_at_registration_and_nothing_is_stored(
    platform: SharedPlatform, url: str
) -> None:
    before = await platform.rows(("alerting.subscriptions",))
    body = {"name": "x", "channel": {"type": "webhook", "url": url}}
    r = await platform.alerting.post("/v1/subscriptions", json=body, headers=STAFF)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "channel", "webhook", "url"]
    assert await platform.rows(("alerting.subscriptions",)) == before


@pytest.mark.parametrize("url", SSRF_TARGETS)
async def test_a_private_target_is_refused_at_delivery_without_a_connection(url: str) -> None:
    """A subscription stored while its name resolved elsewhere (or under other settings):
    the check runs again before the attempt, and no request leaves."""
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    sub = subscription(url)
    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        with pytest.raises(DeliveryFailed) as failed:
            links = UnsubscribeLinks("https://cma.example", "link-secret-" * 3)
            channels = Channels(Settings(webhook_allow_private=False), http, links)
            await channels.send(sub, "d1", [])
    assert sent == []
    reason = str(failed.value)
    assert "private" in reason or "invalid" in reason or "does not resolve" in reason, reason
    assert failed.value.retryable == ("does not resolve" in reason)  # DNS may come back


async def test_a_delivery_connects_to_the_address_it_checked_not_to_a_new_dns_answer() -> None:
    """DNS rebinding: the request goes to the address that passed the check, with the
    original name in `Host` (and as the TLS server name)."""
    target = await check_webhook_url("https://93.184.216.34:8443/hook?x=1", Settings())
    assert str(target.url) == "https://93.184.216.34:8443/hook?x=1"
    assert target.headers == {"Host": "93.184.216.34:8443"}
    assert target.extensions == {"sni_hostname": "93.184.216.34"}


def subscription(url: str, secret: str = SECRET) -> Subscription:
    none: frozenset[Any] = frozenset()
    filters = Filters(none, none, none, none, Severity.INFO)
    return Subscription(
        uuid.uuid4(),
        "s",
        None,
        Channel.WEBHOOK,
        url,
        secret,
        filters,
        timedelta(hours=4),
        FakeClock()(),
    )


class Receiver:
    def __init__(self, answer: Callable[[], Response]) -> None:
        self.hits: list[str] = []
        self.answer = answer

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{path:path}")
        async def hook(path: str, request: Request) -> Response:
            self.hits.append(path)
            await request.body()
            return self.answer()

        return app


def overdue(project_id: uuid.UUID, milestone_id: str) -> MilestoneStatusChanged:
    return milestone_changed(
        MilestoneStatus.OVERDUE, project_id, FakeClock()(), milestone_id=milestone_id
    )


async def deliveries_of(api: httpx.AsyncClient, subscription_id: str, count: int) -> list[Any]:
    """The subscription's deliveries once `count` of them are settled (not pending)."""

    async def settled() -> list[Any]:
        r = await api.get(
            "/v1/deliveries", params={"subscription_id": subscription_id}, headers=STAFF
        )
        return [d for d in r.json() if d["status"] != "pending"]

    return await eventually(settled, lambda done: len(done) >= count, every=0.1)


async def test_redirects_are_not_followed_and_a_target_turned_private_is_refused_at_delivery(
    database_url: str, tmp_path: Path
) -> None:
    stolen = Receiver(lambda: Response(status_code=200))
    async with serve(stolen.app()) as stolen_url:
        bouncer = Receiver(
            lambda: Response(status_code=307, headers={"Location": f"{stolen_url}/stolen"})
        )
        # A database of its own, so the shared platform's alerting delivers nothing here.
        async with serve(bouncer.app()) as bouncer_url, new_database(database_url) as url:
            with running_broker(tmp_path / "tansu.log") as kafka:
                await ensure_topics(KafkaConnection(kafka.bootstrap), topics.ALL)
                project = uuid.uuid4()
                common = {"alert_group_wait_seconds": 0, "delivery_backoff_base_seconds": 0.01}
                # Loopback receivers need the test-only permission to be subscribed at all.
                lax = settings_for_tests(url, kafka.bootstrap, webhook_allow_private=True, **common)
                async with Platform(lax, FakeClock()) as platform:
                    api = await platform.start("alerting")
                    body = {
                        "name": "hook",
                        "channel": {"type": "webhook", "url": f"{bouncer_url}/hook"},
                        "filters": {"projects": [str(project)]},
                    }
                    r = await api.post("/v1/subscriptions", json=body, headers=STAFF)
                    assert r.status_code == 201, r.text
                    sub_id = r.json()["subscription_id"]
                    await publish(kafka.bootstrap, topics.STATUS, [overdue(project, "m1")])
                    [first] = await deliveries_of(api, sub_id, 1)
                    assert (first["status"], first["attempts"], first["last_error"]) == (
                        "dead",
                        1,
                        "HTTP 307",
                    )
                    assert bouncer.hits == ["hook"] and stolen.hits == []

                    # Same stored subscription, now under the production rule: refused at
                    # delivery.
                    await platform.stop("alerting")
                    strict = settings_for_tests(url, kafka.bootstrap, **common)
                    api = await platform.start("alerting", strict)
                    await publish(kafka.bootstrap, topics.STATUS, [overdue(project, "m2")])
                    done = await deliveries_of(api, sub_id, 2)
                second = next(d for d in done if d["delivery_id"] != first["delivery_id"])
                assert second["status"] == "dead" and second["attempts"] == 1
                assert "private" in second["last_error"]
                assert bouncer.hits == ["hook"] and stolen.hits == []
