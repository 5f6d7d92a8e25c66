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
import contextlib
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.support import scratch_database, summary
from contracts.catalog import load_catalog
from services.intake import models as m
from services.runtime.db import make_engine
from services.runtime.embedded import EmbeddedKafka, free_port

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


@contextlib.contextmanager
def intake_process(database_url: str, bootstrap: str, staff: str, port: int) -> Iterator[int]:
    env = os.environ | {
        "CMA_DATABASE_URL": database_url,
        "CMA_KAFKA_BOOTSTRAP": bootstrap,
        "CMA_STAFF_TOKENS": staff,
        "CMA_INTAKE_PORT": str(port),
    }
    command = [sys.executable, "-m", "services.runtime.cli", "serve", "intake"]
    process = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("intake did not become healthy")
            time.sleep(0.2)
        yield process.pid
    finally:
        process.terminate()
        process.wait(30)


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
    targets.write_text("\n".join(lines) + "\n")


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
        stored = await conn.scalar(select(func.count()).select_from(m.reports))
    await engine.dispose()
    return int(stored or 0), drained


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far: per request, it is what the service costs
    whatever else the shared machine runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loaded(
    pid: int, url: str, targets: Path, seconds: float, connections: int, **env: str
) -> dict[str, Any]:
    """wrk's results, with the service's CPU milliseconds per answer."""
    before = cpu_seconds(pid)
    result = wrk(url, targets, seconds, connections, **env)
    result["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / max(1, result["requests"])
    return result


def describe(name: str, r: dict[str, Any]) -> str:
    return (
        f"{name} {r['rate']:.0f}/s  CPU {r['cpu_ms']:.2f} ms each  p50 {r['p50_ms']:.1f} ms  p90 {r['p90_ms']:.1f} ms  "
        f"p99 {r['p99_ms']:.1f} ms  max {r['max_ms']:.0f} ms  statuses {r['statuses']}  "
        f"socket errors {r['socket_errors']}  refused without Retry-After "
        f"{r['refused_without_retry_after']}"
    )


async def main(
    projects: int, seconds: float, connections: int, runs: int, profile: Path | None = None
) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    staff, port = secrets.token_urlsafe(24), free_port()
    kafka = None
    bootstrap = os.environ.get("CMA_KAFKA_BOOTSTRAP")
    if not bootstrap:
        kafka = EmbeddedKafka()
        kafka.start()
        bootstrap = kafka.bootstrap
        os.environ["CMA_KAFKA_IDEMPOTENCE"] = "false"
    try:
        async with scratch_database() as url:
            with (
                intake_process(url, bootstrap, staff, port) as pid,
                tempfile.TemporaryDirectory() as tmp,
            ):
                base, targets = f"http://127.0.0.1:{port}", Path(tmp) / "targets.tsv"
                await register(base, staff, projects, targets)
                await measure(url, base, pid, targets, seconds, connections, runs, profile)
    finally:
        if kafka is not None:
            kafka.stop()


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
    print(f"intake pid {pid}, {seconds:.0f} s runs at {connections} connections")
    accepted, baseline, b1, b2 = 0, [], [], []
    for run in range(runs):
        healthz = loaded(pid, base, targets, seconds / 3, connections, CMA_BENCH_PATH="/healthz")
        baseline.append(healthz)
        print(describe(f"run {run + 1} baseline GET /healthz", healthz), flush=True)

        recorder = None
        if profile is not None and run == 0:
            recorder = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "-p",
                    str(pid),
                    "-d",
                    f"{seconds:.0f}",
                    "-r",
                    "97",
                ]
                + ["--format", "raw", "-o", str(profile), "--nonblocking"],
                stdout=subprocess.DEVNULL,
            )
        load = loaded(pid, base, targets, seconds, connections)
        if recorder is not None:
            recorder.wait()
        b1.append(load)
        accepted += load["statuses"].get("201", 0)
        stored, drained = await settle(url)
        print(describe(f"run {run + 1} B1 reports", load), flush=True)
        print(
            f"run {run + 1} B1 stored {stored} (201s so far {accepted}), outbox drained in "
            f"{drained:.1f} s",
            flush=True,
        )
        assert stored == accepted, "a report answered 201 is missing, or one is stored twice"

        rate = 2 * load["rate"]
        paced = 4 * connections
        delay_ms = max(1, round(paced * 1000 / rate))
        over = loaded(pid, base, targets, seconds, paced, CMA_BENCH_DELAY_MS=str(delay_ms))
        b2.append(over)
        accepted += over["statuses"].get("201", 0)
        stored, drained = await settle(url)
        print(describe(f"run {run + 1} B2 at 2× ({rate:.0f}/s offered)", over), flush=True)
        print(
            f"run {run + 1} B2 stored {stored} (201s so far {accepted}), outbox drained in "
            f"{drained:.1f} s",
            flush=True,
        )
        assert stored == accepted, "a report answered 201 is missing, or one is stored twice"

    rates = [r["rate"] for r in b1]
    print(summary("B1 reports/s", rates, "/s"))
    print(summary("B1 p99", [r["p99_ms"] for r in b1], "ms"))
    print(summary("B1 intake CPU per report", [r["cpu_ms"] for r in b1], "ms"))
    print(summary("baseline GET /healthz/s", [r["rate"] for r in baseline], "/s"))
    ratio = statistics.median(r["rate"] / h["rate"] for r, h in zip(b1, baseline, strict=True))
    print(f"B1 ÷ baseline median {ratio:.2f}")
    print(summary("B2 2xx/s", [r["statuses"].get("201", 0) / r["seconds"] for r in b2], "/s"))
    print(summary("B2 p99", [r["p99_ms"] for r in b2], "ms"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="py-spy raw stacks of the first B1 run")
    args = parser.parse_args()
    asyncio.run(main(args.projects, args.seconds, args.connections, args.runs, args.profile))
