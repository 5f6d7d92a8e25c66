"""`cma migrate` retries a database that is not reachable yet, within a bound, and gives up at
once on an error that waiting will not mend."""

from __future__ import annotations

import pytest

from services.command.migrate import DatabaseAway, wait_for_database


class Attempts:
    """Refuses the first `refusals` connections, then answers."""

    def __init__(self, refusals: int, error: Exception | None = None) -> None:
        self.refusals, self.calls = refusals, 0
        self.error = error or ConnectionRefusedError("connection refused")

    async def __call__(self) -> None:
        self.calls += 1
        if self.calls <= self.refusals:
            raise self.error


class Ticks:
    """A clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


async def test_it_retries_until_the_database_answers() -> None:
    attempts = Attempts(refusals=3)
    assert await wait_for_database(attempts, within=60, every=0, clock=Ticks()) == 4


async def test_it_gives_up_when_the_bound_runs_out() -> None:
    attempts = Attempts(refusals=1000)
    with pytest.raises(DatabaseAway, match=r"refused 11 connections in 10 s"):
        await wait_for_database(attempts, within=10, every=0, clock=Ticks())
    # The clock moves 1 s per reading: one attempt a second, and the first one at once.
    assert attempts.calls == 11


async def test_an_error_that_waiting_will_not_mend_fails_at_once() -> None:
    attempts = Attempts(refusals=5, error=ValueError("password authentication failed"))
    with pytest.raises(ValueError, match="password"):
        await wait_for_database(attempts, within=60, every=0, clock=Ticks())
    assert attempts.calls == 1
