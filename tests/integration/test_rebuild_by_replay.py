"""Rebuild by replay: the indicator's state is a function of its topics. Drop its schema,
migrate it afresh, rewind its consumer groups, start it: the read API gives the same figures."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from services.command.replay import ReplayRefused, rebuild, rewind
from services.command.replay import main as replay_main
from services.runtime import registry
from services.runtime.auth import hash_token
from services.runtime.broker import KafkaConnection
from services.runtime.migrations import upgrade_all_async
from services.runtime.settings import Settings
from tests.support.clock import FakeClock
from tests.support.data import cell, project_body, report_body
from tests.support.database import fetch
from tests.support.platform import STAFF, EmbeddedKafka, running_platform, settings_for_tests
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def polled_settings(database_url: str, bootstrap: str) -> Settings:
    """These tests poll a dozen reads at a time with the staff token until figures settle:
    the per-token rate limit (tested in tests/security) would answer them 429 instead."""
    return settings_for_tests(database_url, bootstrap, rate_limit_per_minute=60_000)


async def figures(client: httpx.AsyncClient, project_ids: list[str]) -> dict[str, Any]:
    """Everything the read API says about the sheet and the projects, in both readings."""

    async def get(path: str, **params: str) -> Any:
        r = await client.get(path, params=params, headers=STAFF)
        return r.json() if r.status_code == 200 else r.status_code

    seen: dict[str, Any] = {}
    for reading in ("as_reported", "approved"):
        seen |= {
            f"progress {reading}": await get("/v1/progress", sheet="cloud", reading=reading),
            f"coverage {reading}": await get("/v1/coverage", sheet="cloud", reading=reading),
            f"all_coverage {reading}": await get("/v1/coverage", reading=reading),
            **{
                f"{p} {reading}": await get(f"/v1/projects/{p}/progress", reading=reading)
                for p in project_ids
            },
        }
    return seen


@dataclass(frozen=True)
class Access:
    """The tokens of the history: who is let in after it, and who is not."""

    accepted: dict[str, dict[str, str]]
    refused: dict[str, dict[str, str]]


async def post_history(intake: httpx.AsyncClient) -> tuple[list[str], Access]:
    """Three projects in three regions; reports with a second revision and a late period;
    reviews: two approved (one of them then superseded), one returned; then the second
    project amended (a region removed, a commitment changed) and closed; the first project's
    token replaced; a named staff token issued, another issued and revoked."""
    ids, tokens = [], []
    for name, regions in (("Nuage Alpes", ["84"]), ("Nuage Nord", ["32", "11"]), ("Nuage", ["84"])):
        r = await intake.post(
            "/v1/projects", json=project_body(name=name, regions=regions), headers=STAFF
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["project_id"])
        tokens.append({"Authorization": f"Bearer {r.json()['api_token']}"})
    reports = [
        (0, report_body("2025-S1", cell(count=120), cell(level="bac+2", count=30))),
        (0, report_body("2024-S2", cell(count=15))),
        (1, report_body("2025-S1", cell(region="32", count=70), cell(region="11", count=5))),
        (0, report_body("2025-S1", cell(count=100), reason="doublon retiré")),  # revision 2
        (1, report_body("2025-S2", cell(kind="sensitised", region="11", count=400))),
    ]
    reviews = [  # after the report of the same index in `reports`
        (0, "2025-S1", 1, "approved"),
        None,
        (1, "2025-S1", 1, "approved"),
        None,
        (1, "2025-S2", 1, "returned"),
    ]
    for (project, body), review in zip(reports, reviews, strict=True):
        r = await intake.post(
            f"/v1/projects/{ids[project]}/reports", json=body, headers=tokens[project]
        )
        assert r.status_code == 201, r.text
        if review is not None:
            one, period, revision, decision = review
            r = await intake.post(
                f"/v1/projects/{ids[one]}/reports/{period}/revisions/{revision}/review",
                json={"decision": decision, "comment": "vu"},
                headers=STAFF,
            )
            assert r.status_code == 200, r.text
    commitment = project_body()["commitments"][0] | {"value": 900}
    r = await intake.patch(
        f"/v1/projects/{ids[1]}",
        json={"regions": ["32"], "commitments": {"changed": [commitment]}, "reason": "avenant"},
        headers=STAFF,
    )
    assert r.status_code == 200, r.text
    r = await intake.post(
        f"/v1/projects/{ids[1]}/close",
        json={"status": "completed", "on": "2025-08-31", "reason": "terminé"},
        headers=STAFF,
    )
    assert r.status_code == 200, r.text
    rotated = await intake.post(f"/v1/projects/{ids[0]}/token", headers=tokens[0])
    assert rotated.status_code == 200, rotated.text
    staff = []
    for person in ("Alice Moreau", "Bruno Petit"):
        body = {"name": person, "email": "equipe@example.org"}
        r = await intake.post("/v1/staff-tokens", json=body, headers=STAFF)
        assert r.status_code == 201, r.text
        staff.append(r.json())
    revoked = await intake.delete(f"/v1/staff-tokens/{staff[1]['token_id']}", headers=STAFF)
    assert revoked.status_code == 200, revoked.text
    access = Access(
        accepted={"rotated": bearer(rotated.json()["api_token"]), "named": bearer(staff[0])},
        refused={"replaced": tokens[0], "revoked": bearer(staff[1])},
    )
    return ids, access


def bearer(token: str | dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token if isinstance(token, str) else token['api_token']}"}


async def admitted(client: httpx.AsyncClient, project_id: str, access: Access) -> dict[str, int]:
    """What the service answers each token of the history, on the project's progress."""
    path = f"/v1/projects/{project_id}/progress"
    tokens = access.accepted | access.refused
    return {name: (await client.get(path, headers=h)).status_code for name, h in tokens.items()}


