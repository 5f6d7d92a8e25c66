"""What the bilan reads, and from where: the services' public answers, parsed into the read
models it shares with the portal (services/apiclient/answers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from services.apiclient.answers import (
    AlertPage,
    AlertView,
    Answer,
    Coverage,
    Milestone,
    MilestoneList,
    OverdueReport,
    OverdueReports,
    ProjectPage,
    ProjectProgress,
    ProjectSummary,
    SheetProgress,
)

M = TypeVar("M", bound=BaseModel)


class Answers(Answer):
    """Everything the bilan of one sheet is made of, as the services answered."""

    progress: SheetProgress
    projects: list[ProjectSummary]
    project_progress: list[ProjectProgress]
    coverage: Coverage
    lagging: list[Milestone]
    overdue_reports: list[OverdueReport]
    alerts: list[AlertView]


class SourceError(RuntimeError):
    """A service refused or could not answer (the message says which call, and why)."""


class Reader:
    """GETs on the services' base URLs (`{service name: URL}`) with one bearer token."""

    def __init__(self, client: httpx.AsyncClient, urls: Mapping[str, str], token: str) -> None:
        self.client, self.urls = client, urls
        self.headers = {"Authorization": f"Bearer {token}"}

    async def get(
        self, model: type[M], service: str, path: str, params: Mapping[str, Any] | None = None
    ) -> M:
        url = f"{self.urls[service].rstrip('/')}{path}"
        try:
            response = await self.client.get(url, params=params, headers=self.headers)
        except httpx.HTTPError as exc:
            raise SourceError(f"GET {url}: {exc.__class__.__name__} {exc}") from exc
        if response.status_code != 200:
            raise SourceError(f"GET {url}: {response.status_code} {response.text[:300]}")
        return model.model_validate_json(response.content)


async def fetch(reader: Reader, sheet: str) -> Answers:
    """Every answer of one sheet's bilan; independent calls concurrently."""
    progress, projects, coverage, lagging, overdue, alerts = await asyncio.gather(
        reader.get(SheetProgress, "indicator", "/v1/progress", {"sheet": sheet}),
        _projects(reader, sheet),
        reader.get(Coverage, "indicator", "/v1/coverage", {"sheet": sheet}),
        _lagging(reader, sheet),
        reader.get(OverdueReports, "milestone", "/v1/overdue-reports", {"sheet": sheet}),
        _alerts(reader, sheet),
    )
    project_progress = await asyncio.gather(
        *(
            reader.get(ProjectProgress, "indicator", f"/v1/projects/{p.project_id}/progress")
            for p in projects
        )
    )
    return Answers(
        progress=progress,
        projects=projects,
        project_progress=list(project_progress),
        coverage=coverage,
        lagging=lagging,
        overdue_reports=overdue.overdue_reports,
        alerts=alerts,
    )


async def _projects(reader: Reader, sheet: str) -> list[ProjectSummary]:
    found: list[ProjectSummary] = []
    cursor: str | None = None
    while True:
        params = {"sheet": sheet, "limit": 200} | ({"cursor": cursor} if cursor else {})
        page = await reader.get(ProjectPage, "intake", "/v1/projects", params)
        found += page.items
        if (cursor := page.next_cursor) is None:
            return found


async def _lagging(reader: Reader, sheet: str) -> list[Milestone]:
    both = await asyncio.gather(
        *(
            reader.get(MilestoneList, "milestone", "/v1/milestones", {"sheet": sheet, "status": s})
            for s in ("overdue", "at_risk")
        )
    )
    return [m for answer in both for m in answer.milestones]


async def _alerts(reader: Reader, sheet: str) -> list[AlertView]:
    found: list[AlertView] = []
    cursor: str | None = None
    while True:
        params = {"sheet": sheet, "status": "firing", "limit": 500}
        page = await reader.get(
            AlertPage, "alerting", "/v1/alerts", params | ({"cursor": cursor} if cursor else {})
        )
        found += page.alerts
        if (cursor := page.next_cursor) is None:
            return found
