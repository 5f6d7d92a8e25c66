"""A project's life after registration, through intake's API and the events it publishes:
amendments and closure reach coverage, milestones and alerts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response

from contracts.catalog import load_catalog
from services.indicator.watch import Watch
from tests.support.data import cell, report_body
from tests.support.platform import Platform, serve
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def coverage(platform: Platform, sheet: str) -> dict[str, Any]:
    r = await platform.indicator.get(
        "/v1/coverage", params={"sheet": sheet}, headers=platform.staff
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def share(codes: list[str]) -> float:
    regions = load_catalog().regions
    return round(sum(regions[c].population for c in codes) / load_catalog().total_population, 6)


async def test_a_region_removed_from_its_only_project_is_uncovered_and_its_reports_stay_delivered(
    platform: Platform,
) -> None:
    project = await platform.register(sheet="ia", regions=["84", "11"], milestones=[])
    r = await platform.intake.post(
        f"/v1/projects/{project.project_id}/reports",
        headers=project.headers,
        json=report_body("2025-S1", cell(region="11", count=7)),
    )
    assert r.status_code == 201, r.text
    before = await eventually(
        lambda: coverage(platform, "ia"),
        lambda c: "11" in c["funded"]["covered"] and "11" in c["delivered"]["covered"],
    )

    r = await platform.intake.patch(
        f"/v1/projects/{project.project_id}",
        headers=platform.staff,
        json={"regions": ["84"], "reason": "avenant : l'antenne francilienne ferme"},
    )
    assert r.status_code == 200, r.text
    changes = r.json()["changes"]
    assert changes["regions"] == {"before": ["84", "11"], "after": ["84"]}
    assert changes["name"] is None and changes["commitments_withdrawn"] == []

    after = await eventually(
        lambda: coverage(platform, "ia"),
        lambda c: "11" in c["funded"]["uncovered"],
        within=10,
    )
    assert after["uncovered"] == after["funded"]["uncovered"]
    assert after["uncovered_population_share"] == pytest.approx(
        share(after["funded"]["uncovered"]), abs=1e-6
    )
    gained = after["uncovered_population_share"] - before["uncovered_population_share"]
    assert gained == pytest.approx(share(["11"]), abs=2e-6)
    # What was reported there stays counted and delivered.
    assert "11" in after["delivered"]["covered"]
    progress = await platform.indicator.get(
        f"/v1/projects/{project.project_id}/progress", headers=project.headers
    )
    assert progress.json()["totals"]["trained"] == 7

    # From now on a report there is refused, with the reason.
    r = await platform.intake.post(
        f"/v1/projects/{project.project_id}/reports",
        headers=project.headers,
        json=report_body("2025-S2", cell(region="11", count=1)),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "cells", 0, "region"]
    assert "not one of the project's regions ['84']" in r.json()["errors"][0]["msg"]

    # The amendment is in the project's history: who, when, why, what.
    r = await platform.intake.get(f"/v1/projects/{project.project_id}", headers=project.headers)
    assert r.status_code == 200, r.text
    read = r.json()
    assert read["regions"] == ["84"] and read["status"] == "active"
    [amendment] = read["amendments"]
    assert amendment["amendment"] == 1 and amendment["amended_by"] == "staff"
    assert amendment["reason"].startswith("avenant")
    assert amendment["changes"]["regions"] == {"before": ["84", "11"], "after": ["84"]}


async def test_closing_a_project_cancels_its_overdue_milestone_and_resolves_its_alert_once(
    platform: Platform,
) -> None:
    received: list[dict[str, Any]] = []
    receiver = FastAPI()

    @receiver.post("/hook")
    async def take(request: Request) -> Response:
        received.append(json.loads(await request.body()))
        return Response(status_code=200)

    alerting = await platform.start(
        "alerting",
        platform.settings.model_copy(
            update={"alert_group_wait_seconds": 0, "webhook_allow_private": True}
        ),
    )
    async with serve(receiver) as url:
        r = await alerting.post(
            "/v1/subscriptions",
            headers=platform.staff,
            json={
                "name": "Jalons",
                "channel": {"type": "webhook", "url": f"{url}/hook"},
                "filters": {"kinds": ["milestone_overdue"]},
            },
        )
        assert r.status_code == 201, r.text
        # Due on 2025-08-01, m1 is overdue as soon as it is known (the clock is at 2025-09-01);
        # no report is due yet (the run began in July).
        project = await platform.register(
            start_date="2025-07-01",
            milestones=[{"milestone_id": "m1", "title": "Ouverture", "due_date": "2025-08-01"}],
        )
        await eventually(lambda: _count(received), 1, within=30)
        assert [(b["status"], b["alerts"][0]["kind"]) for b in received] == [
            ("firing", "milestone_overdue")
        ]

        # Its commitment (from 2023) is behind: the indicator's watch holds that condition.
        watch = platform.app("indicator").state.watch
        assert await _watched(watch, project.project_id) == {"commitment_behind"}

        r = await platform.intake.post(
            f"/v1/projects/{project.project_id}/close",
            headers=platform.staff,
            json={"status": "abandoned", "on": "2025-08-31", "reason": "porteur défaillant"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["closed_by"] == "staff"

        async def milestone_status() -> str:
            r = await platform.milestone.get(
                f"/v1/projects/{project.project_id}/milestones", headers=project.headers
            )
            return str(r.json()["milestones"][0]["status"])

        await eventually(milestone_status, "cancelled", within=10)
        await eventually(lambda: _watched(watch, project.project_id), set(), within=10)
        await eventually(lambda: _count(received), 2, within=10)
        assert received[1]["status"] == "resolved"
        assert received[1]["alerts"][0]["details"]["status"] == "cancelled"
        # A later evaluation (the clock moves on) tells nobody anything more.
        platform.clock.advance(days=30)
        await platform.ticker.tick()
        r = await alerting.get("/v1/deliveries", headers=platform.staff)
        assert len(r.json()) == 2
        assert len(received) == 2

    # Closed: no more amendments, nor milestones; reports for periods after its end refused.
    r = await platform.intake.patch(
        f"/v1/projects/{project.project_id}",
        headers=platform.staff,
        json={"name": "Autre nom", "reason": "trop tard"},
    )
    assert r.status_code == 409
    platform.clock.advance(days=200)
    r = await platform.intake.post(
        f"/v1/projects/{project.project_id}/reports",
        headers=project.headers,
        json=report_body("2026-S1", cell(count=1)),
    )
    assert r.status_code == 422 and "outside the project's run" in r.text
    read = (
        await platform.intake.get(f"/v1/projects/{project.project_id}", headers=platform.staff)
    ).json()
    assert read["status"] == "abandoned" and read["closure"]["on"] == "2025-08-31"


async def _count(items: list[Any]) -> int:
    return len(items)


async def test_projects_are_listed_by_filter_a_page_at_a_time_and_reports_read_by_revision(
    platform: Platform,
) -> None:
    nord = await platform.register(name="Nuage Nord", lead="Université de Lille", regions=["32"])
    for name in ("Nuage Alpes", "Ciel Alpes", "Ciel Sud"):
        platform.clock.advance(seconds=1)  # registration order (same instant: by id)
        await platform.register(name=name, regions=["84"], milestones=[])

    async def listed(**params: Any) -> dict[str, Any]:
        r = await platform.intake.get("/v1/projects", params=params, headers=platform.staff)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    assert [p["name"] for p in (await listed(region="32"))["items"]] == ["Nuage Nord"]
    assert [p["name"] for p in (await listed(q="lille"))["items"]] == ["Nuage Nord"]
    assert [p["name"] for p in (await listed(q="nuage", region="84"))["items"]] == ["Nuage Alpes"]
    assert (await listed(q="100%"))["items"] == []
    pages, cursor = [], None
    while True:
        page = await listed(limit=2, **({"cursor": cursor} if cursor else {}))
        pages.append([p["name"] for p in page["items"]])
        if (cursor := page["next_cursor"]) is None:
            break
    assert pages == [["Nuage Nord", "Nuage Alpes"], ["Ciel Alpes", "Ciel Sud"]]
    r = await platform.intake.get(
        "/v1/projects", params={"cursor": "pas-un-curseur"}, headers=platform.staff
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "cursor"]

    for count in (5, 6):
        r = await platform.intake.post(
            f"/v1/projects/{nord.project_id}/reports",
            headers=nord.headers,
            json=report_body("2025-S1", cell(region="32", count=count)),
        )
        assert r.status_code == 201, r.text
    base = f"/v1/projects/{nord.project_id}/reports/2025-S1"
    current = (await platform.intake.get(base, headers=nord.headers)).json()
    first = (await platform.intake.get(f"{base}/revisions/1", headers=nord.headers)).json()
    assert (current["revision"], current["current_revision"]) == (2, 2)
    assert current["cells"][0]["count"] == 6
    assert (first["revision"], first["current_revision"], first["cells"][0]["count"]) == (1, 2, 5)
    missing = await platform.intake.get(f"{base}/revisions/3", headers=nord.headers)
    assert missing.status_code == 404

    catalog = (await platform.intake.get("/v1/catalog", headers=nord.headers)).json()
    assert catalog["periods"][0] == "2020-S1" and catalog["periods"][-1] == "2025-S2"
    assert len(catalog["regions"]) == 18 and "trained" in catalog["kinds"]


async def _watched(watch: Watch, project_id: str) -> set[str]:
    """The kinds of the conditions the indicator's watch finds holding for the project."""
    return {c.kind.value for c in await watch.holding() if str(c.project_id) == project_id}
