"""The HTTP shell every service shares: the admission limits of `limits.py` (rate 429,
concurrency 503, content type 415, body size 413), the probes (`/livez`, `/readyz` and its
older name `/healthz`), `/metrics`, and 503 when the database is away (never a 2xx we cannot
keep)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from services.runtime.consumer import is_transient
from services.runtime.docs import serve_docs
from services.runtime.errors import (
    PROBLEM_JSON,
    DomainError,
    Problem,
    Unprocessable,
    problem,
    pydantic_errors,
)
from services.runtime.http_metrics import HttpMetrics
from services.runtime.limits import (
    BodySizeLimit,
    ConcurrencyLimit,
    DeclaredContentTypes,
    RateLimit,
    TokenBuckets,
    openapi_path_pattern,
)
from services.runtime.metrics import RenderedFamilies, metrics_endpoint
from services.runtime.settings import Settings


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON Schema with its `$defs` references replaced by their content, for
    OpenAPI entries FastAPI does not build itself (a body read by hand, an error media type)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inlined(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inlined(defs[node["$ref"].rsplit("/", 1)[1]])
            return {k: inlined(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inlined(v) for v in node]
        return node

    return dict(inlined(schema))


_PROBLEM_SCHEMA = inline_schema(Problem)


Responses = dict[int | str, dict[str, Any]]
"""OpenAPI `responses=` entries by status code."""


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}}}


PROBLEMS: Responses = {
    400: _problem("A body that cannot be decoded (not UTF-8, or not JSON)."),
    401: _problem("Missing or unknown bearer token."),
    413: _problem("Request body over `CMA_MAX_BODY_BYTES`."),
    415: _problem("A body in a content type the operation does not take."),
    429: _problem("Over this token's rate limit; retry after `Retry-After` seconds."),
    422: _problem("Invalid input: `errors` names every field (or CSV row) and the rule."),
    503: _problem("Too many requests in flight, or storage away; see `Retry-After`."),
}
"""What the shell may answer on any `/v1` operation: each router passes it as `responses=`."""
FORBIDDEN: Responses = {403: _problem("This token may not act on this project or resource.")}
NOT_FOUND: Responses = {404: _problem("No such project or resource.")}
CONFLICT: Responses = {409: _problem("The resource is not in a state that allows this.")}


READY_BROKER_TIMEOUT = 2.0
CLIENT_CLOSED = 499
"""nginx's status for a request whose client left before the answer: it reaches no one, but
the request metrics show it."""
"""Seconds `/readyz` waits for Kafka to describe its cluster (probes time out after 3)."""


async def _database_reachable(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
    except Exception:
        return False
    return True


def build_app(
    *,
    service: str,
    engine: AsyncEngine,
    registry: CollectorRegistry,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    max_body_bytes: int,
    settings: Settings | None = None,
    broker: KafkaBroker | None = None,
    refresh_metrics: Callable[[], Awaitable[None]] | None = None,
    rendered_metrics: RenderedFamilies | None = None,
    description: str = "",
) -> FastAPI:
    """`settings` gives the rate and concurrency limits (their defaults when absent); `/readyz`
    also asks `broker`, when the service has one, whether it is connected."""
    limits = settings or Settings.model_construct()
    app = FastAPI(
        title=f"CMA {service}",
        version="1",
        description=description,
        lifespan=lifespan,
        docs_url=None,  # served by serve_docs, without a CDN
        redoc_url=None,
    )
    serve_docs(app)
    throttled = Counter(
        f"cma_{service}_http_throttled_total",
        "Requests refused by a limit of this replica (`rate`: 429, `concurrency`: 503).",
        ["limit"],
        registry=registry,
    )
    # The last added runs first: metrics, then rate, then concurrency, then content type, then size.
    app.add_middleware(BodySizeLimit, limit=max_body_bytes)
    app.add_middleware(DeclaredContentTypes)
    app.add_middleware(ConcurrencyLimit, limit=limits.max_concurrent_requests, refused=throttled)
    buckets = TokenBuckets(limits.rate_limit_per_minute, limits.rate_limit_burst)
    app.add_middleware(RateLimit, buckets=buckets, refused=throttled)
    # Outermost, so that refusals by the limits are counted and timed too.
    app.add_middleware(HttpMetrics, service=service, registry=registry)

    @app.exception_handler(DomainError)
    async def refused(_: Request, exc: DomainError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return Unprocessable(pydantic_errors(exc.errors())).response()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette lists the methods of the path's first route only
            headers["Allow"] = ", ".join(
                sorted(
                    method.upper()
                    for path, operations in app.openapi()["paths"].items()
                    if openapi_path_pattern(path).fullmatch(request.url.path)
                    for method in operations
                )
            )
        return problem(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(ClientDisconnect)
    async def gone(_: Request, exc: ClientDisconnect) -> Response:
        # The client left before its body arrived: nothing was read, so nothing stored, and
        # nobody to answer; counted as nginx's 499, not logged as an error of ours.
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(Exception)
    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        if is_transient(exc):
            return problem(503, "storage unavailable, retry later", headers={"Retry-After": "5"})
        raise exc

    @app.get("/livez", tags=["operations"])
    async def livez() -> JSONResponse:
        """The process answers: touches neither the database nor Kafka, so an outage of
        either never restarts a replica (the liveness probe)."""
        return JSONResponse({"status": "ok", "service": service})

    async def readyz() -> JSONResponse:
        """200 when the database answers and the broker (if any) is connected; 503 otherwise
        (the readiness probe: the replica leaves the Service until both are back)."""
        database = await _database_reachable(engine)
        connected = broker is None or await broker.ping(timeout=READY_BROKER_TIMEOUT)
        if database and connected:
            return JSONResponse({"status": "ok", "service": service})
        body = {"status": "degraded", "database": "reachable" if database else "unreachable"}
        if broker is not None:
            body["broker"] = "connected" if connected else "unreachable"
        return JSONResponse(body, 503)

    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["operations"])
    # The older name, still polled by `cma run`, the tests and existing probes.
    app.add_api_route("/healthz", readyz, methods=["GET"], tags=["operations"])

    token = limits.metrics_token.get_secret_value() if limits.metrics_token else None
    app.add_route(
        "/metrics",
        metrics_endpoint(registry, refresh_metrics, token, rendered_metrics),
        include_in_schema=False,
    )
    return app
