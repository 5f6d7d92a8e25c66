"""B4: freshness, from intake's 201 to the figure in indicator's read API and in `/metrics`.

    python -m bench.freshness [--rate 150] [--seconds 60] [--projects 200] [--runs 3]

Starts intake and indicator as `cma serve` processes on a scratch database and the embedded
broker (or CMA_KAFKA_BOOTSTRAP), registers `--projects` projects and one probe project. A
probe posts a report whose count it changes each time, then polls every 10 ms the probe's
`GET /v1/projects/{id}/progress` (first half of each series) or indicator's `/metrics`
(second half) until it shows the new count; freshness is the time from the 201 to the first
answer that shows it. Each run probes the idle platform first (the baseline), then with
`wrk` posting reports at `--rate` per second (half the B1 rate) for `--seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from bench.intake_load import SCRIPT, project_body, register
from bench.support import cpu_per, cpu_snapshot, platform_settings, run_benchmark, service

POLL_SECONDS = 0.01


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Probe:
    """One project whose trained count the probe sets, and the two places it reads it back."""

    def __init__(self, intake: str, indicator: str, staff: str, project: dict[str, str]) -> None:
        self.project_id, self.count = project["project_id"], 0
        self.post = httpx.AsyncClient(
            base_url=intake, headers={"Authorization": f"Bearer {project['api_token']}"}
        )
        self.read = httpx.AsyncClient(
            base_url=indicator, headers={"Authorization": f"Bearer {staff}"}
        )
        self.people_line = re.compile(
            rf'^cma_indicator_project_people{{.*project_id="{self.project_id}".*$', re.MULTILINE
        )

    async def api_count(self) -> float:
        answer = await self.read.get(f"/v1/projects/{self.project_id}/progress")
        return float(answer.json()["totals"].get("trained", 0)) if answer.is_success else -1

    async def metrics_count(self) -> float:
        """The probe's line found by its labels, not by parsing the whole scrape: at 1,000
        projects `prometheus_client`'s parser takes a core of its own at this polling rate,
        which the services under test would then lack."""
        text = (await self.read.get("/metrics")).text
        for line in self.people_line.findall(text):
            if 'kind="trained"' in line and 'reading="as_reported"' in line:
                return float(line.rsplit(" ", 1)[1])
        return -1

    async def once(self, read: Callable[[], Awaitable[float]]) -> float:
        """Seconds from the 201 of a new count to the first `read` that shows it."""
        self.count += 1
        cell = {"kind": "trained", "level": "bac+5", "region": "84", "count": self.count}
        body = {"period": "2025-S1", "cells": [cell]}
        answer = await self.post.post(f"/v1/projects/{self.project_id}/reports", json=body)
        answer.raise_for_status()
        accepted = time.perf_counter()
        while await read() != self.count:  # noqa: ASYNC110 (polling is what is measured)
            await asyncio.sleep(POLL_SECONDS)
        return time.perf_counter() - accepted

    async def series(self, seconds: float) -> tuple[list[float], list[float]]:
        """Read API probes for the first half, /metrics probes for the second: polling a
        scrape of thousands of series every 10 ms takes a core from the very service whose
        API is timed, and the backlog it leaves would be counted against the API."""
        api: list[float] = []
        metrics: list[float] = []
        halfway, deadline = time.monotonic() + seconds / 2, time.monotonic() + seconds
        for probes, read, until in (
            (api, self.api_count, halfway),
            (metrics, self.metrics_count, deadline),
        ):
            while time.monotonic() < until:
                probes.append(await asyncio.wait_for(self.once(read), timeout=60))
                await asyncio.sleep(0.2)
        return api, metrics


def describe(name: str, api: list[float], metrics: list[float]) -> str:
    def ms(values: list[float]) -> str:
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        return f"p50 {p50:.0f} ms  p99 {p99:.0f} ms  max {max(values) * 1000:.0f} ms"

    return f"{name}: {len(api)} probes; read API {ms(api)}; /metrics {ms(metrics)}"


async def main(rate: float, seconds: float, projects: int, runs: int) -> None:
    async with platform_settings() as settings:
        staff = settings["staff_tokens"]
        with (
            service("intake", **settings) as (intake_pid, intake),
            service("indicator", **settings) as (indicator_pid, indicator),
            tempfile.TemporaryDirectory() as tmp,
        ):
            targets = Path(tmp) / "targets.tsv"
            await register(intake, staff, projects, targets)
            async with httpx.AsyncClient(base_url=intake) as client:
                answer = await client.post(
                    "/v1/projects",
                    json=project_body(projects) | {"regions": ["84"]},
                    headers={"Authorization": f"Bearer {staff}"},
                )
            probe = Probe(intake, indicator, staff, answer.raise_for_status().json())
            await probe.series(2)  # the probe project reaches indicator: not measured
            pids: dict[str, int] = {}  # the two services this benchmark starts, by name
            pids["intake"], pids["indicator"] = intake_pid, indicator_pid
            await measure(probe, intake, targets, rate, seconds, runs, pids)


async def measure(
    probe: Probe,
    intake: str,
    targets: Path,
    rate: float,
    seconds: float,
    runs: int,
    pids: dict[str, int],
) -> None:
    idle_p50, loaded_api, loaded_metrics, ratios = [], [], [], []
    # wrk paces each connection by a pause after each answer: its cycle is the pause plus the
    # answer's time (about 70 ms at this load, B1), so the pause leaves that out.
    connections = 64
    delay = str(max(1, round(connections * 1000 / rate - 70)))
    for run in range(1, runs + 1):
        api, metrics = await probe.series(seconds / 4)
        print(describe(f"run {run} idle (baseline)", api, metrics), flush=True)
        idle_p50.append(statistics.median(api))

        command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "-s", str(SCRIPT)]
        env = os.environ | {"CMA_BENCH_TARGETS": str(targets), "CMA_BENCH_DELAY_MS": delay}
        before = cpu_snapshot()
        load = await asyncio.create_subprocess_exec(
            *command, intake, env=env, stdout=subprocess.PIPE
        )
        await asyncio.sleep(2)  # the load reaches its rate first
        api, metrics = await probe.series(seconds - 4)
        out, _ = await load.communicate()
        offered = json.loads(out.decode().strip().splitlines()[-1])
        print(
            f"run {run} load: {offered['requests'] / offered['seconds']:.0f} reports/s, {offered}"
        )
        print(f"run {run} {cpu_per(before, pids, offered['requests'], 'report', 'probe')}")
        print(describe(f"run {run} at {rate:.0f} reports/s", api, metrics), flush=True)
        loaded_api.append(api)
        loaded_metrics.append(metrics)
        ratios.append(statistics.median(api) / idle_p50[-1])

    for name, per_run in (("read API", loaded_api), ("/metrics", loaded_metrics)):
        p50 = [percentile(r, 0.5) * 1000 for r in per_run]
        p99 = [percentile(r, 0.99) * 1000 for r in per_run]
        print(
            f"B4 {name} p50 median {statistics.median(p50):.0f} ms  runs {[round(p) for p in p50]}"
        )
        print(
            f"B4 {name} p99 median {statistics.median(p99):.0f} ms  runs {[round(p) for p in p99]}"
        )
    print(f"B4 loaded ÷ idle p50 (read API) median {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=150, help="reports/s of background load")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run_benchmark(main(args.rate, args.seconds, args.projects, args.runs))
