"""B8: 10,000 projects × 14 semesters × 46 cells (6.44 M cells) through the platform, end to end.

    python -m bench.scale [--projects 10000] [--semesters 14] [--cells 46] [--connections 32]
                          [--reads 500] [--read-seconds 300] [--checkpoints 4]

Starts the four services as `cma serve` processes on a scratch database (CMA_BENCH_DATABASE_URL's
server, or an embedded PostgreSQL) and the embedded broker (or CMA_KAFKA_BOOTSTRAP). In
`--checkpoints` equal chunks of projects: registers the chunk through intake (staff token),
posts each project's report for each semester through intake's API with the project's own
token over `--connections` concurrent requests, polls from the chunk's last 201 until every
figure is fresh (indicator and milestone have applied every report, their inboxes, and
indicator's `/metrics` counts every person posted), then reads each service's resident
memory (VmRSS of its process tree), at rest. Then:
- the CPU each program spent per report, from the first registration to the last freshness;
- every report stored once in intake (one row per project and period, revision 1); the
  totals in indicator's tables and a sample of projects' `GET /v1/projects/{id}/progress`
  equal to what was posted;
- reads: `GET /v1/progress`, `GET /v1/coverage` and a project's progress, one at a time,
  `--reads` each (or `--read-seconds`), p50 and p99; `GET /healthz` the same way (baseline);
- replay: stops indicator, `cma replay indicator` (rewind its groups, drop and migrate its
  schema), starts it and times it until it applied every event again; the ordered hashes of
  its tables (bench/replay.py) must equal those taken before;
- memory: each service's at each checkpoint, its peak, and its growth per project.
Only 14 semesters can be reported on 2026-11-30 (2020-S1..2026-S2: intake refuses a period
that has not begun, and none can be named before 2020): 14 × 46 cells keeps the issue's
6.4 M cells (16 × 40).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from functools import partial

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.replay import hashes, short
from bench.scale_load import Posted, Project, post_reports, register, semesters
from bench.support import (
    broker,
    cpu_per,
    cpu_snapshot,
    resident_mib,
    run_benchmark,
    scratch_database,
    service,
    summary,
)
from contracts import topics
from services.command.replay import rebuild
from services.intake import models as intake
from services.runtime import registry
from services.runtime.registry import NAMES
from services.runtime.settings import Settings

READ_GOAL_MS, REPLAY_GOAL_S = 100.0, 360.0
FRESH_WITHIN_S = 4 * 3600.0  # the longest wait before the benchmark gives up
APPLIED = "select count(*) from {}.processed_events where consumer = $1"
STORED = (
    "select count(*), count(distinct (project_id, period)), coalesce(max(revision), 0)"
    f" from {intake.reports.fullname}"
)
PEOPLE = "select kind, sum(count) from indicator.cells group by kind"
INBOX = "select consumer, count(*) from indicator.processed_events group by consumer"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Memory:
    """Each service's resident memory, sampled every second (its peak) and on demand."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids, self.peak = pids, dict.fromkeys(pids, 0.0)

    def now(self) -> dict[str, float]:
        found = {name: resident_mib(pid) for name, pid in self.pids.items()}
        for name, mib in found.items():
            self.peak[name] = max(self.peak.get(name, 0.0), mib)
        return found

    async def sample(self) -> None:
        while True:
            self.now()
            await asyncio.sleep(1)


def print_cpu(
    phase: str, before: dict[str, tuple[str, float]], pids: dict[str, int], n: int, unit: str
) -> None:
    print(f"B8 {phase}: {cpu_per(before, pids, n, unit, 'load client')}", flush=True)


def mib(values: dict[str, float]) -> str:
    return ", ".join(f"{name} {v:.0f} MiB" for name, v in values.items())


async def wait_until(
    what: str, done: Callable[[], Awaitable[bool]], since: float, poll: float = 0.2
) -> float:
    """Seconds from `since` (a `perf_counter`) until `done()` is true, polling every `poll` s."""
    deadline, told = time.monotonic() + FRESH_WITHIN_S, time.monotonic()
    while not await done():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not within {FRESH_WITHIN_S:.0f} s")
        if time.monotonic() - told > 60:
            print(f"  waiting: {what} ({time.perf_counter() - since:.0f} s)", flush=True)
            told = time.monotonic()
        await asyncio.sleep(poll)
    return time.perf_counter() - since


