"""Object-level authorisation over every `/v1` operation of the four services: no token or an
unknown one is 401; project A's token on project B's paths, on staff-only operations, or with
a body or query naming B is 403 (or 404), and nothing is stored. The list of operations is
checked against each service's OpenAPI, so a new operation fails here until it is listed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from services.runtime.registry import NAMES as SERVICES
from tests.security.conftest import SharedPlatform
from tests.support.data import project_body, report_body
from tests.support.database import fetch
from tests.support.platform import STAFF, Project
from tests.support.spreadsheets import WIDE, XLSX, workbook

pytestmark = pytest.mark.integration

Kwargs = Callable[[SharedPlatform], dict[str, Any]]


def email_subscription(project_ids: list[str]) -> dict[str, Any]:
    return {
        "name": "Jalons",
        "channel": {"type": "email", "address": "projet@example.org"},
        "filters": {"projects": project_ids},
    }


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    template: str  # as in the OpenAPI
    path: Callable[[SharedPlatform], str]
    who: str  # "staff", or "project" (staff or that project)
    request: Kwargs = lambda _: {}  # the body or query a legitimate caller sends
    # Requests by project A that name project B (in the path, the body or the query).
    trespass: list[Kwargs] = field(default_factory=list)
    names_a_project: bool = True  # False: a listing scoped to the caller (tested below)
    replaces_the_token: bool = False  # the owner's call gives B a new token (kept for later)

    @property
    def id(self) -> str:
        return f"{self.service} {self.method} {self.template}"


B_REPORTS = "/v1/projects/{project_id}/reports"
B_SILENCED = "/v1/projects/{project_id}/silenced-checks"
SUBSCRIPTION = "/v1/subscriptions/{subscription_id}"
OPERATIONS = [
    Operation("intake", "GET", "/v1/me", lambda s: "/v1/me", "project", names_a_project=False),
    Operation("milestone", "GET", "/v1/summary", lambda s: "/v1/summary", "staff"),
    Operation(
        "intake",
        "POST",
        "/v1/projects",
        lambda s: "/v1/projects",
        "staff",
        lambda s: {"json": project_body(name="Projet C")},
    ),
    Operation(
        "intake",
        "POST",
        B_REPORTS,
        lambda s: f"/v1/projects/{s.b.project_id}/reports",
        "project",
        lambda s: {"json": report_body("2025-S1")},
        [
            lambda s: {
                "content": "kind,level,region,count\ntrained,bac+5,84,7\n",
                "params": {"period": "2025-S1"},
                "headers": {"Content-Type": "text/csv"},
            },
            lambda s: {
                "content": workbook([WIDE, ["84", "", "bac+5", 7, None, None]]),
                "params": {"period": "2025-S1", "dry_run": "true"},
                "headers": {"Content-Type": XLSX},
            },
        ],
    ),
    Operation(
        "intake", "GET", B_REPORTS, lambda s: f"/v1/projects/{s.b.project_id}/reports", "project"
    ),
    *(
        Operation(
            "intake",
            "GET",
            f"/v1/projects/{{project_id}}/template.{suffix}",
            lambda s, suffix=suffix: f"/v1/projects/{s.b.project_id}/template.{suffix}",
            "project",
            lambda s: {"params": {"period": "2025-S1"}},
        )
        for suffix in ("xlsx", "csv")
    ),
    Operation(
        "intake",
        "GET",
        B_SILENCED,
        lambda s: f"/v1/projects/{s.b.project_id}/silenced-checks",
        "project",
    ),
    Operation(
        "intake",
        "PUT",
        f"{B_SILENCED}/{{rule}}",
        lambda s: f"/v1/projects/{s.b.project_id}/silenced-checks/alternance_share",
        "staff",
        lambda s: {"json": {"reason": "Projet d'apprentissage"}},
    ),
    Operation(
        "intake",
        "DELETE",
        f"{B_SILENCED}/{{rule}}",
        lambda s: f"/v1/projects/{s.b.project_id}/silenced-checks/semester_spike",
        "staff",
    ),
    Operation(
        "intake",
        "POST",
        "/v1/projects/{project_id}/milestones",
        lambda s: f"/v1/projects/{s.b.project_id}/milestones",
        "staff",
        lambda s: {
            "json": {"milestones": [{"milestone_id": "m9", "title": "T", "due_date": "2026-01-01"}]}
        },
    ),
    Operation(
        "intake",
        "POST",
        "/v1/projects/{project_id}/milestones/{milestone_id}/complete",
        lambda s: f"/v1/projects/{s.b.project_id}/milestones/m1/complete",
        "project",
        lambda s: {"json": {"completed_on": "2025-08-01", "evidence": "PV du jury"}},
    ),
    Operation(
        "intake",
        "GET",
        "/v1/reviews",
        lambda s: "/v1/reviews",
        "staff",
        lambda s: {"params": {"project": s.b.project_id}},
    ),
    Operation(
        "intake",
        "POST",
        "/v1/projects/{project_id}/token",
        lambda s: f"/v1/projects/{s.b.project_id}/token",
        "project",
        replaces_the_token=True,
    ),
    Operation(
        "intake",
        "POST",
        "/v1/projects/{project_id}/reports/{period}/revisions/{revision}/review",
        lambda s: f"/v1/projects/{s.b.project_id}/reports/2024-S2/revisions/1/review",
        "staff",
        lambda s: {"json": {"decision": "approved"}},
    ),
    Operation(
        "intake",
        "POST",
        "/v1/staff-tokens",
        lambda s: "/v1/staff-tokens",
        "staff",
        lambda s: {"json": {"name": "Chloé Bernard", "email": "chloe.bernard@example.org"}},
    ),
    Operation("intake", "GET", "/v1/staff-tokens", lambda s: "/v1/staff-tokens", "staff"),
    Operation(
        "intake",
        "DELETE",
        "/v1/staff-tokens/{token_id}",
        lambda s: f"/v1/staff-tokens/{s.staff_token_id}",  # type: ignore[attr-defined]
        "staff",
    ),
    Operation("indicator", "GET", "/v1/progress", lambda s: "/v1/progress", "staff"),
    Operation(
        "indicator",
        "GET",
        "/v1/projects/{project_id}/progress",
        lambda s: f"/v1/projects/{s.b.project_id}/progress",
        "project",
    ),
    Operation("indicator", "GET", "/v1/coverage", lambda s: "/v1/coverage", "staff"),
    Operation(
        "milestone",
        "GET",
        "/v1/milestones",
        lambda s: "/v1/milestones",
        "project",
        lambda s: {"params": {"project_id": s.b.project_id}},
    ),
    Operation(
        "milestone",
        "GET",
        "/v1/projects/{project_id}/milestones",
        lambda s: f"/v1/projects/{s.b.project_id}/milestones",
        "project",
    ),
    Operation(
        "milestone",
        "GET",
        "/v1/overdue-reports",
        lambda s: "/v1/overdue-reports",
        "project",
        lambda s: {"params": {"project_id": s.b.project_id}},
    ),
    Operation(
        "alerting",
        "POST",
        "/v1/subscriptions",
        lambda s: "/v1/subscriptions",
        "project",
        lambda s: {"json": email_subscription([s.b.project_id])},
        [
            lambda s: {"json": email_subscription([])},  # every project's alerts
            lambda s: {"json": email_subscription([s.a.project_id, s.b.project_id])},
        ],
    ),
    Operation(
        "alerting",
        "GET",
        "/v1/subscriptions",
        lambda s: "/v1/subscriptions",
        "project",
        names_a_project=False,
    ),
    Operation(
        "alerting",
        "GET",
        "/v1/deliveries",
        lambda s: "/v1/deliveries",
        "project",
        lambda s: {"params": {"subscription_id": s.b_subscription}},  # type: ignore[attr-defined]
    ),
    Operation(
        "alerting",
        "GET",
        SUBSCRIPTION,
        lambda s: f"/v1/subscriptions/{s.b_subscription}",  # type: ignore[attr-defined]
        "project",
    ),
    Operation(
        "alerting",
        "PATCH",
        SUBSCRIPTION,
        lambda s: f"/v1/subscriptions/{s.b_subscription}",  # type: ignore[attr-defined]
        "project",
        lambda s: {"json": {"name": "Jalons de B", "repeat_interval_seconds": 7200}},
        [
            lambda s: {"json": {"filters": {"projects": [s.a.project_id]}}},
            lambda s: {"json": {"paused": True}},
        ],
    ),
    Operation(
        "alerting",
        "DELETE",
        SUBSCRIPTION,
        lambda s: f"/v1/subscriptions/{s.b_doomed}",  # type: ignore[attr-defined]
        "project",
    ),
    Operation(
        "alerting",
        "POST",
        f"{SUBSCRIPTION}/test",
        lambda s: f"/v1/subscriptions/{s.b_subscription}/test",  # type: ignore[attr-defined]
        "project",
    ),
    Operation(
        "alerting",
        "POST",
        f"{SUBSCRIPTION}/secret",
        lambda s: f"/v1/subscriptions/{s.b_webhook}/secret",  # type: ignore[attr-defined]
        "project",
    ),
    Operation(
        "alerting",
        "POST",
        "/v1/deliveries/{delivery_id}/retry",
        lambda s: f"/v1/deliveries/{s.b_dead_delivery}/retry",  # type: ignore[attr-defined]
        "project",
    ),
    Operation(
        "alerting",
        "GET",
        "/v1/alerts",
        lambda s: "/v1/alerts",
        "project",
        lambda s: {"params": {"project": s.b.project_id}},
    ),
    # A project's life and records (issue 13).
    Operation(
        "intake",
        "GET",
        "/v1/projects",
        lambda s: "/v1/projects",
        "staff",
        lambda s: {"params": {"q": "Projet"}},
    ),
    Operation(
        "intake",
        "GET",
        "/v1/projects/{project_id}",
        lambda s: f"/v1/projects/{s.b.project_id}",
        "project",
    ),
    Operation(
        "intake",
        "PATCH",
        "/v1/projects/{project_id}",
        lambda s: f"/v1/projects/{s.b.project_id}",
        "staff",
        lambda s: {"json": {"funding_eur": 4_000_000, "reason": "avenant n°1"}},
    ),
    Operation(
        "intake",
        "POST",
        "/v1/projects/{project_id}/close",
        # C, not B: the other operations still need B open, in whatever order they run.
        lambda s: f"/v1/projects/{s.c.project_id}/close",  # type: ignore[attr-defined]
        "staff",
        lambda s: {"json": {"status": "completed", "on": "2025-08-31", "reason": "terminé"}},
    ),
    Operation(
        "intake",
        "GET",
        "/v1/projects/{project_id}/reports/{period}",
        lambda s: f"/v1/projects/{s.b.project_id}/reports/2025-S1",
        "project",
    ),
    Operation(
        "intake",
        "GET",
        "/v1/projects/{project_id}/reports/{period}/revisions/{revision}",
        lambda s: f"/v1/projects/{s.b.project_id}/reports/2025-S1/revisions/1",
        "project",
    ),
    Operation(
        "intake", "GET", "/v1/catalog", lambda s: "/v1/catalog", "project", names_a_project=False
    ),
]

NON_ADMIN = {"name": "Denis Roux", "email": "denis.roux@example.org"}
NO_TOKEN: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "bearer"},
    {"Authorization": f"Basic {STAFF['Authorization'].split()[1]}"},
    {"Authorization": "Bearer cmap_not-a-real-token"},
    {"Authorization": "Bearer " + STAFF["Authorization"].split()[1][:-1]},  # one char short
]


@pytest.fixture(scope="module")
async def prepared(platform: SharedPlatform) -> SharedPlatform:
    """B owns subscriptions: one to read, change and test, one to delete, a webhook to re-key,
    and a dead delivery; B has a report for 2025-S1, its milestone m1 and a silenced check to
    restore; C is there to be closed; B reported 2024-S2 (for the review operation)."""

    async def subscribe(body: dict[str, Any]) -> str:
        r = await platform.alerting.post("/v1/subscriptions", json=body, headers=platform.b.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["subscription_id"])

    b = [platform.b.project_id]
    platform.b_subscription = await subscribe(email_subscription(b))  # type: ignore[attr-defined]
    platform.b_doomed = await subscribe(email_subscription(b))  # type: ignore[attr-defined]
    webhook = {"type": "webhook", "url": "https://93.184.216.34/cma-hook"}  # public, by IP
    platform.b_webhook = await subscribe(  # type: ignore[attr-defined]
        email_subscription(b) | {"channel": webhook}
    )
    dead = await fetch(
        platform.database_url,
        "insert into alerting.deliveries (delivery_id, subscription_id, status, alerts, attempts,"
        " last_error, due_at) values ($1, $2, 'dead', '[]', 5, 'HTTP 500', now())"
        " returning delivery_id",
        uuid.uuid4(),
        uuid.UUID(platform.b_subscription),  # type: ignore[attr-defined]
    )
    platform.b_dead_delivery = str(dead[0]["delivery_id"])  # type: ignore[attr-defined]
    platform.c = await platform.register(name="Projet C")  # type: ignore[attr-defined]
    r = await platform.intake.post(
        f"/v1/projects/{platform.b.project_id}/reports",
        json=report_body("2025-S1"),
        headers=platform.b.headers,
    )
    assert r.status_code == 201, r.text  # what B's report reads read
    r = await platform.intake.post(
        B_REPORTS.format(project_id=platform.b.project_id),
        json=report_body("2024-S2"),
        headers=platform.b.headers,
    )
    assert r.status_code == 201, r.text
    r = await platform.intake.post("/v1/staff-tokens", json=NON_ADMIN, headers=STAFF)
    assert r.status_code == 201, r.text
    platform.staff_token_id = r.json()["token_id"]  # type: ignore[attr-defined]
    r = await platform.intake.put(  # what the DELETE operation restores
        f"/v1/projects/{platform.b.project_id}/silenced-checks/semester_spike",
        json={"reason": "Cohortes annuelles"},
        headers=STAFF,
    )
    assert r.status_code == 200, r.text
    return platform


async def call(
    platform: SharedPlatform, op: Operation, kwargs: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    merged = {**kwargs.get("headers", {}), **headers}
    rest = {k: v for k, v in kwargs.items() if k != "headers"}
    return await platform.client(op.service).request(
        op.method, op.path(platform), headers=merged, **rest
    )


async def test_every_operation_of_every_service_is_in_the_list(platform: SharedPlatform) -> None:
    listed = {(op.service, op.method, op.template) for op in OPERATIONS}
    served = set()
    for service in SERVICES:
        spec = (await platform.client(service).get("/openapi.json")).json()
        for path, methods in spec["paths"].items():
            if path.startswith("/v1/"):
                served |= {(service, method.upper(), path) for method in methods}
    assert served == listed


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.id for op in OPERATIONS])
async def test_a_token_reaches_only_its_own_projects_and_a_refusal_stores_nothing(
    prepared: SharedPlatform, op: Operation
) -> None:
    platform = prepared
    before = await platform.rows()
    legitimate = op.request(platform)
    for headers in NO_TOKEN:
        r = await call(platform, op, legitimate, headers)
        assert r.status_code == 401, (headers, r.status_code, r.text)
        assert r.headers.get("WWW-Authenticate") == "Bearer"
    intruders = [platform.a.headers] if op.names_a_project or op.who == "staff" else []
    intruders += [platform.b.headers] if op.who == "staff" else []
    for headers in intruders:
        for kwargs in [legitimate, *(t(platform) for t in op.trespass)]:
            r = await call(platform, op, kwargs, headers)
            assert r.status_code in (403, 404), (kwargs, r.status_code, r.text)
    assert await platform.rows() == before

    # The same request is accepted from whom it belongs to: the refusals were not accidents.
    owner = STAFF if op.who == "staff" else platform.b.headers
    r = await call(platform, op, legitimate, owner)
    assert r.status_code < 300, r.text
    if op.replaces_the_token:
        platform.b = Project(platform.b.project_id, r.json()["api_token"])
        await platform.known_everywhere(platform.b)


async def test_a_staff_token_that_is_not_an_admin_cannot_manage_staff_tokens(
    prepared: SharedPlatform,
) -> None:
    """Staff tokens are managed by staff admins only: a named non-admin staff token (and a
    project token, in the list above) is refused, and nothing is stored."""
    platform = prepared
    r = await platform.intake.post("/v1/staff-tokens", json=NON_ADMIN, headers=STAFF)
    assert r.status_code == 201, r.text
    staff_member = {"Authorization": f"Bearer {r.json()['api_token']}"}
    revocations = "select token_id, revoked_at from intake.staff_tokens order by token_id"
    before = await platform.rows(), await fetch(platform.database_url, revocations)
    for op in [op for op in OPERATIONS if "/staff-tokens" in op.template]:
        answer = await call(platform, op, op.request(platform), staff_member)
        assert answer.status_code == 403, (op.id, answer.text)
    assert (await platform.rows(), await fetch(platform.database_url, revocations)) == before


async def test_listings_without_a_project_filter_show_a_project_only_its_own(
    prepared: SharedPlatform,
) -> None:
    platform = prepared
    a = platform.a
    me = (await platform.intake.get("/v1/me", headers=a.headers)).json()
    assert me == {"role": "project", "project_id": a.project_id}
    assert (await platform.intake.get("/v1/me", headers=STAFF)).json()["role"] == "staff"
    mine = await platform.alerting.post(
        "/v1/subscriptions", json=email_subscription([a.project_id]), headers=a.headers
    )
    assert mine.status_code == 201, mine.text
    subscriptions = (await platform.alerting.get("/v1/subscriptions", headers=a.headers)).json()
    assert {s["owner_project_id"] for s in subscriptions} == {a.project_id}
    deliveries = (await platform.alerting.get("/v1/deliveries", headers=a.headers)).json()
    # Its own subscriptions' only (other tests of the package may have subscribed A too).
    own = {s["subscription_id"] for s in subscriptions}
    assert mine.json()["subscription_id"] in own
    assert {d["subscription_id"] for d in deliveries} <= own
    milestone = platform.client("milestone")
    for path, key in (("/v1/milestones", "milestones"), ("/v1/overdue-reports", "overdue_reports")):
        seen = (await milestone.get(path, headers=a.headers)).json()[key]
        assert {row["project_id"] for row in seen} <= {a.project_id}, seen
        everyone = (await milestone.get(path, headers=STAFF)).json()[key]
        assert {row["project_id"] for row in everyone} >= {row["project_id"] for row in seen}
