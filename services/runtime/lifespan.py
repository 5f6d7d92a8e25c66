"""A service's life: connect to Kafka when it answers, run its background loops, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import topics
from services.runtime.broker import KafkaConnection, start_when_reachable

Loop = Callable[[], Coroutine[Any, Any, None]]


def service_lifespan(
    broker: KafkaBroker, engine: AsyncEngine, kafka: KafkaConnection, loops: Sequence[Loop] = ()
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The HTTP API serves at once (intake accepts reports while Kafka is down: its outbox
    keeps them); subscribers and `loops` (outbox relay, clock ticks…) start once Kafka answers."""

    async def connect_then_loop() -> None:
        await start_when_reachable(broker, kafka, topics.ALL)
        await asyncio.gather(*(loop() for loop in loops))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(connect_then_loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await broker.stop()
            await engine.dispose()

    return lifespan
