"""Tokens over the real broker and database: a project's token replaced, named staff tokens
issued and revoked. A replaced or revoked token is refused by every service within 5 seconds,
on every replica (each hears the revocation itself, not only the group's member), even one
that had just accepted it; the new one works; a named staff token's person is recorded."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.data import project_body
from tests.support.database import fetch
from tests.support.platform import STAFF, Platform, Project
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

REVOKED_WITHIN = 5.0  # seconds: the promise of docs/security.md, Tokens
ALICE = {"name": "Alice Moreau", "email": "alice.moreau@example.org"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def project_reads(project_id: str) -> dict[str, str]:
    """A read on each service that the project's token (and staff) may make."""
    return {
        "intake": f"/v1/projects/{project_id}/reports",
        "indicator": f"/v1/projects/{project_id}/progress",
        "indicator-2": f"/v1/projects/{project_id}/progress",
        "milestone": f"/v1/projects/{project_id}/milestones",
        "alerting": "/v1/subscriptions",
    }


def staff_reads(project_id: str) -> dict[str, str]:
    """A read on each service that a staff token may make (a project's too, on intake)."""
    return project_reads(project_id) | {
        "indicator": "/v1/coverage",
        "indicator-2": "/v1/coverage",
        "milestone": "/v1/milestones",
    }


async def statuses(platform: Platform, reads: dict[str, str], headers: dict[str, str]) -> Any:
    return {
        name: (await platform.client(name).get(path, headers=headers)).status_code
        for name, path in reads.items()
    }


async def every_service(platform: Platform) -> dict[str, str]:
    """Every service, and a second indicator replica (it is not the group member that updates
    the indicator's copy for every partition, yet must refuse a revoked token as fast): the
    staff reads of each, on a project every one of them knows."""
    await platform.start("alerting")
    await platform.start("indicator-2")
    project = await platform.register()
    await platform.known_everywhere(project)
    return staff_reads(project.project_id)


