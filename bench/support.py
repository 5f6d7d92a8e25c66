"""What every benchmark needs: a scratch database and a way to report repeated runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from services.launcher.embedded import EmbeddedKafka, EmbeddedPostgres, free_port
from services.runtime.migrations import upgrade_all_async
from services.runtime.registry import process as registered


def run_benchmark(main: Coroutine[Any, Any, None]) -> None:
    """`asyncio.run`, with SIGTERM taken as Ctrl-C: a benchmark stopped by `kill` or a
    timeout still runs its `finally` blocks, so the services it started stop and its scratch
    database is dropped."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    asyncio.run(main)


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A new, migrated database on CMA_BENCH_DATABASE_URL's server (a PostgreSQL server URL),
    dropped afterwards, or on an embedded PostgreSQL started for the benchmark and stopped
    after it; yields its URL."""
    name = f"cma_bench_{uuid.uuid4().hex[:8]}"
    server = os.environ.get("CMA_BENCH_DATABASE_URL")
    embedded: EmbeddedPostgres | None = None
    if server:
        admin = make_url(server).set(drivername="postgresql").render_as_string(False)
        await _on_server(admin, f'create database "{name}"')
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
    else:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="cma-bench-pg-")))
        url = await embedded.create_database(name)
    try:
        await upgrade_all_async(url)
        yield url
    finally:
        if embedded is not None:
            embedded.stop()
        else:
            await _on_server(admin, f'drop database "{name}" with (force)')


async def _on_server(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def summary(name: str, runs: Sequence[float], unit: str = "s") -> str:
    """`name median X unit  runs [...]`: the median first, every run after it."""
    rounded = [round(r, 2) for r in runs]
    return f"{name} median {statistics.median(runs):.2f} {unit}  runs {rounded}"


@contextlib.contextmanager
def broker() -> Iterator[str]:
    """CMA_KAFKA_BOOTSTRAP's broker, or an embedded one for the benchmark; yields its address."""
    if bootstrap := os.environ.get("CMA_KAFKA_BOOTSTRAP"):
        yield bootstrap
        return
    kafka = EmbeddedKafka()
    kafka.start()
    os.environ["CMA_KAFKA_IDEMPOTENCE"] = "false"  # the embedded broker has no InitProducerId
    try:
        yield kafka.bootstrap
    finally:
        kafka.stop()


@asynccontextmanager
async def platform_settings() -> AsyncIterator[dict[str, str]]:
    """A scratch database, a broker and a staff token, as the settings `service()` takes.
    Needs wrk: the benchmarks that start services load them with it."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    with broker() as bootstrap:
        async with scratch_database() as url:
            yield {
                "database_url": url,
                "kafka_bootstrap": bootstrap,
                "staff_tokens": secrets.token_urlsafe(24),
                # The staff token registers every project in a burst; no project's token
                # comes near the default limit (10/s each) in these loads.
                "rate_limit_per_minute": "60000",
            }


@contextlib.contextmanager
def service(name: str, **settings: str) -> Iterator[tuple[int, str]]:
    """`cma serve <name>` as its own process (as in production) with these CMA_* settings on
    a free port, once healthy; yields its pid and base URL."""
    port = free_port()
    env = os.environ | {f"CMA_{k.upper()}": v for k, v in settings.items()}
    env[registered(name).port_variable] = str(port)
    process = subprocess.Popen([sys.executable, "-m", "services.command", "serve", name], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not become healthy")
            time.sleep(0.2)
        yield process.pid, base
    finally:
        process.terminate()
        process.wait(30)


def _cpu(pid: str) -> tuple[str, float]:
    """A process's program name and user + system CPU seconds so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    name, _, rest = stat.partition(" (")[2].rpartition(")")
    fields = rest.split()
    return name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> set[str]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {str(pid)}.union(*(_tree(int(child)) for child in children))


def resident_mib(pid: int) -> float:
    """Resident memory (`VmRSS`) of a process and its descendants (a service's workers), MiB."""
    kib = 0
    for one in _tree(pid):
        with contextlib.suppress(OSError):  # a process that ended meanwhile
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kib += int(line.split()[1])
    return kib / 1024


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds one process has spent so far."""
    return _cpu(str(pid))[1]


def cpu_snapshot() -> dict[str, tuple[str, float]]:
    """Every process's program name and CPU seconds so far, by pid."""
    snapshot = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # a process that ended meanwhile
                snapshot[entry.name] = _cpu(entry.name)
    return snapshot


def cpu_spent(
    before: dict[str, tuple[str, float]], service_pid: int, service_name: str
) -> Counter[str]:
    """CPU seconds each program spent since `before`: the service's process tree (its uvicorn
    workers) under its name, the others by program (postgres, python…). Counted per process,
    so processes that ended or began meanwhile (pooled connections) do not skew the sums;
    what an ended process spent after `before` is lost."""
    return cpu_spent_by(before, {service_name: service_pid})


def cpu_spent_by(
    before: dict[str, tuple[str, float]],
    services: Mapping[str, int],
    alone: Mapping[str, int] | None = None,
) -> Counter[str]:
    """`cpu_spent` with several services, each process tree under its name, and the `alone`
    processes under theirs without their children (a benchmark that started the services)."""
    owner = {str(pid): name for name, pid in (alone or {}).items()}
    owner |= {pid: name for name, root in services.items() for pid in _tree(root)}
    spent = Counter[str]()
    for pid, (name, seconds) in cpu_snapshot().items():
        earlier = before.get(pid, (name, 0.0))[1]
        spent[owner.get(pid, name)] += seconds - earlier
    return spent


def cpu_per(
    before: dict[str, tuple[str, float]], pids: Mapping[str, int], n: int, unit: str, me: str
) -> str:
    """CPU each program spent per `unit` since `before`: the services' process trees and this
    process (`me`) under their names, the others by program (postgres, the broker; on a shared
    machine, other sessions' processes too, hence only the top ones)."""
    spent = cpu_spent_by(before, pids, alone={me: os.getpid()})
    n = max(n, 1)  # a smoke run's load may send none
    top = ", ".join(f"{name} {cpu * 1000 / n:.2f}" for name, cpu in spent.most_common(7))
    return f"CPU ms per {unit}: {top}"


def machine_busy_seconds() -> tuple[float, float]:
    """All cores' busy and total seconds so far, from /proc/stat."""
    user, nice, system, idle, iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    busy = user + nice + system + irq + softirq + steal
    return busy / os.sysconf("SC_CLK_TCK"), (busy + idle + iowait) / os.sysconf("SC_CLK_TCK")
