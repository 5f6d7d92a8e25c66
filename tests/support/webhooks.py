"""A real webhook receiver on loopback, and a staff subscription that delivers to it at once."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from tests.support.platform import STAFF, Platform, serve, settings_for_tests

RECEIVER_SECRET = "receiver-secret-0123456789"


@dataclass
class Receiver:
    """A webhook receiver answering the scripted statuses, then 200."""

    statuses: list[int] = field(default_factory=list)
    seen: list[tuple[httpx.Headers, bytes]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.seen.append((httpx.Headers(request.headers), await request.body()))
            return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

        return app

    async def count(self) -> int:
        return len(self.seen)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.seen]


@contextlib.asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[str]:
    async with serve(receiver.app()) as url:
        yield f"{url}/hook"


@contextlib.asynccontextmanager
async def subscribed_receiver(
    platform: Platform, name: str, filters: dict[str, Any]
) -> AsyncIterator[Receiver]:
    """Alerting (re)started to notify at once and to allow a loopback webhook, and one staff
    subscription with `filters` delivering to a fresh receiver."""
    settings = settings_for_tests(
        platform.database_url,
        platform.bootstrap,
        alert_group_wait_seconds=0,
        webhook_allow_private=True,
    )
    alerting = await platform.start("alerting", settings)
    receiver = Receiver()
    async with receiving(receiver) as hook:
        channel = {"type": "webhook", "url": hook, "secret": RECEIVER_SECRET}
        body = {"name": name, "channel": channel, "filters": filters}
        r = await alerting.post("/v1/subscriptions", headers=STAFF, json=body)
        assert r.status_code == 201, r.text
        yield receiver