EVENTS = 17  # what post_history publishes to the indicator: 3 projects, 5 reports, 3 reviews,
# an amendment and a closure; 1 token replaced, 2 staff tokens issued and 1 revoked


async def indicator_rows(database_url: str) -> int:
    [(count,)] = await fetch(database_url, "select count(*) from indicator.processed_events")
    return int(count)


async def run_history_then(
    replay: Callable[[], Awaitable[object]],
    settings: Settings,
    clock: FakeClock,
    metric: str = "cma_indicator_events_total",
) -> None:
    """Post the history with the indicator running, stop it, `replay()`, start it again:
    its figures become those it served before, and /metrics comes to show `metric`."""
    async with running_platform(settings, clock, services=()) as platform:
        await platform.start("intake")
        await platform.start("indicator")
        ids, access = await post_history(platform.intake)
        # As reported: 100 (revision 2) + 15; 70 + 5. Approved: 150 (revision 1 of 2025-S1).
        totals = {f"{ids[0]} as_reported": 115, f"{ids[1]} as_reported": 75}
        totals |= {f"{ids[2]} as_reported": 0, f"{ids[0]} approved": 150}
        totals |= {f"{ids[1]} approved": 75, f"{ids[2]} approved": 0}

        async def trained() -> dict[str, int | None]:
            r = await figures(platform.indicator, ids)
            return {
                k: v["totals"]["trained"] if isinstance(v, dict) else None
                for k, v in r.items()
                if k in totals
            }

        await eventually(trained, totals)

        async def funded() -> list[str]:
            seen = await figures(platform.indicator, [])
            return list(seen["coverage as_reported"]["covered"])

        await eventually(funded, ["84"])  # the closed project's 32 and 11 no longer count
        before = await figures(platform.indicator, ids)
        assert before["coverage as_reported"]["delivered"]["covered"] == ["11", "32", "84"]
        assert before[f"{ids[1]} as_reported"]["commitments"][0]["target"] == 900
        let_in = dict.fromkeys(access.accepted, 200) | dict.fromkeys(access.refused, 401)
        await eventually(lambda: admitted(platform.indicator, ids[0], access), let_in)
        await platform.stop("indicator")
        assert await indicator_rows(settings.database_url) == EVENTS
        await replay()
        await platform.start("indicator")
        await eventually(lambda: figures(platform.indicator, ids), before)
        await eventually(lambda: admitted(platform.indicator, ids[0], access), let_in)
        await _copies_hold(settings.database_url, ids[0], access)
        await eventually(lambda: _shows(platform.indicator, metric), True)
    assert before["progress as_reported"]["targets"], "the comparison must cover real figures"
    assert before["progress approved"] != before["progress as_reported"]


