"""The tests' one `eventually`: it returns as soon as the read shows what is expected, fails at
its deadline (not later) saying what it read last, and treats only the errors it is told to
ignore as "not yet"."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.support.waiting import NeverHappened, eventually


def counter() -> itertools.count[int]:
    return itertools.count(1)


async def test_it_returns_the_first_value_equal_to_the_expected_one() -> None:
    reads = counter()

    async def read() -> int:
        return next(reads)

    assert await eventually(read, 3, every=0.001) == 3
    assert next(reads) == 4  # no read after the match


async def test_a_callable_expectation_is_a_predicate_on_the_value() -> None:
    reads = counter()

    async def read() -> list[int]:
        return list(range(next(reads)))

    assert await eventually(read, lambda value: len(value) >= 2, every=0.001) == [0, 1]


async def test_at_its_deadline_it_fails_saying_what_it_read_last() -> None:
    async def read() -> dict[str, int]:
        return {"trained": 41}

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(NeverHappened) as failed:
        await eventually(read, {"trained": 42}, within=0.3, every=0.05, what="totals")
    assert 0.3 <= loop.time() - started < 0.6
    assert str(failed.value) == (
        "totals: after 0.3s, last read {'trained': 41}; expected {'trained': 42}"
    )
    assert failed.value.last == {"trained": 41}


async def test_a_read_still_running_at_the_deadline_is_cut_short() -> None:
    async def read() -> int:
        await asyncio.sleep(10)
        return 1

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(NeverHappened, match="no read finished"):
        await eventually(read, 1, within=0.2)
    assert loop.time() - started < 0.5


async def test_only_the_errors_it_is_told_to_ignore_mean_not_yet() -> None:
    reads = counter()

    async def read() -> int:
        if next(reads) < 3:
            raise ConnectionError("restarting")
        return 200

    assert await eventually(read, 200, every=0.001, ignoring=(ConnectionError,)) == 200

    async def broken() -> int:
        raise ValueError("a bug, not a delay")

    with pytest.raises(ValueError):
        await eventually(broken, 200, ignoring=(ConnectionError,))
