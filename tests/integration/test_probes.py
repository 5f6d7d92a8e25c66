"""Liveness never touches the database, so a database outage takes replicas out of the
Service (readiness 503) without restarting them (liveness 200)."""

from __future__ import annotations

import httpx
import pytest

from services.runtime import registry
from tests.support.clock import FakeClock
from tests.support.platform import EmbeddedKafka, free_port, running_platform, settings_for_tests
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def status_and_body(client: httpx.AsyncClient, path: str) -> tuple[int, object]:
    answer = await client.get(path)
    return answer.status_code, answer.json()


@pytest.mark.parametrize("name", registry.NAMES)
async def test_livez_answers_while_the_database_refuses_connections_and_readyz_does_not(
    name: str, kafka: EmbeddedKafka
) -> None:
    # A port nothing listens on: every connection is refused, as when PostgreSQL is down
    # (the shared test server keeps running for the other tests).
    away = f"postgresql+asyncpg://cma@127.0.0.1:{free_port()}/cma"
    settings = settings_for_tests(away, kafka.bootstrap)
    async with running_platform(settings, FakeClock(), [name]) as platform:
        client = platform.client(name)
        assert await status_and_body(client, "/livez") == (200, {"status": "ok", "service": name})
        # Kafka answers, so the 503 is the database's alone once the broker has connected.
        degraded = {"status": "degraded", "database": "unreachable"}
        if name != "intake":  # intake's readiness does not depend on Kafka (its outbox)
            degraded["broker"] = "connected"
        await eventually(lambda: status_and_body(client, "/readyz"), (503, degraded))
        assert await status_and_body(client, "/healthz") == (503, degraded)
        assert (await client.get("/livez")).status_code == 200


async def test_readyz_and_healthz_answer_ok_once_the_database_and_the_broker_answer(
    clean_database: str, kafka: EmbeddedKafka
) -> None:
    settings = settings_for_tests(clean_database, kafka.bootstrap)
    async with running_platform(settings, FakeClock(), ["intake"]) as platform:
        client = platform.intake
        ok = (200, {"status": "ok", "service": "intake"})
        await eventually(lambda: status_and_body(client, "/readyz"), ok)
        assert await status_and_body(client, "/healthz") == ok
        assert await status_and_body(client, "/livez") == ok


@pytest.mark.parametrize("name", registry.NAMES)
async def test_a_consumer_is_not_ready_while_the_broker_is_away_but_intake_is(
    name: str, clean_database: str
) -> None:
    """Intake takes reports while Kafka is away (its outbox keeps them until the relay can
    send), so it stays in its load balancer; a consumer with no broker has nothing to serve
    fresh."""
    settings = settings_for_tests(clean_database, f"127.0.0.1:{free_port()}")
    async with running_platform(settings, FakeClock(), [name]) as platform:
        client = platform.client(name)
        assert (await client.get("/livez")).status_code == 200
        if registry.service(name).consumes:
            degraded = {"status": "degraded", "database": "reachable", "broker": "unreachable"}
            assert await status_and_body(client, "/readyz") == (503, degraded)
        else:
            assert await status_and_body(client, "/readyz") == (
                200,
                {"status": "ok", "service": name},
            )
