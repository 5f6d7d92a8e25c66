"""B9: the portal's overview page (`/`, signed in as staff) with 1,000 projects registered.

    python -m bench.portal_overview [--projects 1000] [--loads 50] [--runs 3]

Uses CMA_BENCH_DATABASE_URL (a PostgreSQL server URL; a scratch database is created there)
or an embedded PostgreSQL, and CMA_KAFKA_BOOTSTRAP or an embedded broker. Starts the four
services and the portal as processes (`cma serve`, as deployed), registers the projects
through intake (each with a commitment and a milestone), waits until milestone lists them
all, signs in to the portal and loads `/` one request at a time, as a person reloading it.
Prints the median page time per run and the median of the runs' medians (goal: < 300 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import secrets
import statistics
import time

import httpx

from bench.support import broker, run_benchmark, scratch_database, service, summary
from services.runtime.registry import NAMES, PORTAL

GOAL_MS = 300.0


def project(n: int) -> dict[str, object]:
    regions = ["11", "84", "76", "53", "93", "32"]
    return {
        "sheet": ("ia", "cloud", "cybersecurite", "quantique")[n % 4],
        "wave": "bench",
        "name": f"Projet {n:04d}",
        "lead": "Banc d'essai",
        "regions": [regions[n % len(regions)]],
        "start_date": "2024-01-01",
        "end_date": "2027-12-31",
        "commitments": [
            {
                "id": "formes",
                "label": "Formés",
                "selector": {"kind": "trained"},
                "value": 1000,
                "start": "2024-01-01",
                "horizon": "2027-12-31",
            }
        ],
        "milestones": [{"milestone_id": "m1", "title": "Ouverture", "due_date": "2025-09-01"}],
    }


async def register(intake: str, staff: str, projects: int) -> None:
    headers = {"Authorization": f"Bearer {staff}"}
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=intake, timeout=30) as client:

        async def one(n: int) -> None:
            async with limit:
                answer = await client.post("/v1/projects", json=project(n), headers=headers)
                answer.raise_for_status()

        await asyncio.gather(*(one(n) for n in range(projects)))


async def all_known(milestone: str, staff: str, projects: int) -> None:
    """Until the milestone service lists every project (the overview counts from it)."""
    headers = {"Authorization": f"Bearer {staff}"}
    deadline = time.monotonic() + 300
    async with httpx.AsyncClient(base_url=milestone, timeout=30) as client:
        while time.monotonic() < deadline:
            answer = await client.get("/v1/milestones", headers=headers)
            if len({m["project_id"] for m in answer.json()["milestones"]}) >= projects:
                return
            await asyncio.sleep(1)
    raise RuntimeError("the milestone service did not list every project within 300 s")


async def page_times(portal: str, staff: str, loads: int) -> list[float]:
    async with httpx.AsyncClient(base_url=portal, timeout=30) as client:
        form = (await client.get("/login")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None, "no CSRF token on /login"
        signed = await client.post("/login", data={"token": staff, "csrf": csrf.group(1)})
        assert signed.status_code == 303, signed.text
        times = []
        for _ in range(loads):
            started = time.perf_counter()
            answer = await client.get("/")
            times.append(time.perf_counter() - started)
            assert answer.status_code == 200 and "Tableau de bord" in answer.text
        return times


async def main(projects: int, loads: int, runs: int) -> list[float]:
    """The median page time of each run, in milliseconds."""
    staff = secrets.token_urlsafe(24)
    with broker() as bootstrap:
        async with scratch_database() as url:
            settings = {
                "database_url": url,
                "kafka_bootstrap": bootstrap,
                "staff_tokens": staff,
                "rate_limit_per_minute": "600000",
                "rate_limit_burst": "10000",
            }
            with contextlib.ExitStack() as stack:
                urls = {name: stack.enter_context(service(name, **settings))[1] for name in NAMES}
                portal_settings = settings | {f"{n}_url": u for n, u in urls.items()}
                _, portal = stack.enter_context(service(PORTAL.name, **portal_settings))
                await register(urls["intake"], staff, projects)
                await all_known(urls["milestone"], staff, projects)
                await page_times(portal, staff, 3)  # warm: connections, templates
                medians = []
                for run in range(1, runs + 1):
                    times = [t * 1000 for t in await page_times(portal, staff, loads)]
                    medians.append(statistics.median(times))
                    print(f"run {run}: {loads} loads, median {medians[-1]:.0f} ms", flush=True)
    print(summary(f"B9 overview with {projects} projects", medians, "ms"))
    verdict = "under" if statistics.median(medians) < GOAL_MS else "OVER"
    print(f"B9 goal {GOAL_MS:.0f} ms: {verdict}")
    return medians


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    run_benchmark(main(args.projects, args.loads, args.runs))
