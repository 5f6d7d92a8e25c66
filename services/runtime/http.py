"""The HTTP shell every service shares: body size limit, `/healthz`, `/metrics`, 503 when the
database is away (never a 2xx we cannot keep)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.consumer import is_transient
from services.runtime.errors import Conflict, NotFound, Unprocessable
from services.runtime.metrics import metrics_endpoint


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuses bodies over `limit` bytes with 413, by header or while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await _too_large(self.limit)(scope, receive, send)
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise BodyTooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await _too_large(self.limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"request body over {limit} bytes"}, status_code=413)


def build_app(
    *,
    service: str,
    engine: AsyncEngine,
    registry: CollectorRegistry,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    max_body_bytes: int,
    refresh_metrics: Callable[[], Awaitable[None]] | None = None,
    description: str = "",
) -> FastAPI:
    app = FastAPI(title=f"CMA {service}", version="1", description=description, lifespan=lifespan)
    app.add_middleware(BodySizeLimit, limit=max_body_bytes)

    @app.exception_handler(NotFound)
    @app.exception_handler(Conflict)
    async def refused(_: Request, exc: NotFound | Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(Unprocessable)
    async def unprocessable(_: Request, exc: Unprocessable) -> JSONResponse:
        return JSONResponse({"detail": exc.details}, status_code=422)

    @app.exception_handler(Exception)
    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        if is_transient(exc):
            return JSONResponse(
                {"detail": "storage unavailable, retry later"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        raise exc

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("select 1"))
        except Exception:
            return JSONResponse({"status": "degraded", "database": "unreachable"}, 503)
        return JSONResponse({"status": "ok", "service": service})

    app.add_route("/metrics", metrics_endpoint(registry, refresh_metrics), include_in_schema=False)
    return app
