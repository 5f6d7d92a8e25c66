"""`cma serve <name>`: one service (HTTP and its consumers), or the portal, under uvicorn.
Never migrates."""

from __future__ import annotations

import gc
import logging
import os

import uvicorn
from fastapi import FastAPI

from services.runtime.registry import process
from services.runtime.settings import Settings

SERVED = "CMA_SERVED_SERVICE"
"""The service `serve` named, for the factory each uvicorn worker process calls."""


def serve(name: str) -> int:
    """The service on its port from the settings, in `CMA_HTTP_WORKERS` processes."""
    settings = Settings()
    os.environ[SERVED] = name
    # No access log: a line per request cost intake 3 % of its CPU (docs/performance.md, B1);
    # the request counters in /metrics say the same without the I/O.
    uvicorn.run(
        f"{__name__}:served_app",
        factory=True,
        workers=settings.http_workers,
        host=settings.http_host,
        port=settings.port(name),
        access_log=False,
    )
    return 0


def served_app() -> FastAPI:
    """uvicorn's factory, called in each worker process: the service `serve` named."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Group joins and partition assignments are what an operator reads after an incident.
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.INFO)
    app = process(os.environ[SERVED]).create_app(Settings())
    _quiet_collector()
    return app


def _quiet_collector() -> None:
    """The objects built at start (modules, models, routes) move out of the collector's reach,
    and a young collection waits for 50,000 net allocations instead of 700: with the defaults,
    intake under load spent about a tenth of its CPU in collections that find nothing to free
    (reference counting frees a request's objects), full ones re-scanning the whole start-up
    heap (docs/performance.md, B1). Cycles are still collected, only less often."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
