"""HTTP request rate, errors and duration per route template, for every service.

Labels are bounded: the route's template (`/v1/projects/{project_id}/reports`, never the path
itself), the method and the status code; a path no route knows is `route="unmatched"`, so a
scan of random URLs adds no series. Requests refused by the admission limits (429, 503, 413,
415) are counted under the route they were aimed at: this middleware runs outside them.
"""

from __future__ import annotations

import re
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.limits import openapi_path_pattern

UNMATCHED = "unmatched"
# From a /healthz round trip (≈ 1 ms) to past a scrape timeout.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    """Pure ASGI middleware (no per-request task or body copy, unlike `BaseHTTPMiddleware`)."""

    def __init__(self, app: ASGIApp, service: str, registry: CollectorRegistry) -> None:
        self.app = app
        self.templates: list[tuple[re.Pattern[str], str]] | None = None
        self.requests = Counter(
            f"cma_{service}_http_requests_total",
            "HTTP requests answered, by route template, method and status code "
            "(errors: code >= 500; refusals by the limits: 413, 415, 429, 503).",
            ["route", "method", "code"],
            registry=registry,
        )
        self.seconds = Histogram(
            f"cma_{service}_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template.",
            ["route", "method"],
            buckets=BUCKETS,
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500  # what the server answers if the application raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route, method = self.route_template(scope), scope["method"]
            self.requests.labels(route, method, str(status)).inc()
            self.seconds.labels(route, method).observe(time.perf_counter() - started)

    def route_template(self, scope: Scope) -> str:
        """The template of the route that handled the request (FastAPI leaves it in the
        scope); for a request refused before routing, or served by a plain Starlette route
        (`/metrics`), the first template that matches its path."""
        route = scope.get("route")
        if route is not None:
            return str(route.path)
        if self.templates is None:  # the routes are all included by the first request
            app = scope["app"]
            self.templates = [
                (openapi_path_pattern(path), path)
                for path in [
                    *(r.path for r in app.router.routes if isinstance(r, Route)),
                    *app.openapi()["paths"],
                ]
            ]
        path = scope["path"]
        return next((t for pattern, t in self.templates if pattern.fullmatch(path)), UNMATCHED)
