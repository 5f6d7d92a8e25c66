"""The one way a test waits for something to happen elsewhere (a consumer, a relay, another
process): poll a read until it shows what is expected, and fail at a deadline saying what it
last read. Never sleep a fixed time instead; never sleep to prove that nothing happened (read
the outbox, read a topic to its end, or call the step directly)."""

from __future__ import annotations

import asyncio
import reprlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

_shown = reprlib.Repr()
_shown.maxstring = _shown.maxother = 2000
_shown.maxlist = _shown.maxdict = _shown.maxset = 50
_shown.maxlevel = 8


class NeverHappened(AssertionError):
    """`eventually` reached its deadline; `last` is what it read last (or the error it got)."""

    def __init__(self, message: str, last: object) -> None:
        super().__init__(message)
        self.last = last


async def eventually(
    read: Callable[[], Awaitable[T]],
    expect: object | Callable[[T], bool],
    *,
    within: float = 30.0,
    every: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
    what: str = "",
) -> T:
    """Calls `read()` until its value equals `expect` (or, when `expect` is callable, until
    `expect(value)` holds) and returns that value.

    Sleeps at most `every` seconds between reads. At `within` seconds it fails with
    `NeverHappened`, saying what it read last; a read still running then is cancelled. An
    exception in `ignoring` counts as "not yet" (a service restarting); any other one is
    raised at once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    wanted = expect if callable(expect) else (lambda value: value == expect)
    last: object = _NOTHING
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                value = await read()
            if wanted(value):
                return value
            last = value
        except TimeoutError as error:
            if loop.time() < deadline and not isinstance(error, ignoring):
                raise  # the read's own timeout, not the deadline's
            if loop.time() < deadline:
                last = error
        except ignoring as error:
            last = error
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise NeverHappened(_message(what, within, last, expect), last)
        await asyncio.sleep(min(every, remaining))


_NOTHING = object()


def _message(what: str, within: float, last: object, expect: object) -> str:
    label = f"{what}: " if what else ""
    shown = "nothing (no read finished)" if last is _NOTHING else _shown.repr(last)
    hoped = "" if callable(expect) else f"; expected {_shown.repr(expect)}"
    return f"{label}after {within:g}s, last read {shown}{hoped}"