async def metrics_people(client: httpx.AsyncClient) -> int:
    """Everyone indicator's `/metrics` counts per project, as reported."""
    text = (await client.get("/metrics")).text
    return round(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("cma_indicator_project_people{") and 'reading="as_reported"' in line
        )
    )


async def check_stored(db: asyncpg.Connection, posted: Posted) -> None:
    rows, distinct, revision = await db.fetchrow(STORED)
    print(
        f"intake stored {rows} reports, {distinct} (project, period), highest revision {revision}"
    )
    if not rows == distinct == posted.reports or revision != 1:
        raise SystemExit(f"{posted.reports} reports accepted: not each stored once")


async def check_figures(
    db: asyncpg.Connection, indicator: httpx.AsyncClient, posted: Posted, sample: list[Project]
) -> None:
    """Indicator's totals, and a sample of projects' read API, against what was posted."""
    stored = {kind: int(n) for kind, n in await db.fetch(PEOPLE)}
    if stored != dict(posted.by_kind()):
        raise SystemExit(f"indicator's cells {stored} != posted {dict(posted.by_kind())}")
    for project in sample:
        answer = await indicator.get(f"/v1/projects/{project.project_id}/progress")
        totals = {k: n for k, n in answer.raise_for_status().json()["totals"].items() if n}
        if totals != dict(posted.totals[project.project_id]):
            raise SystemExit(f"project {project.project_id}: {totals} != posted")
    print(f"indicator totals equal what was posted ({dict(stored)}), and {len(sample)} projects'")


async def timed_reads(
    client: httpx.AsyncClient, path: Callable[[int], str], count: int, seconds: float
) -> list[float]:
    """Seconds per answer, one request at a time, after 3 unmeasured ones."""
    for i in range(3):
        (await client.get(path(i))).raise_for_status()
    times, until = [], time.monotonic() + seconds
    for i in range(count):
        started = time.perf_counter()
        (await client.get(path(i))).raise_for_status()
        times.append(time.perf_counter() - started)
        if time.monotonic() > until:
            break
    return times


def plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Platform:
    """The running services and what the phases share."""

    settings: dict[str, str]
    urls: dict[str, str]
    pids: dict[str, int]
    stack: contextlib.ExitStack  # every service's process
    indicator: contextlib.ExitStack  # indicator's alone: the replay stops it
    db: asyncpg.Connection


@dataclass(frozen=True)
class Scale:
    projects: int
    periods: list[str]
    cells: int
    connections: int
    reads: int
    read_seconds: float
    checkpoints: int


async def main(
    projects: int,
    semesters_: int,
    cells: int,
    connections: int,
    reads: int = 500,
    read_seconds: float = 300.0,
    checkpoints: int = 4,
) -> None:
    periods = semesters(semesters_, date.today())
    scale = Scale(projects, periods, cells, connections, reads, read_seconds, checkpoints)
    reports = projects * len(periods)
    print(
        f"B8 projects={projects} semesters={len(periods)} ({periods[0]}..{periods[-1]}) "
        f"cells={cells}: {reports} reports, {reports * cells} cells, {connections} connections",
        flush=True,
    )
    with broker() as bootstrap:
        async with scratch_database() as url:
            settings = {
                "database_url": url,
                "kafka_bootstrap": bootstrap,
                "staff_tokens": secrets.token_urlsafe(24),
                "rate_limit_per_minute": "600000",  # the staff token registers in a burst
                "rate_limit_burst": "10000",
            }
            with contextlib.ExitStack() as stack:
                indicator = stack.enter_context(contextlib.ExitStack())
                pids, urls = {}, {}
                for name in NAMES:
                    on = indicator if name == "indicator" else stack
                    pids[name], urls[name] = on.enter_context(service(name, **settings))
                db = await asyncpg.connect(plain(url))
                try:
                    await run(Platform(settings, urls, pids, stack, indicator, db), scale)
                finally:
                    await db.close()


