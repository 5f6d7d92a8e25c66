"""What the HTTP shell admits: a token bucket per bearer token (429), a cap on requests in
flight (503), the content types an operation declares (415) and a body size limit (413). Each
refuses at once (the first two with `Retry-After`): nothing queues, no body is read past the
limit.

The state lives in the process: N replicas allow N times the rate and N times the requests in
flight (set the numbers per replica, or put a shared limiter in front of them). The probes
(`/livez`, `/readyz`, `/healthz`) and `/metrics` are exempt, so probes and scrapes keep working
under load.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Collection
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.auth import hash_token
from services.runtime.errors import problem

EXEMPT = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})


class TokenBuckets:
    """`burst` requests at once, refilled at `per_minute`; keyed by an opaque string. Buckets
    are kept least recently used first; past `max_keys` the oldest are dropped (a dropped
    bucket was idle the longest, and is most likely full again anyway)."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate, self.burst, self.clock, self.max_keys = per_minute / 60, burst, clock, max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: str) -> float:
        """0 when a request may go; else the seconds until the bucket holds one token."""
        now = self.clock()
        tokens, then = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
        while len(self._buckets) > self.max_keys:
            del self._buckets[next(iter(self._buckets))]
        return wait


def caller_key(scope: Scope) -> str:
    """The SHA-256 of the bearer token (never the token itself); the client's address when
    there is none."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return "token:" + hash_token(token.strip())
    client = scope.get("client")
    return "address:" + (client[0] if client else "unknown")


class RateLimit:
    def __init__(
        self,
        app: ASGIApp,
        buckets: TokenBuckets,
        refused: Counter,
        exempt: Collection[str] = EXEMPT,
    ) -> None:
        self.app, self.buckets, self.refused, self.exempt = app, buckets, refused, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.exempt:
            wait = self.buckets.take(caller_key(scope))
            if wait > 0:
                self.refused.labels("rate").inc()
                response = problem(
                    429,
                    "too many requests for this token, retry later",
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
                return await response(scope, receive, send)
        await self.app(scope, receive, send)


class ConcurrencyLimit:
    """At most `limit` requests in flight; one more is refused at once rather than queued, so
    a slow database or a slow client never piles up waiting requests."""

    def __init__(
        self, app: ASGIApp, limit: int, refused: Counter, exempt: Collection[str] = EXEMPT
    ) -> None:
        self.app, self.limit, self.refused, self.exempt = app, limit, refused, exempt
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            return await self.app(scope, receive, send)
        if self.in_flight >= self.limit:
            self.refused.labels("concurrency").inc()
            response = problem(
                503, "too many requests in flight, retry later", headers={"Retry-After": "1"}
            )
            return await response(scope, receive, send)
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI's own body parsing answers 413 too (not 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


class BodySizeLimit:
    """Refuses bodies over `limit` bytes with 413: by `Content-Length` before reading any of
    it, or while streaming, as soon as the count passes the limit."""

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
                raise BodyTooLarge(self.limit)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:
            await _too_large(self.limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    return problem(413, f"request body over {limit} bytes")


class DeclaredContentTypes:
    """A body must come in a content type its operation declares in the OpenAPI document, else
    415 (FastAPI alone would parse JSON sent as `text/plain`, or a body with no type)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._table: list[tuple[re.Pattern[str], str, frozenset[str]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            if self._table is None:
                self._table = _request_bodies(scope["app"].openapi())
            accepted = next(
                (
                    types
                    for path, method, types in self._table
                    if method == scope["method"] and path.fullmatch(scope["path"])
                ),
                frozenset(),
            )
            given = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
            if accepted and given.split(";")[0].strip().lower() not in accepted:
                detail = f"send the body as {' or '.join(sorted(accepted))}"
                return await problem(415, detail)(scope, receive, send)
        await self.app(scope, receive, send)


def _request_bodies(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], str, frozenset[str]]]:
    """(path pattern, method, declared media types) of each operation that takes a body."""
    table = []
    for path, operations in spec.get("paths", {}).items():
        pattern = openapi_path_pattern(path)
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if content:
                table.append((pattern, method.upper(), frozenset(content)))
    return table


def openapi_path_pattern(path: str) -> re.Pattern[str]:
    """An OpenAPI path (`/v1/projects/{project_id}`) as a pattern for request paths."""
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)))
