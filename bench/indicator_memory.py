"""B8's memory: what one indicator process holds per project, and what its peaks leave behind.

    python -m bench.indicator_memory [--projects 1000,2000] [--semesters 14] [--cells 46]
                                     [--trace 12]

Uses CMA_BENCH_DATABASE_URL (a PostgreSQL server URL; a scratch database is created there)
or an embedded PostgreSQL. Feeds B8's projects (bench/scale_load.py: two regions, one
commitment, sheets in turn) and each one's report of `--cells` cells for each of `--semesters`
semesters to the indicator's real consumer (`IdempotentConsumer.handle_records`, without a
broker), up to each checkpoint of `--projects`. At each checkpoint a fresh process (a replica
starting on that database) builds what the service keeps and does what it does at rest:
`/metrics`' rebuild at start (every project and the national families), one after a batch
of 100 projects, batches of 500 projects each followed by a scrape (as during an ingest),
the national families again, and the watch's evaluation of alert
conditions. It prints its resident memory (`VmRSS`) after each step, then after
`malloc_trim(0)` (what glibc's arenas hold free), and the bytes of the kept state (the page,
the projects' parts, the fingerprints: `sys.getsizeof`, deep). With `--trace N` a second
process does the same under `tracemalloc` and prints the Python memory still allocated and
the peak of each step, and the N largest allocation sites still allocated at rest. The
growth per project is the difference between two checkpoints divided by the projects added.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import itertools
import os
import re
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from starlette.requests import Request

from bench.indicator_apply import batches, records
from bench.scale_load import Project, coordinates, project_body, report, semesters
from bench.support import resident_mib, run_benchmark, scratch_database
from contracts.events import IndicatorReportSubmitted, ProjectRegistered
from contracts.topics import PROJECTS, REPORTS, Topic
from services.indicator import models as m
from services.indicator.figures import Figures
from services.indicator.handlers import make_handler
from services.indicator.queries import IndicatorQueries
from services.indicator.rendered import kept_in_memory
from services.indicator.watch import Watch
from services.runtime.consumer import IdempotentConsumer
from services.runtime.db import make_engine
from services.runtime.metrics import ConsumerMetrics, metrics_endpoint
from services.runtime.settings import Settings

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def _projects(start: int, stop: int) -> list[Project]:
    return [
        Project(i, str(uuid.UUID(int=i + 1)), "", list(project_body(i, "2020-S1")["regions"]))
        for i in range(start, stop)
    ]


def _registrations(projects: Sequence[Project], first: str) -> Iterator[tuple[uuid.UUID, bytes]]:
    for p in projects:
        body = project_body(p.index, first) | {"api_token_sha256": f"{p.index:064x}"}
        event = ProjectRegistered(
            event_id=uuid.uuid4(),
            occurred_at=NOW,
            producer="bench",
            project_id=uuid.UUID(p.project_id),
            payload=body,
        )
        yield uuid.UUID(p.project_id), event.model_dump_json().encode()


def _reports(
    projects: Sequence[Project], periods: Sequence[str], cells: int
) -> Iterator[tuple[uuid.UUID, bytes]]:
    for period, p in itertools.product(periods, projects):
        event = IndicatorReportSubmitted(
            event_id=uuid.uuid4(),
            occurred_at=NOW,
            producer="bench",
            project_id=uuid.UUID(p.project_id),
            payload={
                "report_id": uuid.uuid4(),
                "revision": 1,
                "submitted_by": "bench",
                "submitted_at": NOW,
                "reason": None,
            }
            | report(p, period, cells),
        )
        yield uuid.UUID(p.project_id), event.model_dump_json().encode()


async def seed(url: str, projects: Sequence[Project], periods: Sequence[str], cells: int) -> None:
    """The projects' registrations and reports through the indicator's consumer, in batches
    of `consumer_batch_records` (500) as deployed."""
    settings, broker = Settings(), KafkaBroker("unused:9092")  # only a dead letter uses it
    engine = make_engine(url)
    metrics = ConsumerMetrics(CollectorRegistry(), "bench")
    apply = make_handler(clock)
    size = settings.consumer_batch_records

    async def feed(name: str, topic: Topic, keyed: Iterator[tuple[uuid.UUID, bytes]]) -> None:
        consumer = IdempotentConsumer(
            name, topic, engine, m.processed_events, apply, settings, metrics
        )
        while chunk := list(itertools.islice(keyed, size)):
            for batch in batches(records(topic, chunk), size):
                await consumer.handle_records(broker, batch)

    await feed("indicator.projects", PROJECTS, _registrations(projects, periods[0]))
    await feed("indicator.reports", REPORTS, _reports(projects, periods, cells))
    async with engine.begin() as conn:
        await conn.exec_driver_sql("analyze")  # as autovacuum would have by then
    await engine.dispose()


def deep_size(value: object, seen: set[int] | None = None) -> int:
    """`sys.getsizeof` of a value and of everything it holds (containers, dataclasses)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in value.items())
    elif isinstance(value, list | tuple | set | frozenset):
        size += sum(deep_size(v, seen) for v in value)
    elif hasattr(value, "__dict__"):
        size += deep_size(vars(value), seen)
    elif isinstance(slots := getattr(type(value), "__slots__", None), tuple):
        size += sum(deep_size(getattr(value, name), seen) for name in slots)
    return size