async def test_a_rotated_token_is_refused_everywhere_within_5_seconds_and_the_new_one_works(
    platform: Platform,
) -> None:
    await every_service(platform)
    project = await platform.register()
    await platform.known_everywhere(project)
    reads = project_reads(project.project_id)
    everywhere_ok = dict.fromkeys(reads, 200)
    # Every replica accepts the old token, and so remembers it (the token cache).
    await eventually(lambda: statuses(platform, reads, project.headers), everywhere_ok)

    r = await platform.intake.post(
        f"/v1/projects/{project.project_id}/token", headers=project.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["project_id"] == project.project_id
    new = Project(project.project_id, r.json()["api_token"])
    rotated_at = time.monotonic()

    refused = dict.fromkeys(reads, 401)
    await eventually(
        lambda: statuses(platform, reads, project.headers), refused, within=REVOKED_WITHIN
    )
    await eventually(lambda: statuses(platform, reads, new.headers), everywhere_ok, within=5)
    assert time.monotonic() - rotated_at < REVOKED_WITHIN + 5

    # The old token cannot rotate again; staff can, for the project.
    r = await platform.intake.post(
        f"/v1/projects/{project.project_id}/token", headers=project.headers
    )
    assert r.status_code == 401
    r = await platform.intake.post(f"/v1/projects/{project.project_id}/token", headers=STAFF)
    assert r.status_code == 200, r.text
    [(rotations,)] = await fetch(
        platform.database_url,
        "select count(*) from intake.outbox where topic = 'cma.projects.v1'"
        " and convert_from(value, 'UTF8') like '%project.token_rotated%'",
    )
    assert rotations == 2


async def test_a_project_token_rotates_only_its_own_project(platform: Platform) -> None:
    a, b = await platform.register(name="A"), await platform.register(name="B")
    r = await platform.intake.post(f"/v1/projects/{b.project_id}/token", headers=a.headers)
    assert r.status_code == 403
    r = await platform.intake.post(f"/v1/projects/{b.project_id}/reports", headers=b.headers)
    assert r.status_code != 401  # B's token still holds
    unknown = "00000000-0000-4000-8000-000000000000"
    r = await platform.intake.post(f"/v1/projects/{unknown}/token", headers=STAFF)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


async def test_a_named_staff_token_is_accepted_everywhere_and_its_person_is_recorded(
    platform: Platform,
) -> None:
    reads = await every_service(platform)
    r = await platform.intake.post("/v1/staff-tokens", json=ALICE, headers=STAFF)
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["admin"] is False and issued["issued_by"] == "staff"
    assert issued["api_token"].startswith("cmas_") and issued["revoked_at"] is None
    alice = bearer(issued["api_token"])
    everywhere_ok = dict.fromkeys(reads, 200)
    await eventually(lambda: statuses(platform, reads, alice), everywhere_ok)

    person = "Alice Moreau <alice.moreau@example.org>"
    registered = await platform.intake.post("/v1/projects", json=project_body(), headers=alice)
    assert registered.status_code == 201, registered.text
    [(registered_by,)] = await fetch(
        platform.database_url,
        "select registered_by from intake.projects where project_id = $1",
        registered.json()["project_id"],
    )
    assert registered_by == person
    subscription = {
        "name": "Tous les jalons",
        "channel": {"type": "email", "address": "alice.moreau@example.org"},
    }
    r = await platform.alerting.post("/v1/subscriptions", json=subscription, headers=alice)
    assert r.status_code == 201, r.text
    assert r.json()["created_by"] == person and r.json()["owner_project_id"] is None
    listed = (await platform.intake.get("/v1/staff-tokens", headers=STAFF)).json()["items"]
    assert [(t["token_id"], t["name"], t["email"]) for t in listed] == [
        (issued["token_id"], ALICE["name"], ALICE["email"])
    ]
    assert "api_token" not in listed[0]


async def test_a_revoked_staff_token_is_refused_everywhere_within_5_seconds(
    platform: Platform,
) -> None:
    reads = await every_service(platform)
    body = {"name": "Bruno Petit", "email": "bruno.petit@example.org", "admin": True}
    r = await platform.intake.post("/v1/staff-tokens", json=body, headers=STAFF)
    assert r.status_code == 201, r.text
    token_id, bruno = r.json()["token_id"], bearer(r.json()["api_token"])
    everywhere_ok = dict.fromkeys(reads, 200)
    await eventually(lambda: statuses(platform, reads, bruno), everywhere_ok)

    # An admin's named token issues and revokes tokens in its own name.
    r = await platform.intake.post("/v1/staff-tokens", json=ALICE, headers=bruno)
    assert r.status_code == 201, r.text
    assert r.json()["issued_by"] == "Bruno Petit <bruno.petit@example.org>"

    r = await platform.intake.delete(f"/v1/staff-tokens/{token_id}", headers=STAFF)
    assert r.status_code == 200, r.text
    assert r.json()["revoked_by"] == "staff" and r.json()["revoked_at"] is not None
    refused = dict.fromkeys(reads, 401)
    await eventually(lambda: statuses(platform, reads, bruno), refused, within=REVOKED_WITHIN)
    again = await platform.intake.delete(f"/v1/staff-tokens/{token_id}", headers=STAFF)
    assert again.status_code == 200 and again.json() == r.json()  # changes nothing

    # Each service's own copy says so too: a restarted replica refuses it from its table.
    async def copies() -> list[Any]:
        rows = await fetch(
            platform.database_url,
            "select revoked_at is not null from indicator.staff_tokens where token_id = $1"
            " union all select revoked_at is not null from milestone.staff_tokens"
            " where token_id = $1 union all select revoked_at is not null"
            " from alerting.staff_tokens where token_id = $1",
            token_id,
        )
        return [row[0] for row in rows]

    await eventually(copies, [True, True, True])
    await platform.stop("milestone")
    await platform.start("milestone")
    r = await platform.milestone.get("/v1/milestones", headers=bruno)
    assert r.status_code == 401


async def test_only_a_staff_admin_manages_staff_tokens(platform: Platform) -> None:
    r = await platform.intake.post("/v1/staff-tokens", json=ALICE, headers=STAFF)
    assert r.status_code == 201, r.text
    alice = bearer(r.json()["api_token"])
    project = await platform.register()
    count = "select count(*) from intake.staff_tokens"
    [(before,)] = await fetch(platform.database_url, count)
    for headers in (alice, project.headers):
        for method, path, body in (
            ("POST", "/v1/staff-tokens", ALICE),
            ("GET", "/v1/staff-tokens", None),
            ("DELETE", f"/v1/staff-tokens/{r.json()['token_id']}", None),
        ):
            answer = await platform.intake.request(method, path, json=body, headers=headers)
            assert answer.status_code == 403, (method, path, answer.text)
    assert (await fetch(platform.database_url, count))[0][0] == before
    [(revoked,)] = await fetch(
        platform.database_url,
        "select count(*) from intake.staff_tokens where revoked_at is not null",
    )
    assert revoked == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "email": "a@example.org"}, "name"),
        ({"name": "A", "email": "not-an-address"}, "email"),
        ({"name": "A\u0007", "email": "a@example.org"}, "name"),
        ({"name": "A", "email": "a@example.org", "role": "admin"}, "role"),
    ],
)
async def test_a_bad_staff_token_request_is_refused_naming_the_field(
    platform: Platform, body: dict[str, Any], field: str
) -> None:
    r = await platform.intake.post("/v1/staff-tokens", json=body, headers=STAFF)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert ["body", field] in [e["loc"] for e in r.json()["errors"]]
    rows = await fetch(platform.database_url, "select count(*) from intake.staff_tokens")
    assert rows[0][0] == 0
