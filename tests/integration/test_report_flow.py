"""A report travels intake → outbox → Kafka → indicator and is counted exactly once."""

from __future__ import annotations

import uuid

import pytest

from contracts.events import IndicatorReportSubmitted
from contracts.topics import REPORTS
from tests.support.data import cell, report_body
from tests.support.events import report_submitted
from tests.support.kafka import publish
from tests.support.platform import EmbeddedKafka, Platform
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def trained(platform: Platform, project_id: str) -> int | None:
    r = await platform.indicator.get(f"/v1/projects/{project_id}/progress", headers=platform.staff)
    return r.json()["totals"]["trained"] if r.status_code == 200 else None


async def cloud_target(platform: Platform, target_id: str) -> int:
    r = await platform.indicator.get(
        "/v1/progress", params={"sheet": "cloud"}, headers=platform.staff
    )
    assert r.status_code == 200, r.text
    return next(t["actual"] for t in r.json()["targets"] if t["target_id"] == target_id)


async def scraped(platform: Platform) -> str:
    return (await platform.indicator.get("/metrics")).text


async def test_a_posted_report_appears_in_the_read_api_and_in_metrics(platform: Platform) -> None:
    project = await platform.register()
    project_id, token = project.project_id, project.headers
    r = await platform.intake.post(
        f"/v1/projects/{project_id}/reports",
        headers=token,
        json=report_body("2025-S1", cell(count=120), cell(level="bac+2", count=30)),
    )
    assert r.status_code == 201, r.text
    assert r.json()["revision"] == 1

    await eventually(lambda: cloud_target(platform, "cloud-bac5"), 120)
    # /metrics serves what it rebuilt after the batch: it follows the read API shortly.
    # The project's own figures (recomputed for the projects the batch named) and the national
    # ones (by their own loop, after).
    people = 'cma_indicator_people{kind="trained",reading="as_reported",sheet="cloud"} 150.0'
    mine = f'project_id="{project_id}",reading="as_reported",sheet="cloud"}} 150.0'

    def shows_both(text: str) -> bool:
        return people in text and any(
            line.startswith('cma_indicator_project_people{kind="trained",') and line.endswith(mine)
            for line in text.splitlines()
        )

    metrics = await eventually(lambda: scraped(platform), shows_both)
    assert (
        'cma_indicator_target_actual{reading="as_reported",sheet="cloud",target="cloud-bac5"} 120.0'
        in metrics
    )


async def test_an_identical_retry_returns_the_first_answer_and_changes_nothing(
    platform: Platform,
) -> None:
    project = await platform.register()
    project_id, token = project.project_id, project.headers
    headers = {**token, "Idempotency-Key": "2025-S1-first"}
    body = report_body("2025-S1", cell(count=40))
    first = await platform.intake.post(
        f"/v1/projects/{project_id}/reports", headers=headers, json=body
    )
    retry = await platform.intake.post(
        f"/v1/projects/{project_id}/reports", headers=headers, json=body
    )
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"

    other = await platform.intake.post(
        f"/v1/projects/{project_id}/reports",
        headers=headers,
        json=report_body("2025-S1", cell(count=41)),
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]

    history = (
        await platform.intake.get(f"/v1/projects/{project_id}/reports", headers=token)
    ).json()
    assert [len(p["revisions"]) for p in history["periods"]] == [1]
    assert await eventually(lambda: trained(platform, project_id), 40) == 40


async def test_a_new_revision_replaces_the_period_as_a_whole(platform: Platform) -> None:
    project = await platform.register()
    project_id, token = project.project_id, project.headers
    url = f"/v1/projects/{project_id}/reports"
    await platform.intake.post(
        url,
        headers=token,
        json=report_body("2025-S1", cell(count=100), cell(level="bac+2", count=50)),
    )
    await platform.intake.post(url, headers=token, json=report_body("2025-S2", cell(count=7)))
    second = await platform.intake.post(
        url,
        headers=token,
        json=report_body("2025-S1", cell(count=60), reason="double comptage corrigé"),
    )
    assert second.json()["revision"] == 2

    # 2025-S1 is now only revision 2's 60 (its bac+2 cell is gone), plus 2025-S2's 7.
    await eventually(lambda: trained(platform, project_id), 67)
    history = (await platform.intake.get(url, headers=token)).json()
    s1 = next(p for p in history["periods"] if p["period"] == "2025-S1")
    assert s1["current_revision"] == 2
    assert [r["reason"] for r in s1["revisions"]] == [None, "double comptage corrigé"]


async def test_a_csv_report_counts_like_its_json_twin(platform: Platform) -> None:
    project = await platform.register()
    project_id, token = project.project_id, project.headers
    csv_body = (
        "kind,level,region,sex,audience,count\ntrained,bac+5,84,F,,12\ntrained,bac+5,84,M,,30\n"
    )
    r = await platform.intake.post(
        f"/v1/projects/{project_id}/reports",
        params={"period": "2025-S1"},
        headers={**token, "Content-Type": "text/csv"},
        content=csv_body,
    )
    assert r.status_code == 201, r.text
    assert await eventually(lambda: trained(platform, project_id), 42) == 42


def late(project_id: str, revision: int, trained: int) -> IndicatorReportSubmitted:
    """Revision `revision` of 2024-S2, published straight to the topic."""
    return report_submitted(
        uuid.UUID(project_id), revision=revision, trained=trained, period="2024-S2"
    )


async def test_an_older_revision_arriving_late_is_ignored(
    platform: Platform, kafka: EmbeddedKafka
) -> None:
    project_id = (await platform.register()).project_id
    await publish(
        kafka.bootstrap,
        REPORTS,
        [late(project_id, 3, 30), late(project_id, 2, 20)],
    )
    marker = late(project_id, 4, 40)  # applied after both: proves they were consumed
    await eventually(lambda: trained(platform, project_id), 30)
    await publish(kafka.bootstrap, REPORTS, [marker])
    await eventually(lambda: trained(platform, project_id), 40)


async def test_the_same_event_delivered_twice_is_counted_once(
    platform: Platform, kafka: EmbeddedKafka
) -> None:
    project_id = (await platform.register()).project_id
    event = late(project_id, 1, 25)
    await publish(kafka.bootstrap, REPORTS, [event, event])
    await publish(kafka.bootstrap, REPORTS, [event])
    assert await eventually(lambda: trained(platform, project_id), 25) == 25
    metrics = (await platform.indicator.get("/metrics")).text
    assert (
        'cma_indicator_events_total{consumer="indicator.reports",outcome="duplicate"} 2.0'
        in metrics
    )


async def test_every_report_accepted_while_the_broker_is_down_is_counted_once(
    platform: Platform, kafka: EmbeddedKafka
) -> None:
    project = await platform.register()
    project_id, token = project.project_id, project.headers
    url = f"/v1/projects/{project_id}/reports"
    assert (
        await platform.intake.post(url, headers=token, json=report_body("2024-S1", cell(count=5)))
    ).status_code == 201
    await eventually(lambda: trained(platform, project_id), 5)

    kafka.stop()
    accepted = 0
    for index, period in enumerate(["2024-S2", "2025-S1", "2025-S2"]):
        r = await platform.intake.post(
            url, headers=token, json=report_body(period, cell(count=10 + index))
        )
        assert r.status_code == 201, r.text
        accepted += 10 + index
    # The embedded broker restarts empty: the relay notices, re-sends, the inbox deduplicates.
    kafka.start()
    # A new consumer-group generation on the new broker, then the relay's re-sends: on a
    # loaded machine this takes a while.
    await eventually(lambda: trained(platform, project_id), 5 + accepted, within=120)