def _trim() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.malloc_trim(0)


async def probe(url: str, trace: int) -> None:
    """What a replica starting on `url` holds after each step (see the module's docstring)."""
    if trace:
        tracemalloc.start(4)
    settings = Settings()
    engine = make_engine(url)
    figures = Figures.from_settings(IndicatorQueries(engine), clock, settings)
    text, business = kept_in_memory(figures, settings)
    watch = Watch(figures, settings.stale_semesters)

    def step(name: str) -> None:
        gc.collect()
        line = f"step {name:<10} rss {resident_mib(os.getpid()):7.1f} MiB"
        if trace:
            now, peak = tracemalloc.get_traced_memory()
            line += f"  python {now / 2**20:7.1f} MiB  peak {peak / 2**20:7.1f} MiB"
            tracemalloc.reset_peak()
        print(line, flush=True)

    step("start")
    started = time.perf_counter()
    await business.rebuild()
    step("rebuilt")
    print(f"rebuild at start: {time.perf_counter() - started:.1f} s", flush=True)
    business.touch(itertools.islice(iter(text.projects), 100))
    await business.rebuild()
    step("batch")
    scrape = metrics_endpoint(CollectorRegistry(), rendered=business)
    ids = list(text.projects)
    for start in range(0, len(ids), 500):  # as during an ingest: batches, each then scraped
        business.touch(ids[start : start + 500])
        await business.rebuild()
        await scrape(Request({"type": "http", "headers": []}))
    step("ingest")
    await text.refresh_national()
    step("national")
    await watch.holding()
    step("watch")
    await engine.dispose()
    step("rest")
    _trim()
    step("trimmed")
    kept = {
        "page": business.text,
        "projects": text.projects,
        "fingerprints": text.fingerprints,
    }
    print(
        "kept "
        + ", ".join(f"{name} {deep_size(value) / 2**20:.1f} MiB" for name, value in kept.items()),
        f"({len(text.projects)} projects)",
        flush=True,
    )
    if trace:
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        for stat in snapshot.statistics("traceback")[:trace]:
            ours = [f for f in stat.traceback if "/services/" in f.filename]
            where, inner = (ours or list(stat.traceback))[-1], stat.traceback[-1]
            print(
                f"site {stat.size / 2**20:7.2f} MiB {stat.count:>8} blocks  "
                f"{'/'.join(where.filename.rsplit('/', 2)[-2:])}:{where.lineno}  "
                f"(innermost {inner.filename.rsplit('/', 1)[-1]}:{inner.lineno})",
                flush=True,
            )


STEP = re.compile(r"^step (\S+) +rss +([0-9.]+) MiB(?:  python +([0-9.]+) MiB)?", re.M)


def _probe_process(url: str, trace: int) -> dict[str, tuple[float, float | None]]:
    """The probe's output, printed; returns each step's resident and Python MiB."""
    command = [sys.executable, "-m", "bench.indicator_memory", "--probe", url]
    if trace:
        command += ["--trace", str(trace)]
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    print(out, end="", flush=True)
    return {
        name: (float(rss), float(python) if python else None)
        for name, rss, python in STEP.findall(out)
    }


async def main(checkpoints: Sequence[int], periods: int, cells: int, trace: int) -> None:
    chosen = semesters(periods, date(2026, 11, 30))
    coordinates(["a", "b"], cells)  # refuses more than a report can hold
    print(
        f"checkpoints={','.join(map(str, checkpoints))} semesters={periods} cells={cells} "
        f"MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', '')}",
        flush=True,
    )
    found: list[tuple[int, dict[str, tuple[float, float | None]]]] = []
    async with scratch_database() as url:
        done = 0
        for upto in checkpoints:
            started = time.perf_counter()
            await seed(url, _projects(done, upto), chosen, cells)
            done = upto
            print(
                f"== {upto} projects ({upto * periods * cells} cells; seeded in "
                f"{time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            steps = _probe_process(url, 0)
            if trace:
                steps |= {f"{k} (traced)": v for k, v in _probe_process(url, trace).items()}
            found.append((upto, steps))
    for (n, before), (m_, after) in itertools.pairwise(found):
        per = {name: (after[name][0] - rss) * 1024 / (m_ - n) for name, (rss, _) in before.items()}
        print(
            f"growth per project {n} -> {m_}: resident "
            + ", ".join(f"{k} {per[k]:.1f}" for k in ("rebuilt", "ingest", "rest", "trimmed"))
            + " KiB",
            flush=True,
        )
        if trace:
            a, b = before["rest (traced)"][1], after["rest (traced)"][1]
            if a is not None and b is not None:
                print(
                    f"growth per project {n} -> {m_}: python objects at rest "
                    f"{(b - a) * 1024 / (m_ - n):.1f} KiB",
                    flush=True,
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default="1000,2000", help="checkpoints, comma-separated")
    parser.add_argument("--semesters", type=int, default=14)
    parser.add_argument("--cells", type=int, default=46)
    parser.add_argument("--trace", type=int, default=0, help="allocation sites to print")
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # the checkpoint's own process
    args = parser.parse_args()
    if args.probe:
        run_benchmark(probe(args.probe, args.trace))
    else:
        points = [int(n) for n in args.projects.split(",")]
        run_benchmark(main(points, args.semesters, args.cells, args.trace))
