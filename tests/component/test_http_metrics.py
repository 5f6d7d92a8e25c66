"""Every service counts and times its HTTP requests by route template, method and status, with
labels bounded by its routes whatever the paths asked."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from services.runtime.db import service_engine
from services.runtime.http import build_app
from tests.support.platform import settings_for_tests


class Thing(BaseModel):
    thing_id: str


@contextlib.asynccontextmanager
async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


def requests(registry: CollectorRegistry, route: str, method: str, code: str) -> float:
    labels = {"route": route, "method": method, "code": code}
    return registry.get_sample_value("cma_test_http_requests_total", labels) or 0.0


async def test_requests_are_counted_and_timed_per_route_template_not_per_path(
    clean_database: str,
) -> None:
    registry = CollectorRegistry()
    engine = service_engine(settings_for_tests(clean_database, "unused:9092"), "intake")
    app = build_app(
        service="test",
        engine=engine,
        registry=registry,
        lifespan=no_lifespan,
        max_body_bytes=100,
    )
    router = APIRouter()

    @router.get("/v1/things/{thing_id}")
    async def thing(thing_id: str) -> Thing:
        return Thing(thing_id=thing_id)

    @router.post("/v1/things")
    async def post_thing(body: Thing) -> Thing:
        return body

    app.include_router(router)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        for path in ("/v1/things/a", "/v1/things/b", "/nowhere/1", "/nowhere/2", "/healthz"):
            await client.get(path)
        await client.delete("/v1/things/a")  # 405
        await client.post("/v1/things", json={"thing_id": "x" * 200})  # 413, before routing
    await engine.dispose()

    assert requests(registry, "/v1/things/{thing_id}", "GET", "200") == 2
    assert requests(registry, "unmatched", "GET", "404") == 2
    assert requests(registry, "/healthz", "GET", "200") == 1
    assert requests(registry, "/v1/things/{thing_id}", "DELETE", "405") == 1
    assert requests(registry, "/v1/things", "POST", "413") == 1
    timed = registry.get_sample_value(
        "cma_test_http_request_duration_seconds_count",
        {"route": "/v1/things/{thing_id}", "method": "GET"},
    )
    assert timed == 2
    routes = {
        s.labels["route"]
        for family in registry.collect()
        if family.name == "cma_test_http_requests"
        for s in family.samples
    }
    assert routes == {"/v1/things/{thing_id}", "unmatched", "/healthz", "/v1/things"}


async def test_a_client_leaving_before_its_body_arrives_is_counted_not_logged_as_an_error(
    clean_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry = CollectorRegistry()
    engine = service_engine(settings_for_tests(clean_database, "unused:9092"), "intake")
    app = build_app(
        service="test", engine=engine, registry=registry, lifespan=no_lifespan, max_body_bytes=100
    )

    @app.post("/v1/things")
    async def post_thing(request: Request) -> Thing:
        return Thing.model_validate_json(await request.body())

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/v1/things",
        "raw_path": b"/v1/things",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"20")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    with caplog.at_level(logging.ERROR):
        await app(scope, receive, send)
    assert sent[0]["status"] == 499
    assert requests(registry, "/v1/things", "POST", "499") == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    await engine.dispose()
