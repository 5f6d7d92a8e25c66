"""The portal's metrics: how long each page takes, by route (a bounded set of labels)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Histogram
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response


class PageTimer(BaseHTTPMiddleware):
    def __init__(self, app: object, registry: CollectorRegistry) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.seconds = Histogram(
            "cma_portal_page_seconds",
            "Time to answer a portal request, by route template and status class.",
            ["route", "status"],
            registry=registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5),
        )

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        matched = request.scope.get("route")  # set by the router on the shared scope
        route = getattr(matched, "path", None) or "other"
        status = f"{response.status_code // 100}xx"
        self.seconds.labels(route, status).observe(time.perf_counter() - started)
        return response