async def run(platform: Platform, scale: Scale) -> None:
    memory = Memory(dict(platform.pids))
    sampler = asyncio.create_task(memory.sample())
    print(f"at start: {mib(memory.now())}", flush=True)
    staff = {"Authorization": f"Bearer {platform.settings['staff_tokens']}"}
    base = platform.urls["indicator"]
    async with httpx.AsyncClient(base_url=base, headers=staff, timeout=600) as indicator:
        before = cpu_snapshot()
        registered, posted, marks, fresh = await ingest(platform, scale, memory, indicator)
        print(
            "B8 fresh after the last 201: " + ", ".join(f"{k} {s:.1f} s" for k, s in fresh.items()),
            flush=True,
        )
        print_cpu("ingest to fresh", before, platform.pids, posted.reports, "report")
        await check_stored(platform.db, posted)
        sample = random.Random(8).sample(registered, min(20, len(registered)))
        await check_figures(platform.db, indicator, posted, sample)
        await read_latencies(indicator, registered, scale.reads, scale.read_seconds)
    print(f"after the reads: {mib(memory.now())}", flush=True)
    await replay(platform, memory, posted.cells)
    sampler.cancel()
    report_memory(marks, memory)


async def caught_up(
    platform: Platform, posted: Posted, since: float, indicator: httpx.AsyncClient
) -> dict[str, float]:
    """Seconds from `since` until indicator and milestone have applied every report posted
    (their inboxes), and until indicator's `/metrics` counts every person posted."""

    async def applied(service: str) -> bool:
        query = APPLIED.format(service)
        return int(await platform.db.fetchval(query, f"{service}.reports")) == posted.reports

    total = sum(posted.by_kind().values())

    async def metrics_fresh() -> bool:
        return await metrics_people(indicator) == total

    readers = [
        s.name
        for s in registry.SERVICES
        if any(c.handler == "reports" and c.topic == topics.REPORTS for c in s.consumes)
    ]
    fresh = {
        f"{name} applied": await wait_until(name, partial(applied, name), since) for name in readers
    }
    # A scrape is megabytes at 10,000 projects: polled every second, not every 0.2 s.
    fresh["indicator /metrics"] = await wait_until("/metrics", metrics_fresh, since, poll=1.0)
    return fresh


async def ingest(
    platform: Platform, scale: Scale, memory: Memory, indicator: httpx.AsyncClient
) -> tuple[list[Project], Posted, list[tuple[int, dict[str, float]]], dict[str, float]]:
    """Registers the projects and posts their reports in `scale.checkpoints` chunks; after
    each, waits until every figure is fresh and reads the services' memory, so that each
    reading is taken at rest. Returns the projects, what was posted, the memory at each
    checkpoint and how long the last chunk took to be fresh after its last 201."""
    staff, connections = platform.settings["staff_tokens"], scale.connections
    posted, registered, marks = Posted(), list[Project](), list[tuple[int, dict[str, float]]]()
    registering, posting, rates = 0.0, 0.0, []
    # Idle connections dropped before uvicorn's 5 s keep-alive closes them: a registration
    # (not idempotent, so not retried) sent on a connection the server is closing fails.
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2
    )
    base = platform.urls["intake"]
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        bounds = [
            round(scale.projects * k / scale.checkpoints) for k in range(scale.checkpoints + 1)
        ]
        for low, high in itertools.pairwise(bounds):
            started = time.perf_counter()
            chunk = await register(client, staff, range(low, high), scale.periods[0], connections)
            registered += chunk
            between = time.perf_counter()
            await post_reports(client, chunk, scale.periods, scale.cells, connections, posted)
            last_201 = time.perf_counter()
            registering, posting = registering + between - started, posting + last_201 - between
            rates.append(len(chunk) * len(scale.periods) / (last_201 - between))
            fresh = await caught_up(platform, posted, last_201, indicator)
            marks.append((high, memory.now()))
            print(
                f"{high} projects: registered in {between - started:.1f} s, reports "
                f"{rates[-1]:.0f}/s, fresh {max(fresh.values()):.1f} s after; "
                f"{mib(marks[-1][1])}",
                flush=True,
            )
    ms = [s * 1000 for s in posted.seconds]
    print(summary("B8 ingest rate by chunk", rates, "reports/s"))
    print(
        f"B8 ingest: {posted.reports} reports in {posting:.1f} s ({posted.reports / posting:.0f}"
        f"/s; POST p50 {percentile(ms, 0.5):.0f} ms, p99 {percentile(ms, 0.99):.0f} ms; "
        f"{posted.retries} retried), registration {registering:.1f} s",
        flush=True,
    )
    return registered, posted, marks, fresh


