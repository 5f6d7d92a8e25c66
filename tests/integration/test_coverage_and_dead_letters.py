"""Coverage derived from the registered laureates; poison messages go to the dead-letter topic."""

from __future__ import annotations

import pytest

from contracts.catalog import load_catalog
from contracts.topics import DEAD_LETTERS, REPORTS
from tests.support.data import cell, project_body, report_body
from tests.support.kafka import publish, read_all
from tests.support.platform import EmbeddedKafka, Platform
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

DOCUMENT_UNCOVERED = ["01", "02", "03", "04", "06", "24", "27", "32", "44", "52", "94"]


async def register_laureates(platform: Platform, sheet: str) -> list[str]:
    ids = []
    for laureate in load_catalog().laureates:
        if laureate.sheet != sheet:
            continue
        r = await platform.intake.post(
            "/v1/projects",
            headers=platform.staff,
            json=project_body(
                sheet=sheet,
                wave=laureate.wave,
                name=laureate.name,
                lead=laureate.lead,
                regions=list(laureate.regions),
                commitments=[],
                milestones=[],
            ),
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["project_id"])
    return ids


async def ai_coverage(platform: Platform) -> dict:
    r = await platform.indicator.get("/v1/coverage", params={"sheet": "ia"}, headers=platform.staff)
    assert r.status_code == 200, r.text
    return r.json()


async def test_with_the_documents_ai_laureates_eleven_regions_and_a_third_of_people_are_uncovered(
    platform: Platform,
) -> None:
    ids = await register_laureates(platform, "ia")
    assert len(ids) == 11
    coverage = await eventually(lambda: ai_coverage(platform), lambda c: len(c["covered"]) == 7)
    assert coverage["uncovered"] == DOCUMENT_UNCOVERED
    assert coverage["funded"]["uncovered"] == DOCUMENT_UNCOVERED
    assert abs(coverage["uncovered_population_share"] - 0.34) < 0.01
    # Computed from the catalog's populations, not a constant: it equals their sum.
    regions = load_catalog().regions
    share = sum(regions[c].population for c in DOCUMENT_UNCOVERED) / sum(
        r.population for r in regions.values()
    )
    assert coverage["uncovered_population_share"] == pytest.approx(share, abs=1e-6)
    # Nobody reported yet: delivered coverage is empty.
    assert coverage["delivered"]["covered"] == []


async def test_registering_a_project_in_an_uncovered_region_shrinks_the_uncovered_share(
    platform: Platform,
) -> None:
    await register_laureates(platform, "ia")
    before = await eventually(lambda: ai_coverage(platform), lambda c: len(c["covered"]) == 7)
    r = await platform.intake.post(
        "/v1/projects",
        headers=platform.staff,
        json=project_body(
            sheet="ia", name="IA Hauts-de-France", regions=["32"], commitments=[], milestones=[]
        ),
    )
    assert r.status_code == 201
    after = await eventually(lambda: ai_coverage(platform), lambda c: len(c["covered"]) == 8)
    assert "32" not in after["uncovered"]
    assert after["uncovered_population_share"] < before["uncovered_population_share"]


async def test_poison_messages_are_dead_lettered_and_later_messages_are_applied(
    platform: Platform, kafka: EmbeddedKafka
) -> None:
    project = await platform.register()
    project_id, token = project.project_id, project.headers
    poison = [b"not json", b'{"type": "indicator_report.submitted", "payload": {}}']
    await publish(kafka.bootstrap, REPORTS, poison, key=project_id.encode())
    r = await platform.intake.post(
        f"/v1/projects/{project_id}/reports",
        headers=token,
        json=report_body("2025-S1", cell(count=9)),
    )
    assert r.status_code == 201

    async def trained() -> int | None:
        r = await platform.indicator.get(f"/v1/projects/{project_id}/progress", headers=token)
        return r.json()["totals"]["trained"] if r.status_code == 200 else None

    await eventually(trained, 9)
    # Every consumer group of the topic (indicator's and milestone's) gives up on each once.
    letters = await eventually(
        lambda: read_all(kafka.bootstrap, DEAD_LETTERS), lambda found: len(found) >= 4
    )
    by_consumer: dict[bytes, list[bytes]] = {}
    for letter in letters:
        headers = dict(letter.headers)
        assert headers["cma-source-topic"] == REPORTS.name.encode()
        assert {"cma-source-partition", "cma-source-offset", "cma-error", "cma-attempts"} <= set(
            headers
        )
        by_consumer.setdefault(headers["cma-consumer"], []).append(letter.value)
    assert {c: sorted(v) for c, v in by_consumer.items()} == {
        b"indicator.reports": sorted(poison),
        b"milestone.reports": sorted(poison),
    }
