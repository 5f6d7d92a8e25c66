"""B8's load: projects, their semesters' reports and what was posted, for `bench/scale.py`.

Every report is generated from its project and period (a seeded generator), so nothing holds
160,000 bodies in memory and a retried request sends the same bytes with the same
`Idempotency-Key`: intake stores it once and answers the retry as it answered the first."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from contracts.catalog import load_catalog
from contracts.reports import FIRST_DAY, period_bounds, period_of

SHEETS = tuple(load_catalog().sheets)
LEVELS = tuple(load_catalog().levels)
REGIONS = tuple(load_catalog().regions)
KINDS = ("trained", "sensitised")
ATTEMPTS = 20  # a report refused (429/503) or cut off is sent again, with its Idempotency-Key


def semesters(count: int, today: date) -> list[str]:
    """The `count` semesters up to today's: intake refuses periods that have not begun, and
    no period before 2020 can be named (contracts/reports.py)."""
    year, half = today.year, 1 if today.month <= 6 else 2
    found = []
    for _ in range(count):
        found.append(f"{year}-S{half}")
        year, half = (year, 1) if half == 2 else (year - 1, 2)
    reportable = [s for s in found if period_bounds(s)[0] >= FIRST_DAY]
    if len(reportable) < count:
        raise SystemExit(
            f"at most {len(reportable)} semesters can be reported today "
            f"({period_of(FIRST_DAY)}..{found[0]})"
        )
    return found[::-1]


def project_body(i: int, first_period: str) -> dict[str, Any]:
    """Two regions (round the catalog's), a run from the first semester reported to the end
    of 2027 and one commitment, so that its figures have a trajectory to compute."""
    start = period_bounds(first_period)[0].isoformat()
    return {
        "sheet": SHEETS[i % len(SHEETS)],
        "wave": "saison-1",
        "name": f"Projet B8 {i:05d}",
        "lead": "Banc d'essai",
        "regions": [REGIONS[i % len(REGIONS)], REGIONS[(i + 1) % len(REGIONS)]],
        "start_date": start,
        "end_date": "2027-12-31",
        "funding_eur": 1_000_000,
        "commitments": [
            {
                "id": "formes",
                "label": "Formés",
                "selector": {"kind": "trained"},
                "value": 50_000,
                "start": start,
                "horizon": "2027-12-31",
            }
        ],
    }


def coordinates(regions: list[str], cells: int) -> list[tuple[str, str, str, str]]:
    """The first `cells` (kind, level, region, sex) of the project's regions: each once, as
    a report must hold them (2 regions × 8 levels × 2 sexes × 2 kinds = 64 at most)."""
    every = [
        (kind, level, region, sex)
        for region in regions
        for level in LEVELS
        for sex in ("F", "M")
        for kind in KINDS
    ]
    if cells > len(every):
        raise SystemExit(f"at most {len(every)} distinct cells per report with two regions")
    return every[:cells]


@dataclass(frozen=True)
class Project:
    index: int
    project_id: str
    token: str
    regions: list[str]


def report(project: Project, period: str, cells: int) -> dict[str, Any]:
    rng = random.Random(f"{project.index}/{period}")
    return {
        "period": period,
        "cells": [
            {"kind": k, "level": lv, "region": r, "sex": s, "count": rng.randint(0, 500)}
            for k, lv, r, s in coordinates(project.regions, cells)
        ],
    }


@dataclass
class Posted:
    """What intake accepted: people by project and kind, answer times, retries."""

    totals: dict[str, Counter[str]] = field(default_factory=dict)
    reports: int = 0
    cells: int = 0
    retries: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, project: Project, body: dict[str, Any]) -> None:
        mine = self.totals.setdefault(project.project_id, Counter())
        self.cells += len(body["cells"])
        for cell in body["cells"]:
            mine[cell["kind"]] += cell["count"]
        self.reports += 1

    def by_kind(self) -> Counter[str]:
        return sum(self.totals.values(), Counter())


async def register(
    client: httpx.AsyncClient, staff: str, indexes: range, first_period: str, connections: int
) -> list[Project]:
    headers = {"Authorization": f"Bearer {staff}"}
    limit = asyncio.Semaphore(connections)

    async def one(i: int) -> Project:
        body = project_body(i, first_period)
        async with limit:
            answer = await client.post("/v1/projects", json=body, headers=headers)
        created = answer.raise_for_status().json()
        return Project(i, created["project_id"], created["api_token"], body["regions"])

    return list(await asyncio.gather(*(one(i) for i in indexes)))


async def post_reports(
    client: httpx.AsyncClient,
    projects: list[Project],
    periods: list[str],
    cells: int,
    connections: int,
    posted: Posted,
) -> None:
    """Each project's report for each period, once, over `connections` concurrent
    requests; semester by semester across the projects, as reports arrive in the field."""
    work: Iterator[tuple[Project, str]] = ((p, s) for s in periods for p in projects)

    async def worker() -> None:
        for project, period in work:
            body = report(project, period, cells)
            headers = {
                "Authorization": f"Bearer {project.token}",
                "Idempotency-Key": f"b8-{project.index}-{period}",
            }
            path = f"/v1/projects/{project.project_id}/reports"
            for _ in range(ATTEMPTS):
                started = time.perf_counter()
                try:
                    answer = await client.post(path, json=body, headers=headers)
                except httpx.TransportError:
                    posted.retries += 1
                    continue
                if answer.status_code in (429, 503):
                    posted.retries += 1
                    await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
                    continue
                answer.raise_for_status()
                posted.seconds.append(time.perf_counter() - started)
                posted.add(project, body)
                break
            else:
                raise RuntimeError(f"{path} {period}: refused {ATTEMPTS} times")

    await asyncio.gather(*(worker() for _ in range(connections)))