async def read_latencies(
    client: httpx.AsyncClient, projects: list[Project], reads: int, seconds: float
) -> None:
    ids = [p.project_id for p in random.Random(18).sample(projects, len(projects))]
    endpoints: dict[str, Callable[[int], str]] = {
        "GET /healthz (baseline)": lambda _: "/healthz",
        "GET /v1/progress": lambda _: "/v1/progress",
        "GET /v1/coverage": lambda _: "/v1/coverage",
        "GET /v1/projects/{id}/progress": lambda i: f"/v1/projects/{ids[i % len(ids)]}/progress",
    }
    for name, path in endpoints.items():
        ms = [s * 1000 for s in await timed_reads(client, path, reads, seconds)]
        p99 = percentile(ms, 0.99)
        verdict = (
            ""
            if "healthz" in name
            else f"  goal p99 ≤ {READ_GOAL_MS:.0f} ms: "
            + ("holds" if p99 <= READ_GOAL_MS else "NOT MET")
        )
        print(
            f"B8 read {name}: {len(ms)} requests, p50 {percentile(ms, 0.5):.1f} ms, "
            f"p99 {p99:.1f} ms, max {max(ms):.0f} ms{verdict}",
            flush=True,
        )


async def replay(platform: Platform, memory: Memory, cells: int) -> None:
    """`cma replay indicator` with the service stopped, then the service again until its
    inbox holds as many events per consumer as before; its tables' hashes must not change."""
    db, settings = platform.db, platform.settings
    url = settings["database_url"]
    before = {c: int(n) for c, n in await db.fetch(INBOX)}
    expected = await hashes(url)
    platform.indicator.close()
    cpu_before = cpu_snapshot()
    started = time.perf_counter()
    await rebuild(
        Settings(database_url=url, kafka_bootstrap=settings["kafka_bootstrap"]), "indicator"
    )
    rebuilt = time.perf_counter()
    # Started in a thread: `service()` waits for health by blocking.
    again = service("indicator", **settings)
    pid, _ = await asyncio.to_thread(platform.stack.enter_context, again)
    del memory.pids["indicator"]
    memory.pids["indicator (replayed)"] = pid

    async def caught_up() -> bool:
        return {c: int(n) for c, n in await db.fetch(INBOX)} == before

    took = await wait_until("the replayed indicator", caught_up, started)
    got = await hashes(url)
    print(
        f"B8 replay: {took:.1f} s (rewind + drop + migrate {rebuilt - started:.1f} s), "
        f"{sum(before.values())} events, {cells / took:.0f} cells/s; goal ≤ {REPLAY_GOAL_S:.0f} s: "
        + ("holds" if took <= REPLAY_GOAL_S else "NOT MET"),
        flush=True,
    )
    # The other services under their names too: idle here, what their own loops cost shows.
    pids = dict(platform.pids) | {"indicator": pid}
    print_cpu("replay", cpu_before, pids, sum(before.values()), "event")
    if got != expected:
        raise SystemExit(f"replay differs from the live state: {got} != {expected}")
    print(f"B8 replay hashes equal: {short(got)}")
    print(f"after the replay: {mib(memory.now())}", flush=True)


def report_memory(marks: list[tuple[int, dict[str, float]]], memory: Memory) -> None:
    """Each service's resident memory at each checkpoint (figures fresh, at rest), its peak,
    and its cost per project: the growth from the first checkpoint to the last divided by
    the projects added."""
    (first, at_first), (last, at_last) = marks[0], marks[-1]
    for name in at_last:
        series = [round(m[name]) for _, m in marks]
        per_project = (at_last[name] - at_first[name]) * 1024 / max(1, last - first)
        print(
            f"B8 memory {name}: {series} MiB at {[n for n, _ in marks]} projects, "
            f"peak {memory.peak[name]:.0f} MiB; {per_project:.1f} KiB per project"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--semesters", type=int, default=14)
    parser.add_argument("--cells", type=int, default=46)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--reads", type=int, default=500, help="requests per read endpoint")
    parser.add_argument("--read-seconds", type=float, default=300, help="at most, per endpoint")
    parser.add_argument("--checkpoints", type=int, default=4, help="memory read after each")
    args = parser.parse_args()
    run_benchmark(
        main(
            args.projects,
            args.semesters,
            args.cells,
            args.connections,
            args.reads,
            args.read_seconds,
            args.checkpoints,
        )
    )
