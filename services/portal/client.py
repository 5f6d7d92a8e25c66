"""The typed client of the four services' public APIs: every call the portal makes is one of
`ENDPOINTS` (a contract test checks each against the service's OpenAPI), carries the signed-in
person's token, and answers a model of `schemas.py` or raises an `ApiError`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import httpx
from pydantic import BaseModel, TypeAdapter

from services.apiclient import answers as a
from services.portal import schemas as s

M = TypeVar("M")


@dataclass(frozen=True)
class Endpoint:
    service: str
    method: str
    path: str
    variant: str = ""
    """Tells apart two uses of one operation answering different models (a dry run)."""

    def url(self, **params: object) -> str:
        return self.path.format(**params)


ME = Endpoint("intake", "GET", "/v1/me")
PROJECTS = Endpoint("intake", "GET", "/v1/projects")
PROJECT = Endpoint("intake", "GET", "/v1/projects/{project_id}")
AMEND = Endpoint("intake", "PATCH", "/v1/projects/{project_id}")
CLOSE = Endpoint("intake", "POST", "/v1/projects/{project_id}/close")
REVIEWS = Endpoint("intake", "GET", "/v1/reviews")
REVIEW = Endpoint(
    "intake", "POST", "/v1/projects/{project_id}/reports/{period}/revisions/{revision}/review"
)
REGISTER = Endpoint("intake", "POST", "/v1/projects")
REPORTS = Endpoint("intake", "GET", "/v1/projects/{project_id}/reports")
SUBMIT = Endpoint("intake", "POST", "/v1/projects/{project_id}/reports")
DRY_RUN = Endpoint("intake", "POST", "/v1/projects/{project_id}/reports", "dry_run=true")
TEMPLATE_XLSX = Endpoint("intake", "GET", "/v1/projects/{project_id}/template.xlsx")
TEMPLATE_CSV = Endpoint("intake", "GET", "/v1/projects/{project_id}/template.csv")
REVISION = Endpoint(
    "intake", "GET", "/v1/projects/{project_id}/reports/{period}/revisions/{revision}"
)
COMPLETE = Endpoint(
    "intake", "POST", "/v1/projects/{project_id}/milestones/{milestone_id}/complete"
)
PROGRESS = Endpoint("indicator", "GET", "/v1/progress")
PROJECT_PROGRESS = Endpoint("indicator", "GET", "/v1/projects/{project_id}/progress")
COVERAGE = Endpoint("indicator", "GET", "/v1/coverage")
MILESTONES = Endpoint("milestone", "GET", "/v1/milestones")
PROJECT_MILESTONES = Endpoint("milestone", "GET", "/v1/projects/{project_id}/milestones")
OVERDUE = Endpoint("milestone", "GET", "/v1/overdue-reports")
SUMMARY = Endpoint("milestone", "GET", "/v1/summary")
SUBSCRIPTIONS = Endpoint("alerting", "GET", "/v1/subscriptions")
SUBSCRIBE = Endpoint("alerting", "POST", "/v1/subscriptions")
SUBSCRIPTION = Endpoint("alerting", "PATCH", "/v1/subscriptions/{subscription_id}")
UNSUBSCRIBE = Endpoint("alerting", "DELETE", "/v1/subscriptions/{subscription_id}")
TEST = Endpoint("alerting", "POST", "/v1/subscriptions/{subscription_id}/test")
DELIVERIES = Endpoint("alerting", "GET", "/v1/deliveries")
RETRY = Endpoint("alerting", "POST", "/v1/deliveries/{delivery_id}/retry")
ALERTS = Endpoint("alerting", "GET", "/v1/alerts")

ENDPOINTS: tuple[Endpoint, ...] = (
    ME,
    PROJECTS,
    PROJECT,
    AMEND,
    CLOSE,
    REGISTER,
    REPORTS,
    SUBMIT,
    DRY_RUN,
    TEMPLATE_XLSX,
    TEMPLATE_CSV,
    REVISION,
    COMPLETE,
    PROGRESS,
    PROJECT_PROGRESS,
    COVERAGE,
    MILESTONES,
    PROJECT_MILESTONES,
    OVERDUE,
    SUMMARY,
    SUBSCRIPTIONS,
    SUBSCRIBE,
    SUBSCRIPTION,
    UNSUBSCRIBE,
    TEST,
    DELIVERIES,
    RETRY,
    ALERTS,
)
"""Every operation the portal calls (the contract test checks each against the OpenAPI)."""

ANSWERS: Mapping[Endpoint, type[BaseModel] | None] = {
    ME: s.Identity,
    PROJECTS: a.ProjectPage,
    PROJECT: s.Project,
    AMEND: None,
    CLOSE: None,
    REVIEWS: s.ReviewQueue,
    REVIEW: None,
    REGISTER: s.ProjectCreated,
    REPORTS: s.ReportHistory,
    SUBMIT: s.ReportAccepted,
    DRY_RUN: s.ReportDryRun,
    TEMPLATE_XLSX: None,
    TEMPLATE_CSV: None,
    REVISION: s.ReportContent,
    COMPLETE: s.MilestoneCompleted,
    PROGRESS: s.AllSheetsProgress,
    PROJECT_PROGRESS: a.ProjectProgress,
    COVERAGE: a.Coverage,
    MILESTONES: a.MilestoneList,
    PROJECT_MILESTONES: s.ProjectTimeline,
    OVERDUE: a.OverdueReports,
    SUMMARY: s.Summary,
    SUBSCRIPTIONS: s.Subscription,
    SUBSCRIBE: s.SubscriptionCreated,
    SUBSCRIPTION: s.SubscriptionCreated,
    UNSUBSCRIBE: None,
    TEST: s.Delivery,
    DELIVERIES: s.Delivery,
    RETRY: s.Delivery,
    ALERTS: a.AlertPage,
}
"""The model of each answer (of one item, for the answers that are lists); None where the
portal reads nothing from the answer but its status."""


class ApiError(Exception):
    """A service refused or could not answer. `status` 0: it could not be reached."""

    def __init__(self, status: int, problem: s.Problem | None = None) -> None:
        super().__init__(f"{status}: {problem.detail if problem else 'unreachable'}")
        self.status = status
        self.problem = problem

    @property
    def field_errors(self) -> list[s.FieldProblem]:
        return self.problem.errors if self.problem else []


class Api:
    """One pooled HTTP client per service; the token travels per call, never stored here."""

    def __init__(self, urls: Mapping[str, str], *, timeout: float = 15.0) -> None:
        self._clients = {
            name: httpx.AsyncClient(base_url=url, timeout=timeout) for name, url in urls.items()
        }
        self._adapters: dict[type[Any], TypeAdapter[Any]] = {}

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def call(
        self,
        endpoint: Endpoint,
        token: str,
        answer: type[M] | TypeAdapter[M],
        *,
        path: Mapping[str, object] | None = None,
        params: Mapping[str, Any] | None = None,
        json: object = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> M:
        response = await self._request(endpoint, token, path, params, json, content, headers)
        adapter = answer if isinstance(answer, TypeAdapter) else self._adapter(answer)
        return adapter.validate_json(response.content)

    async def send(
        self, endpoint: Endpoint, token: str, *, path: Mapping[str, object], json: object = None
    ) -> None:
        """A command whose answer the portal does not read (its status is enough)."""
        await self._request(endpoint, token, path, None, json, None, None)

    async def _request(
        self,
        endpoint: Endpoint,
        token: str,
        path: Mapping[str, object] | None,
        params: Mapping[str, Any] | None,
        json: object,
        content: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        request_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        try:
            response = await self._clients[endpoint.service].request(
                endpoint.method,
                endpoint.url(**(path or {})),
                params={k: v for k, v in (params or {}).items() if v not in (None, "")},
                json=json,
                content=content,
                headers=request_headers,
            )
        except httpx.HTTPError:
            raise ApiError(0) from None
        if response.status_code >= 400:
            try:
                problem = s.Problem.model_validate_json(response.content)
            except ValueError:
                problem = None
            raise ApiError(response.status_code, problem)
        return response

    def _adapter(self, answer: type[M]) -> TypeAdapter[M]:
        """Built once per model: building one costs more than validating a page of JSON."""
        if answer not in self._adapters:
            self._adapters[answer] = TypeAdapter(answer)
        adapter: TypeAdapter[M] = self._adapters[answer]
        return adapter

    # Reads and writes, one per endpoint.

    async def me(self, token: str) -> s.Identity:
        return await self.call(ME, token, s.Identity)

    async def progress(self, token: str) -> s.AllSheetsProgress:
        return await self.call(PROGRESS, token, s.AllSheetsProgress)

    async def project_progress(self, token: str, project_id: UUID) -> a.ProjectProgress:
        path = {"project_id": project_id}
        return await self.call(PROJECT_PROGRESS, token, a.ProjectProgress, path=path)

    async def coverage(self, token: str, sheet: str | None = None) -> a.Coverage:
        return await self.call(COVERAGE, token, a.Coverage, params={"sheet": sheet})

    async def milestones(
        self, token: str, *, status: str | None = None, sheet: str | None = None
    ) -> a.MilestoneList:
        params = {"status": status, "sheet": sheet}
        return await self.call(MILESTONES, token, a.MilestoneList, params=params)

    async def project_milestones(self, token: str, project_id: UUID) -> s.ProjectTimeline:
        path = {"project_id": project_id}
        return await self.call(PROJECT_MILESTONES, token, s.ProjectTimeline, path=path)

    async def overdue_reports(self, token: str) -> a.OverdueReports:
        return await self.call(OVERDUE, token, a.OverdueReports)

    async def summary(self, token: str) -> s.Summary:
        return await self.call(SUMMARY, token, s.Summary)

    async def reports(self, token: str, project_id: UUID) -> s.ReportHistory:
        return await self.call(REPORTS, token, s.ReportHistory, path={"project_id": project_id})

    async def revision(
        self, token: str, project_id: UUID, period: str, revision: int
    ) -> s.ReportContent:
        path = {"project_id": project_id, "period": period, "revision": revision}
        return await self.call(REVISION, token, s.ReportContent, path=path)

    async def register(self, token: str, body: Mapping[str, object]) -> s.ProjectCreated:
        return await self.call(REGISTER, token, s.ProjectCreated, json=body)

    async def check_report(self, token: str, project_id: UUID, upload: s.Upload) -> s.ReportDryRun:
        """`?dry_run=true`: every rule checked, nothing stored."""
        return await self.call(
            DRY_RUN,
            token,
            s.ReportDryRun,
            path={"project_id": project_id},
            params={"period": upload.period, "reason": upload.reason, "dry_run": "true"},
            content=upload.content,
            headers={"Content-Type": upload.media_type},
        )

    async def submit_report(
        self, token: str, project_id: UUID, upload: s.Upload
    ) -> s.ReportAccepted:
        return await self.call(
            SUBMIT,
            token,
            s.ReportAccepted,
            path={"project_id": project_id},
            params={"period": upload.period, "reason": upload.reason},
            content=upload.content,
            headers={"Content-Type": upload.media_type},
        )

    async def template(self, token: str, project_id: UUID, fmt: str, period: str) -> bytes:
        """The project's report template (`xlsx` or `csv`) for `period`, as intake makes it."""
        endpoint = TEMPLATE_XLSX if fmt == "xlsx" else TEMPLATE_CSV
        path, params = {"project_id": project_id}, {"period": period}
        response = await self._request(endpoint, token, path, params, None, None, None)
        return response.content

    async def complete(
        self, token: str, project_id: UUID, milestone_id: str, body: Mapping[str, object]
    ) -> s.MilestoneCompleted:
        path = {"project_id": project_id, "milestone_id": milestone_id}
        return await self.call(COMPLETE, token, s.MilestoneCompleted, path=path, json=body)

    async def projects(
        self, token: str, filters: Mapping[str, str | None], cursor: str | None = None
    ) -> a.ProjectPage:
        params = {**filters, "cursor": cursor, "limit": 200}
        return await self.call(PROJECTS, token, a.ProjectPage, params=params)

    async def project(self, token: str, project_id: UUID) -> s.Project:
        return await self.call(PROJECT, token, s.Project, path={"project_id": project_id})

    async def amend(self, token: str, project_id: UUID, body: Mapping[str, object]) -> None:
        await self.send(AMEND, token, path={"project_id": project_id}, json=body)

    async def close(self, token: str, project_id: UUID, body: Mapping[str, object]) -> None:
        await self.send(CLOSE, token, path={"project_id": project_id}, json=body)

    async def reviews(self, token: str) -> s.ReviewQueue:
        return await self.call(REVIEWS, token, s.ReviewQueue)

    async def review(
        self, token: str, project_id: UUID, period: str, revision: int, body: Mapping[str, object]
    ) -> None:
        path = {"project_id": project_id, "period": period, "revision": revision}
        await self.send(REVIEW, token, path=path, json=body)

    async def pause(self, token: str, subscription_id: UUID, paused: bool) -> s.Subscription:
        path = {"subscription_id": subscription_id}
        body = {"paused": paused}
        return await self.call(SUBSCRIPTION, token, s.Subscription, path=path, json=body)

    async def update_subscription(
        self, token: str, subscription_id: UUID, body: Mapping[str, object]
    ) -> s.SubscriptionCreated:
        """The answer carries a webhook key when the change made one (shown once)."""
        path = {"subscription_id": subscription_id}
        return await self.call(SUBSCRIPTION, token, s.SubscriptionCreated, path=path, json=body)

    async def unsubscribe(self, token: str, subscription_id: UUID) -> None:
        await self.send(UNSUBSCRIBE, token, path={"subscription_id": subscription_id})

    async def test(self, token: str, subscription_id: UUID) -> s.Delivery:
        path = {"subscription_id": subscription_id}
        return await self.call(TEST, token, s.Delivery, path=path)

    async def retry(self, token: str, delivery_id: UUID) -> s.Delivery:
        return await self.call(RETRY, token, s.Delivery, path={"delivery_id": delivery_id})

    async def alerts(self, token: str, status: str | None = None) -> a.AlertPage:
        return await self.call(ALERTS, token, a.AlertPage, params={"status": status})

    async def subscriptions(self, token: str) -> list[s.Subscription]:
        return await self.call(SUBSCRIPTIONS, token, _SUBSCRIPTIONS)

    async def subscribe(self, token: str, body: Mapping[str, object]) -> s.SubscriptionCreated:
        return await self.call(SUBSCRIBE, token, s.SubscriptionCreated, json=body)

    async def deliveries(self, token: str, subscription_id: UUID) -> list[s.Delivery]:
        params = {"subscription_id": subscription_id}
        return await self.call(DELIVERIES, token, _DELIVERIES, params=params)


_SUBSCRIPTIONS = TypeAdapter(list[s.Subscription])
_DELIVERIES = TypeAdapter(list[s.Delivery])
