"""Per-token rate limit (429 with `Retry-After`, other tokens unaffected) and the cap on
requests in flight (503 at once, no hang, no slot leaked), in the shell every service shares."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.runtime.limits import ConcurrencyLimit, TokenBuckets, caller_key
from tests.security.conftest import SharedPlatform
from tests.support.platform import STAFF, free_port, settings_for_tests
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_the_burst_then_the_rate_and_says_how_long_to_wait() -> None:
    ticks = Ticks()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=ticks)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)
    assert buckets.take("b") == 0.0  # another key has its own bucket
    ticks.now += 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    ticks.now += 0.5
    assert buckets.take("a") == 0.0
    ticks.now += 3600
    assert [buckets.take("a") for _ in range(4)][-1] > 0  # refills up to the burst, no more


def test_the_number_of_buckets_kept_is_bounded() -> None:
    buckets = TokenBuckets(per_minute=60, burst=1, clock=Ticks(), max_keys=100)
    for n in range(1000):
        buckets.take(str(n))
    assert len(buckets._buckets) == 100
    assert buckets.take("999") > 0  # the most recent keys are kept


def test_the_key_is_the_tokens_sha256_never_the_token() -> None:
    scope = {"headers": [(b"authorization", b"Bearer cmap_secret-token")], "client": ("1.2.3.4", 5)}
    key = caller_key(scope)
    assert "cmap_secret-token" not in key and len(key.removeprefix("token:")) == 64
    assert caller_key({"headers": [], "client": ("1.2.3.4", 5)}) == "address:1.2.3.4"


@contextlib.asynccontextmanager
async def intake(platform: SharedPlatform, **limits: int) -> AsyncIterator[httpx.AsyncClient]:
    """Another intake member on the shared database (so it knows projects A and B), with its
    own limits; no broker (its relay waits for one; the HTTP API does not)."""
    settings = settings_for_tests(platform.database_url, f"127.0.0.1:{free_port()}", **limits)
    client = await platform.start("intake-2", settings)
    try:
        yield client
    finally:
        await platform.stop("intake-2")


async def test_a_token_over_its_rate_gets_429_with_retry_after_and_others_are_unaffected(
    platform: SharedPlatform,
) -> None:
    # Projects of this test's own: other tests (the fuzzer among them) may replace the shared
    # projects' tokens.
    a, b = [await platform.register(name=f"Projet limites {n}") for n in "AB"]
    async with intake(platform, rate_limit_per_minute=6, rate_limit_burst=5) as api:
        a_reports, b_reports = (f"/v1/projects/{p.project_id}/reports" for p in (a, b))
        answers = [(await api.get(a_reports, headers=a.headers)).status_code for _ in range(5)]
        assert answers == [200] * 5
        limited = await api.get(a_reports, headers=a.headers)
        assert limited.status_code == 429, limited.text
        assert 1 <= int(limited.headers["Retry-After"]) <= 10
        # Other tokens (another project, staff, an unknown one) keep their own budget.
        assert (await api.get(b_reports, headers=b.headers)).status_code == 200
        assert (await api.get(a_reports, headers=STAFF)).status_code == 200
        unknown = {"Authorization": "Bearer cmap_unknown"}
        assert (await api.get(a_reports, headers=unknown)).status_code == 401
        # Probes and scrapes are exempt (never 429); the refusal is counted.
        for _ in range(10):
            for probe in ("/livez", "/readyz", "/healthz"):
                assert (await api.get(probe)).status_code == 200
        metrics = (await api.get("/metrics")).text
        assert 'cma_intake_http_throttled_total{limit="rate"} 1.0' in metrics
        # A limited token stays limited while it keeps knocking; writes are limited too.
        body = {"period": "2025-S1", "cells": []}
        assert (await api.post(a_reports, json=body, headers=a.headers)).status_code == 429


def concurrency_limit(app: FastAPI) -> ConcurrencyLimit:
    """The app's cap on requests in flight, among its middleware."""
    layer = app.middleware_stack
    while not isinstance(layer, ConcurrencyLimit):
        layer = layer.app  # type: ignore[union-attr]
    return layer


async def hold_a_slot(host: str, port: int, path: str, token: str) -> asyncio.StreamWriter:
    """A request whose body never finishes arriving: it stays in flight."""
    _, writer = await asyncio.open_connection(host, port)
    writer.write(
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        ).encode()
    )
    await writer.drain()
    return writer


async def test_requests_beyond_the_concurrency_cap_get_503_at_once_and_slots_come_back(
    platform: SharedPlatform,
) -> None:
    a = platform.a
    path = f"/v1/projects/{a.project_id}/reports"
    async with intake(platform, max_concurrent_requests=2) as api:
        host, port = str(api.base_url.host), int(api.base_url.port or 80)
        slow = [await hold_a_slot(host, port, path, a.token) for _ in range(2)]
        cap = concurrency_limit(platform.app("intake-2"))

        async def in_flight() -> int:
            return cap.in_flight

        # Both are in the application, waiting for their bodies: a third is refused.
        await eventually(in_flight, 2)
        refused = await api.get(path, headers=a.headers)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "1"
        assert refused.elapsed.total_seconds() < 2  # refused, not queued
        for probe in ("/livez", "/readyz"):  # probes still answer, the slots all taken
            assert (await api.get(probe)).status_code == 200
        metrics = (await api.get("/metrics")).text
        assert 'cma_intake_http_throttled_total{limit="concurrency"} 1.0' in metrics

        for writer in slow:  # the clients give up: their slots must come back
            writer.close()
        await eventually(
            lambda: _status(api, path, a.headers), 200, within=5, what="a slot came back"
        )
        together = await asyncio.gather(*(api.get(path, headers=a.headers) for _ in range(2)))
        assert {r.status_code for r in together} == {200}


async def _status(api: httpx.AsyncClient, path: str, headers: dict[str, str]) -> int:
    return (await api.get(path, headers=headers)).status_code
