"""The oracle's client: posts reports through the HTTP API, keeps every 2xx answer, and
computes the totals the platform must show."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import httpx

from tests.support.data import project_body
from tests.support.platform import STAFF

PERIODS = ("2024-S1", "2024-S2", "2025-S1", "2025-S2", "2026-S1")
LEVELS = ("bac+2", "bac+3", "bac+5")
APPROVED_SHARE = 0.3  # of accepted reports, approved by staff at once (docs/review.md)
READINGS = ("as_reported", "approved")


@dataclass
class Project:
    project_id: str
    token: dict[str, str]
    # The cells of the last accepted (2xx) report of each period: the latest revision.
    latest: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    # The cells of the last approved revision of each period: the approved reading.
    approved: dict[str, list[dict[str, object]]] = field(default_factory=dict)


@dataclass
class Driver:
    intake_url: str
    rng: random.Random
    projects: list[Project] = field(default_factory=list)
    accepted: int = 0
    refused: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    async def register(self, client: httpx.AsyncClient, count: int) -> None:
        for index in range(count):
            body = project_body(
                name=f"Projet {index}", regions=["84", "93"], milestones=[], commitments=[]
            )
            r = await self._until_answered(client, "/v1/projects", STAFF, body)
            assert r.status_code == 201, r.text
            answer = r.json()
            self.projects.append(
                Project(answer["project_id"], {"Authorization": f"Bearer {answer['api_token']}"})
            )

    def report(self) -> tuple[Project, dict[str, object]]:
        project, period = self.rng.choice(self.projects), self.rng.choice(PERIODS)
        cells = []
        for level in self.rng.sample(LEVELS, 2):
            trained = self.rng.randint(0, 500)
            cells += [
                {"kind": "trained", "level": level, "region": "84", "count": trained},
                {
                    "kind": "alternance",
                    "level": level,
                    "region": "84",
                    "count": self.rng.randint(0, trained),
                },
                {
                    "kind": "sensitised",
                    "level": level,
                    "region": "93",
                    "count": self.rng.randint(0, 2000),
                },
            ]
        return project, {"period": period, "cells": cells}

    async def post_reports(self, client: httpx.AsyncClient, count: int) -> None:
        """Sequential per driver: a report whose answer was lost (the service was killed) is
        sent again with the same Idempotency-Key until it gets one, so every outcome is known."""
        for _ in range(count):
            project, body = self.report()
            url = f"/v1/projects/{project.project_id}/reports"
            headers = {
                **project.token,
                "Idempotency-Key": str(uuid.UUID(int=self.rng.getrandbits(128))),
            }
            r = await self._until_answered(client, url, headers, body)
            if r.status_code in (200, 201):
                self.accepted += 1
                project.latest[str(body["period"])] = list(body["cells"])  # type: ignore[arg-type]
                if self.rng.random() < APPROVED_SHARE:
                    await self.approve(client, project, str(body["period"]), r.json()["revision"])
            else:
                self.refused[r.status_code] += 1

    async def approve(
        self, client: httpx.AsyncClient, project: Project, period: str, revision: int
    ) -> None:
        """Approves the period's latest revision; a retry of a decision taken answers the same."""
        url = f"/v1/projects/{project.project_id}/reports/{period}/revisions/{revision}/review"
        r = await self._until_answered(client, url, STAFF, {"decision": "approved"})
        assert r.status_code == 200, r.text
        project.approved[period] = project.latest[period]

    async def _until_answered(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, object]
    ) -> httpx.Response:
        while True:
            try:
                r = await client.post(url, headers=headers, json=body, timeout=10)
            except httpx.HTTPError:
                await asyncio.sleep(0.2)  # killed or restarting: same request, same key
                continue
            if r.status_code == 503:
                await asyncio.sleep(float(r.headers.get("Retry-After", "1")) / 5)
                continue
            return r

    def expected_totals(self, project: Project, reading: str = "as_reported") -> dict[str, int]:
        totals = {"trained": 0, "sensitised": 0, "alternance": 0}
        periods = project.approved if reading == "approved" else project.latest
        for cells in periods.values():
            for c in cells:
                totals[str(c["kind"])] += int(c["count"])  # type: ignore[call-overload]
        return totals
