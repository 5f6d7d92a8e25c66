"""B1 and B2: intake under load, with `wrk` posting 40-cell JSON reports (≈ 2.7 KB).

    python -m bench.intake_load [--projects 1000] [--seconds 60] [--connections 32] [--runs 3]

Starts intake as `cma serve intake` (its own process, as in production) on a scratch
database (CMA_BENCH_DATABASE_URL's server, or an embedded PostgreSQL) and the embedded broker
(or CMA_KAFKA_BOOTSTRAP), registers `--projects` projects through the API, then per run:
- baseline: `GET /healthz` (the HTTP stack and one database round trip) for a third of the
  time, so each run has its own ceiling to divide by;
- B1: wrk posts reports round the projects for `--seconds` at `--connections`;
- B2: wrk offers twice the B1 median rate over 4 × `--connections` paced connections.
After each load: the reports stored equal the 201s counted (nothing accepted lost, nothing
twice), and the time the outbox relay takes to publish what is left. Needs `wrk` (Debian's
package); `--profile FILE` records intake with py-spy during the first B1 run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.support import (
    cpu_snapshot,
    cpu_spent,
    machine_busy_seconds,
    platform_settings,
    run_benchmark,
    service,
    summary,
)
from contracts.catalog import load_catalog
from services.intake import models as m
from services.runtime.db import make_engine

SCRIPT = Path(__file__).with_name("intake_load.lua")
LEVELS = ("bac", "bac+2", "bac+3", "bac+5", "formation-continue")
REGIONS = ("11", "84", "93", "76", "75", "32", "44", "52", "53", "24", "27", "28")
SHEETS = tuple(load_catalog().sheets)
PERIODS = ("2024-S1", "2024-S2", "2025-S1", "2025-S2", "2026-S1")


def project_body(i: int) -> dict[str, Any]:
    return {
        "sheet": SHEETS[i % len(SHEETS)],
        "wave": "saison-1",
        "name": f"Projet de charge {i}",
        "lead": "Banc d'essai",
        "regions": [REGIONS[i % len(REGIONS)], REGIONS[(i + 1) % len(REGIONS)]],
        "start_date": "2023-01-01",
        "end_date": "2027-12-31",
        "funding_eur": 1_000_000,
    }


def report_body(regions: list[str], rng: random.Random) -> str:
    """40 cells: 2 regions × 5 levels × 2 sexes × trained/sensitised."""
    cells = [
        {"kind": kind, "level": level, "region": region, "sex": sex, "count": rng.randint(0, 500)}
        for kind in ("trained", "sensitised")
        for level in LEVELS
        for region in regions
        for sex in ("F", "M")
    ]
    return json.dumps({"period": rng.choice(PERIODS), "cells": cells})


async def register(base: str, staff: str, projects: int, targets: Path) -> None:
    """Registers the projects; writes one `path<TAB>token<TAB>body` line each for wrk."""
    rng = random.Random(2030)
    headers = {"Authorization": f"Bearer {staff}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        lines = []
        for i in range(projects):
            body = project_body(i)
            created = (await client.post("/v1/projects", json=body)).raise_for_status().json()
            path = f"/v1/projects/{created['project_id']}/reports"
            report = report_body(body["regions"], rng)
            lines.append(f"{path}\t{created['api_token']}\t{report}")
    targets.write_text("\n".join(lines) + "\n")  # noqa: ASYNC240 (before the load)


def wrk(url: str, targets: Path, seconds: float, connections: int, **env: str) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds:.0f}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        url,
    ]
    run_env = os.environ | {"CMA_BENCH_TARGETS": str(targets)} | env
    out = subprocess.run(command, env=run_env, capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["rate"] = result["requests"] / result["seconds"]
    return result


async def settle(database_url: str) -> tuple[int, float]:
    """Reports stored, and the seconds until the outbox holds nothing unsent."""
    engine = make_engine(database_url, pool_size=1)
    started = time.perf_counter()
    async with engine.connect() as conn:
        while await conn.scalar(select(func.count()).where(m.outbox.c.sent_at.is_(None))):
            await asyncio.sleep(0.1)
            await conn.rollback()
        drained = time.perf_counter() - started
        # Requests still in flight when wrk stopped commit later (seconds later on a loaded
        # machine): count once the number has not moved for 2 s.
        stored, previous = -1, -2
        while stored != previous:
            previous = stored
            stored = int(await conn.scalar(select(func.count()).select_from(m.reports)) or 0)
            await conn.rollback()
            await asyncio.sleep(2.0)
    await engine.dispose()
    return stored, drained


def loaded(
    pid: int, url: str, targets: Path, seconds: float, connections: int, **env: str
) -> dict[str, Any]:
    """wrk's results, with what each program spent in CPU per answer (ms) and how busy the
    machine was."""
    before, (busy, total) = cpu_snapshot(), machine_busy_seconds()
    load_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = wrk(url, targets, seconds, connections, **env)
    spent = cpu_spent(before, pid, "intake")
    load_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, which has ended
    spent["wrk"] = sum(
        getattr(load_after, f) - getattr(load_before, f) for f in ("ru_utime", "ru_stime")
    )
    busy_after, total_after = machine_busy_seconds()
    answers = max(1, result["requests"])
    result["cpu_ms"] = {name: s * 1000 / answers for name, s in spent.most_common(5)}
    result["machine_busy"] = (busy_after - busy) / (total_after - total)
    return result


def describe(name: str, r: dict[str, Any]) -> str:
    return (
        f"{name} {r['rate']:.0f}/s  p50 {r['p50_ms']:.1f} ms  "
        f"p90 {r['p90_ms']:.1f} ms  "
        f"p99 {r['p99_ms']:.1f} ms  max {r['max_ms']:.0f} ms  statuses {r['statuses']}  "
        f"socket errors {r['socket_errors']}  refused without Retry-After "
        f"{r['refused_without_retry_after']}\n    CPU ms per answer "
        + ", ".join(f"{name} {ms:.2f}" for name, ms in r["cpu_ms"].items())
        + f"; machine busy {r['machine_busy']:.0%}"
    )


async def main(
    projects: int, seconds: float, connections: int, runs: int, profile: Path | None = None
) -> None:
    async with platform_settings() as settings:
        staff = settings["staff_tokens"]
        with service("intake", **settings) as (pid, base), tempfile.TemporaryDirectory() as tmp:
            targets = Path(tmp) / "targets.tsv"
            await register(base, staff, projects, targets)
            await measure(
                settings["database_url"], base, pid, targets, seconds, connections, runs, profile
            )


@dataclass
class Ledger:
    """201s counted by wrk against reports stored. wrk stops with requests in flight: the
    service still commits them, unseen, so stored may exceed the 201s by at most the number
    of connections; a 201 without its report, or a report stored twice, is never allowed."""

    url: str
    stored: int = 0

    async def check(self, name: str, result: dict[str, Any], connections: int) -> None:
        stored, drained = await settle(self.url)
        unseen = stored - self.stored - result["statuses"].get("201", 0)
        self.stored = stored
        print(describe(name, result))
        print(
            f"{name}: {stored} reports stored, {unseen} of them answered after wrk stopped; "
            f"outbox drained {drained:.1f} s after the load",
            flush=True,
        )
        assert 0 <= unseen <= connections, "a report answered 201 is missing, or stored twice"


def py_spy(pid: int, seconds: float, profile: Path) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(pid)]
    command += ["--subprocesses", "-d", f"{seconds:.0f}", "-r", "97", "--format", "raw"]
    return subprocess.Popen([*command, "-o", str(profile)], stdout=subprocess.DEVNULL)


async def measure(
    url: str,
    base: str,
    pid: int,
    targets: Path,
    seconds: float,
    connections: int,
    runs: int,
    profile: Path | None,
) -> None:
    print(f"intake pid {pid}, {seconds:.0f} s runs at {connections} connections", flush=True)
    ledger = Ledger(url)
    baseline: list[dict[str, Any]] = []
    b1: list[dict[str, Any]] = []
    b2: list[dict[str, Any]] = []
    if profile is not None:  # its own run: py-spy slows what it samples
        recorder = py_spy(pid, seconds, profile)
        await ledger.check(
            "profiled B1 (not counted)",
            loaded(pid, base, targets, seconds, connections),
            connections,
        )
        recorder.wait()
    for run in range(1, runs + 1):
        healthz = loaded(pid, base, targets, seconds / 3, connections, CMA_BENCH_PATH="/healthz")
        baseline.append(healthz)
        print(describe(f"run {run} baseline GET /healthz", healthz), flush=True)

        b1.append(loaded(pid, base, targets, seconds, connections))
        await ledger.check(f"run {run} B1", b1[-1], connections)

        offered, paced = 2 * b1[-1]["rate"], 4 * connections
        delay = str(max(1, round(paced * 1000 / offered)))
        b2.append(loaded(pid, base, targets, seconds, paced, CMA_BENCH_DELAY_MS=delay))
        await ledger.check(f"run {run} B2 ({offered:.0f}/s offered)", b2[-1], paced)

    print(summary("B1 reports/s", [r["rate"] for r in b1], "/s"))
    print(summary("B1 p99", [r["p99_ms"] for r in b1], "ms"))
    print(summary("B1 intake CPU per report", [r["cpu_ms"].get("intake", 0) for r in b1], "ms"))
    print(summary("B1 machine busy", [100 * r["machine_busy"] for r in b1], "%"))
    print(summary("baseline GET /healthz/s", [r["rate"] for r in baseline], "/s"))
    ratio = statistics.median(r["rate"] / h["rate"] for r, h in zip(b1, baseline, strict=True))
    print(f"B1 ÷ baseline median {ratio:.2f}")
    print(summary("B2 201/s", [r["statuses"].get("201", 0) / r["seconds"] for r in b2], "/s"))
    print(summary("B2 p99", [r["p99_ms"] for r in b2], "ms"))
    refused = [sum(n for s, n in r["statuses"].items() if s in ("429", "503")) for r in b2]
    print(
        f"B2 refused (429/503) per run {refused}, without Retry-After "
        f"{sum(r['refused_without_retry_after'] for r in b2)}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="py-spy raw stacks of the first B1 run")
    args = parser.parse_args()
    run_benchmark(main(args.projects, args.seconds, args.connections, args.runs, args.profile))
