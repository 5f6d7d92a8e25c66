"""Rebuild by replay: the indicator's state is a function of its topics. Drop its schema,
migrate it afresh, rewind its consumer groups, start it: the read API gives the same figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from services.command.replay import ReplayRefused, rebuild, rewind
from services.command.replay import main as replay_main
from services.runtime import registry
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
    """Everything the read API says about the sheet and the projects."""

    async def get(path: str, **params: str) -> Any:
        r = await client.get(path, params=params, headers=STAFF)
        return r.json() if r.status_code == 200 else r.status_code

    return {
        "progress": await get("/v1/progress", sheet="cloud"),
        "coverage": await get("/v1/coverage", sheet="cloud"),
        "all_coverage": await get("/v1/coverage"),
        **{p: await get(f"/v1/projects/{p}/progress") for p in project_ids},
    }


async def post_history(intake: httpx.AsyncClient) -> list[str]:
    """Three projects in three regions; reports with a second revision and a late period;
    then the second project amended (a region removed, a commitment changed) and closed."""
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
    for project, body in reports:
        r = await intake.post(
            f"/v1/projects/{ids[project]}/reports", json=body, headers=tokens[project]
        )
        assert r.status_code == 201, r.text
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
    return ids


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
        ids = await post_history(platform.intake)
        totals = {ids[0]: 115, ids[1]: 75, ids[2]: 0}  # 100 (revision 2) + 15; 70 + 5

        async def trained() -> dict[str, int | None]:
            r = {p: (await figures(platform.indicator, [p]))[p] for p in ids}
            return {
                p: v["totals"]["trained"] if isinstance(v, dict) else None for p, v in r.items()
            }

        await eventually(trained, totals)

        async def funded() -> list[str]:
            return list((await figures(platform.indicator, []))["coverage"]["covered"])

        await eventually(funded, ["84"])  # the closed project's 32 and 11 no longer count
        before = await figures(platform.indicator, ids)
        assert before["coverage"]["delivered"]["covered"] == ["11", "32", "84"]
        assert before[ids[1]]["commitments"][0]["target"] == 900
        await platform.stop("indicator")
        # 3 projects, 5 reports, an amendment and a closure
        assert await indicator_rows(settings.database_url) == 10
        await replay()
        await platform.start("indicator")
        await eventually(lambda: figures(platform.indicator, ids), before)
        await eventually(lambda: _shows(platform.indicator, metric), True)
    assert before["progress"]["targets"], "the comparison must cover real figures"


async def test_a_rebuilt_indicator_serves_the_same_figures_as_before(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    settings = polled_settings(clean_database, kafka.bootstrap)

    async def rebuild_indicator() -> None:
        groups = await rebuild(settings, "indicator")
        assert groups == {
            "indicator.projects": ("cma.projects.v1",),
            "indicator.reports": ("cma.reports.v1",),
        }
        assert await indicator_rows(clean_database) == 0  # the schema really went

    try:
        await run_history_then(rebuild_indicator, settings, clock)
        assert await indicator_rows(clean_database) == 10
    finally:
        await upgrade_all_async(clean_database)  # leave the shared database migrated


async def test_rewinding_only_delivers_every_event_again_and_changes_nothing(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    """What follows a database restore: the groups start over, the inbox drops the known."""
    settings = polled_settings(clean_database, kafka.bootstrap)
    duplicates = 'cma_indicator_events_total{consumer="indicator.reports",outcome="duplicate"} 5.0'
    await run_history_then(
        lambda: rebuild(settings, "indicator", rewind_only=True), settings, clock, duplicates
    )
    assert await indicator_rows(clean_database) == 10


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
