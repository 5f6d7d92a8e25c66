"""Report review: programme officers approve or return a period's latest revision; the
indicator counts every figure as reported and as approved."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_insight_alerts import statuses
from tests.support.data import cell, report_body
from tests.support.platform import STAFF, Platform
from tests.support.platform.in_process import Project
from tests.support.waiting import eventually
from tests.support.webhooks import subscribed_receiver

pytestmark = pytest.mark.integration


async def submit(platform: Platform, project: Project, count: int, period: str = "2025-S1") -> int:
    r = await platform.intake.post(
        f"/v1/projects/{project.project_id}/reports",
        headers=project.headers,
        json=report_body(period, cell(count=count)),
    )
    assert r.status_code == 201, r.text
    revision: int = r.json()["revision"]
    return revision


async def review(
    platform: Platform,
    project: Project,
    revision: int,
    decision: str = "approved",
    comment: str | None = None,
    period: str = "2025-S1",
) -> Any:
    path = f"/v1/projects/{project.project_id}/reports/{period}/revisions/{revision}/review"
    body = {"decision": decision} | ({"comment": comment} if comment else {})
    return await platform.intake.post(path, headers=STAFF, json=body)


async def trained(platform: Platform, project: Project) -> dict[str, int | float | None]:
    """Trained people in both readings, and the share approved beside them."""
    seen: dict[str, int | float | None] = {}
    for reading in ("as_reported", "approved"):
        r = await platform.indicator.get(
            f"/v1/projects/{project.project_id}/progress",
            params={"reading": reading},
            headers=STAFF,
        )
        assert r.status_code == 200, r.text
        assert r.json()["reading"] == reading
        seen[reading] = r.json()["totals"]["trained"]
        seen["share"] = r.json()["approved_share"]
    return seen


async def test_approval_moves_the_approved_reading_and_a_new_revision_waits_for_its_own(
    platform: Platform,
) -> None:
    project = await platform.register()
    await platform.known_everywhere(project)
    assert await submit(platform, project, 100) == 1
    await eventually(
        lambda: trained(platform, project), {"as_reported": 100, "approved": 0, "share": 0.0}
    )

    queue = await platform.intake.get(
        "/v1/reviews", params={"project": project.project_id}, headers=STAFF
    )
    assert queue.status_code == 200, queue.text
    [queued] = queue.json()["reviews"]
    assert (queued["status"], queued["revision"], queued["totals"]["trained"]) == (
        "submitted",
        1,
        100,
    )
    assert queued["difference"] is None

    approved = await review(platform, project, 1)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["reviewed_by"]) == ("approved", "staff")
    again = await review(platform, project, 1)
    assert again.json() == approved.json()  # approving twice changes nothing
    assert (await review(platform, project, 1, "returned", "trop tard")).status_code == 409
    await eventually(
        lambda: trained(platform, project), {"as_reported": 100, "approved": 100, "share": 1.0}
    )

    assert await submit(platform, project, 130) == 2
    await eventually(
        lambda: trained(platform, project), {"as_reported": 130, "approved": 100, "share": 0.0}
    )
    superseded = await review(platform, project, 1)
    assert superseded.status_code == 409, superseded.text
    [queued] = (
        await platform.intake.get(
            "/v1/reviews", params={"project": project.project_id, "sheet": "cloud"}, headers=STAFF
        )
    ).json()["reviews"]
    assert (queued["revision"], queued["difference"]["trained"]) == (2, 30)

    assert (await review(platform, project, 2)).status_code == 200
    await eventually(
        lambda: trained(platform, project), {"as_reported": 130, "approved": 130, "share": 1.0}
    )
    empty = await platform.intake.get(
        "/v1/reviews", params={"project": project.project_id}, headers=STAFF
    )
    assert empty.json()["reviews"] == []
    coverage = await platform.indicator.get(
        "/v1/coverage", params={"reading": "approved"}, headers=STAFF
    )
    assert (coverage.json()["reading"], coverage.json()["delivered"]["covered"]) == (
        "approved",
        ["84"],
    )
    # /metrics is rebuilt in the background after the batches applied: polled until fresh.
    approved = 'cma_indicator_people{kind="trained",reading="approved",sheet="cloud"} 130.0'
    share = 'cma_indicator_approved_share{sheet="cloud"} 1.0'

    async def scraped() -> str:
        return (await platform.indicator.get("/metrics")).text

    await eventually(scraped, lambda text: approved in text and share in text)


async def test_a_returned_report_alerts_the_project_once_and_its_next_revision_resolves_it(
    platform: Platform,
) -> None:
    async with subscribed_receiver(platform, "Renvois", {"kinds": ["report_returned"]}) as receiver:
        project = await platform.register()
        await platform.known_everywhere(project)
        await submit(platform, project, 100)
        no_comment = await review(platform, project, 1, "returned")
        assert no_comment.status_code == 422, no_comment.text
        returned = await review(platform, project, 1, "returned", "Effectifs bac+5 à vérifier")
        assert returned.status_code == 200, returned.text
        assert (await review(platform, project, 1, "returned", "encore")).status_code == 200
        queue = await platform.intake.get(
            "/v1/reviews", params={"status": "returned"}, headers=STAFF
        )
        assert [q["comment"] for q in queue.json()["reviews"]] == ["Effectifs bac+5 à vérifier"]

        async def seen() -> dict[tuple[str, str], list[str]]:
            return statuses(receiver)

        await eventually(seen, {("report_returned", "2025-S1"): ["firing"]})

        history = await platform.intake.get(
            f"/v1/projects/{project.project_id}/reports", headers=project.headers
        )
        [revision] = history.json()["periods"][0]["revisions"]
        assert (revision["review_status"], revision["review_comment"]) == (
            "returned",
            "Effectifs bac+5 à vérifier",
        )
        await submit(platform, project, 90)
        await eventually(seen, {("report_returned", "2025-S1"): ["firing", "resolved"]})
        await eventually(
            lambda: trained(platform, project), {"as_reported": 90, "approved": 0, "share": 0.0}
        )
