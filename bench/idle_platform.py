"""The idle platform: the CPU the four services, the broker and PostgreSQL spend when nothing
happens (their consumers' fetches, outbox polls, ticks), per program, in % of one core.

    CMA_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test \\
      .venv/bin/python -m bench.idle_platform --seconds 30 --runs 3

Each run starts the services as `cma serve` processes on a scratch database and the embedded
broker (or CMA_KAFKA_BOOTSTRAP), lets them settle (consumer groups joined), then reads every
program's CPU over `--seconds`. The waits under test come from the environment
(CMA_CONSUMER_WAIT_MS, CMA_CONSUMER_QUIET_WAIT_MS), as for a deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections import Counter
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.support import (
    cpu_snapshot,
    cpu_spent_by,
    platform_settings,
    run_benchmark,
    service,
    summary,
)
from services.runtime.registry import NAMES

OWN = (*NAMES, "broker", "postgres")
"""The platform's programs; on a shared machine others show beside them, under their names."""


async def one_run(settle: float, seconds: float) -> Counter[str]:
    """% of a core each program spent over `seconds` of an idle platform."""
    async with platform_settings() as settings:
        with contextlib.ExitStack() as stack:
            pids = {name: stack.enter_context(service(name, **settings))[0] for name in NAMES}
            pids["broker"] = _pid_with(f"tcp://{settings['kafka_bootstrap']}")
            await asyncio.sleep(settle)  # the consumers join their groups: not idle yet
            database = make_url(settings["database_url"]).database
            backends = {f"postgres {pid}": pid for pid in _pids_with(f" {database} ")}
            before = cpu_snapshot()
            await asyncio.sleep(seconds)  # the measured idle period itself
            spent = cpu_spent_by(before, pids, alone={"benchmark": os.getpid()} | backends)
    for backend in backends:  # the scratch database's backends, as one program
        spent["postgres"] += spent.pop(backend)
    return Counter({name: 100 * cpu / seconds for name, cpu in spent.items()})


def _pids_with(text: str) -> list[int]:
    """The processes whose command line holds `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(entry.name))
    return found


def _pid_with(text: str) -> int:
    [pid] = _pids_with(text)
    return pid


async def main(settle: float, seconds: float, runs: int) -> None:
    print(
        f"idle platform: {', '.join(NAMES)}, the broker and PostgreSQL; CMA_CONSUMER_WAIT_MS="
        f"{os.environ.get('CMA_CONSUMER_WAIT_MS', 'default')} CMA_CONSUMER_QUIET_WAIT_MS="
        f"{os.environ.get('CMA_CONSUMER_QUIET_WAIT_MS', 'default')}",
        flush=True,
    )
    results = []
    for _ in range(runs):
        shares = await one_run(settle, seconds)
        top = ", ".join(f"{name} {share:.1f}" for name, share in shares.most_common(8))
        print(f"run: % of a core: {top}", flush=True)
        results.append(shares)
    # On a shared machine other sessions' programs show too: the platform's own are summed.
    for name in OWN:
        print(summary(f"idle {name}", [r[name] for r in results], "% of a core"))
    own = [sum(r[name] for name in OWN) for r in results]
    print(summary("idle platform (services, broker, postgres)", own, "% of a core"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=20.0, help="seconds before measuring")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured idle period")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run_benchmark(main(args.settle, args.seconds, args.runs))