async def test_a_rebuilt_indicator_serves_the_same_figures_as_before(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    settings = polled_settings(clean_database, kafka.bootstrap)

    async def rebuild_indicator() -> None:
        groups = await rebuild(settings, "indicator")
        assert groups == {
            "indicator.projects": ("cma.projects.v1",),
            "indicator.reports": ("cma.reports.v1",),
            "indicator.access": ("cma.access.v1",),
        }
        assert await indicator_rows(clean_database) == 0  # the schema really went

    try:
        await run_history_then(rebuild_indicator, settings, clock)
        assert await indicator_rows(clean_database) == EVENTS
    finally:
        await upgrade_all_async(clean_database)  # leave the shared database migrated


async def test_rewinding_only_delivers_every_event_again_and_changes_nothing(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    """What follows a database restore: the groups start over, the inbox drops the known."""
    settings = polled_settings(clean_database, kafka.bootstrap)
    duplicates = 'cma_indicator_events_total{consumer="indicator.reports",outcome="duplicate"} 8.0'
    await run_history_then(
        lambda: rebuild(settings, "indicator", rewind_only=True), settings, clock, duplicates
    )
    assert await indicator_rows(clean_database) == EVENTS


async def test_rewinding_a_group_whose_service_still_runs_is_refused(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    settings = polled_settings(clean_database, kafka.bootstrap)
    async with running_platform(settings, clock, ("indicator",)):
        await eventually(lambda: _members(kafka.bootstrap, "indicator.reports"), 1)
        with pytest.raises(ReplayRefused, match="is the service stopped"):
            await rewind(
                KafkaConnection(kafka.bootstrap),
                ["indicator.reports"],
                ["cma.reports.v1"],
                wait_seconds=5,
            )


async def test_services_whose_tables_are_the_record_are_never_dropped() -> None:
    # Refused before any connection: these settings point nowhere.
    settings = settings_for_tests("postgresql+asyncpg://nobody@127.0.0.1:1/none", "127.0.0.1:1")
    kept = [spec.name for spec in registry.SERVICES if spec.not_rebuildable]
    assert kept
    for service in kept:
        with pytest.raises(ReplayRefused, match=r"not from topics|consumes nothing"):
            await rebuild(settings, service)


def test_cma_replay_says_why_it_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_main("intake") == 1
    assert "intake consumes nothing" in capsys.readouterr().err


async def _copies_hold(database_url: str, project_id: str, access: Access) -> None:
    """The indicator's own copy of the tokens (what a replica that heard no revocation reads)
    holds the replaced token and the revocation."""
    [(digest,)] = await fetch(
        database_url,
        "select token_sha256 from indicator.projects where project_id = $1",
        uuid.UUID(project_id),
    )
    assert digest == hash_token(access.accepted["rotated"]["Authorization"].split()[1])
    staff = "select name, revoked_at is not null from indicator.staff_tokens order by name"
    assert [tuple(r) for r in await fetch(database_url, staff)] == [
        ("Alice Moreau", False),
        ("Bruno Petit", True),
    ]


async def _shows(client: httpx.AsyncClient, metric: str) -> bool:
    return metric in (await client.get("/metrics")).text


async def _members(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_consumer_groups([group])
        return sum(len(g[5]) for g in described.groups)  # (error, group, state, …, members)
    finally:
        await admin.close()
