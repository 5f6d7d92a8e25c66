"""Bad input gets a clear 4xx naming the field (or CSV row) and the reason, and stores nothing."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.topics import REPORTS
from tests.support.data import cell, project_body, report_body
from tests.support.database import fetch
from tests.support.platform import Platform

pytestmark = pytest.mark.integration


@pytest.fixture
async def project(platform: Platform) -> tuple[str, dict[str, str]]:
    registered = await platform.register()
    return registered.project_id, registered.headers


async def stored_reports(platform: Platform) -> tuple[int, int]:
    """(report rows, report events in the outbox)."""
    [(reports, events)] = await fetch(
        platform.database_url,
        "select (select count(*) from intake.reports), "
        "(select count(*) from intake.outbox where topic = $1)",
        REPORTS.name,
    )
    return reports, events


JSON_CASES: list[tuple[str, dict[str, Any], list[Any], str]] = [
    (
        "negative count",
        report_body("2025-S1", cell(count=-3)),
        ["body", "cells", 0, "count"],
        "greater than or equal to 0",
    ),
    (
        "float count",
        report_body("2025-S1", cell(count=1.5)),
        ["body", "cells", 0, "count"],
        "valid integer",
    ),
    (
        "unknown kind",
        report_body("2025-S1", cell(kind="certified")),
        ["body", "cells", 0, "kind"],
        "Input should be",
    ),
    (
        "unknown level",
        report_body("2025-S1", cell(level="bac+7")),
        ["body", "cells", 0, "level"],
        "unknown level",
    ),
    (
        "unknown region",
        report_body("2025-S1", cell(region="00")),
        ["body", "cells", 0, "region"],
        "unknown region",
    ),
    (
        "undeclared region",
        report_body("2025-S1", cell(region="11")),
        ["body", "cells", 0, "region"],
        "not one of the project's regions",
    ),
    (
        "alternance above trained",
        report_body("2025-S1", cell(count=2), cell(kind="alternance", count=3)),
        ["body"],
        "alternance (3) exceeds trained (2)",
    ),
    ("period not begun", report_body("2026-S1"), ["body", "period"], "has not begun"),
    (
        "period before the project",
        report_body("2022-S1"),
        ["body", "period"],
        "outside the project",
    ),
    ("empty report", {"period": "2025-S1", "cells": []}, ["body", "cells"], "at least 1"),
    ("unknown field", {**report_body("2025-S1"), "totals": 5}, ["body", "totals"], "Extra inputs"),
    ("missing period", {"cells": [cell()]}, ["body", "period"], "Field required"),
]


@pytest.mark.parametrize(
    ("case", "body", "loc", "message"), JSON_CASES, ids=[c[0] for c in JSON_CASES]
)
async def test_a_bad_json_report_is_refused_with_the_field_and_stores_nothing(
    platform: Platform,
    project: tuple[str, dict[str, str]],
    case: str,
    body: dict[str, Any],
    loc: list[Any],
    message: str,
) -> None:
    project_id, token = project
    r = await platform.intake.post(f"/v1/projects/{project_id}/reports", json=body, headers=token)
    assert r.status_code == 422, r.text
    details = r.json()["errors"]
    assert any(d["loc"] == loc and message in d["msg"] for d in details), details
    assert await stored_reports(platform) == (0, 0)


CSV_CASES = [
    (
        "bad count on row 3",
        "kind,level,region,count\ntrained,bac+5,84,4\ntrained,bac+2,84,x\n",
        ["body", "row", 3, "count"],
    ),
    ("unknown header", "kind,level,region,count,remarks\n", ["body", "row", 1]),
    ("short row", "kind,level,region,count\ntrained,bac+5\n", ["body", "row", 2]),
    (
        "undeclared region on row 2",
        "kind,level,region,count\ntrained,bac+5,32,4\n",
        ["body", "row", 2, "region"],
    ),
]


@pytest.mark.parametrize(("case", "csv_body", "loc"), CSV_CASES, ids=[c[0] for c in CSV_CASES])
async def test_a_bad_csv_report_is_refused_naming_the_row(
    platform: Platform,
    project: tuple[str, dict[str, str]],
    case: str,
    csv_body: str,
    loc: list[Any],
) -> None:
    project_id, token = project
    r = await platform.intake.post(
        f"/v1/projects/{project_id}/reports",
        params={"period": "2025-S1"},
        content=csv_body,
        headers={**token, "Content-Type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == loc
    assert await stored_reports(platform) == (0, 0)


async def test_csv_that_is_neither_utf8_nor_windows_1252_or_has_no_period_is_refused(
    platform: Platform,
    project: tuple[str, dict[str, str]],
) -> None:
    project_id, token = project
    url, headers = f"/v1/projects/{project_id}/reports", {**token, "Content-Type": "text/csv"}
    bad_bytes = await platform.intake.post(
        url,
        params={"period": "2025-S1"},
        headers=headers,
        content=b"kind,level,region,count\n\x81\x8d,,,\n",  # bytes Windows-1252 lacks
    )
    not_as_told = await platform.intake.post(
        url,
        params={"period": "2025-S1"},
        headers={**headers, "Content-Type": "text/csv; charset=utf-8"},
        content="kind;level;region;count\ntrained;bac+5;84;1\nformés;bac+5;84;1\n".encode("cp1252"),
    )
    no_period = await platform.intake.post(
        url, headers=headers, content="kind,level,region,count\ntrained,bac+5,84,1\n"
    )
    assert (bad_bytes.status_code, no_period.status_code, not_as_told.status_code) == (422,) * 3
    assert "ni en UTF-8 ni en Windows-1252" in bad_bytes.json()["errors"][0]["msg"]
    assert "ne se lit pas en utf-8" in not_as_told.json()["errors"][0]["msg"]
    assert no_period.json()["errors"][0]["loc"][:2] == ["query", "period"]


async def test_malformed_bodies_and_content_types_get_a_4xx_never_a_500(
    platform: Platform,
    project: tuple[str, dict[str, str]],
) -> None:
    project_id, token = project
    url = f"/v1/projects/{project_id}/reports"
    for content, content_type, status in [
        (b'{"period": "2025-S1", "cells": [', "application/json", 422),
        (b"", "application/json", 422),
        (b"\xff\xfe", "application/json", 422),
        (b"<report/>", "application/xml", 415),
    ]:
        r = await platform.intake.post(
            url, content=content, headers={**token, "Content-Type": content_type}
        )
        assert r.status_code == status, (content, r.status_code, r.text)
    assert await stored_reports(platform) == (0, 0)


async def test_a_body_over_the_size_limit_is_refused_with_413(
    platform: Platform,
    project: tuple[str, dict[str, str]],
) -> None:
    project_id, token = project
    huge = b"x" * (platform.settings.max_body_bytes + 1)
    r = await platform.intake.post(
        f"/v1/projects/{project_id}/reports",
        content=huge,
        headers={**token, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert await stored_reports(platform) == (0, 0)


async def test_tokens_are_required_and_a_project_may_only_write_its_own_reports(
    platform: Platform,
    project: tuple[str, dict[str, str]],
) -> None:
    _, token = project
    other = await platform.intake.post(
        "/v1/projects", json=project_body(name="Autre"), headers=platform.staff
    )
    other_id = other.json()["project_id"]
    url, body = f"/v1/projects/{other_id}/reports", report_body("2025-S1")
    assert (await platform.intake.post(url, json=body)).status_code == 401
    wrong = {"Authorization": "Bearer cmap_not-a-real-token"}
    assert (await platform.intake.post(url, json=body, headers=wrong)).status_code == 401
    assert (await platform.intake.post(url, json=body, headers=token)).status_code == 403
    assert (await platform.intake.get(url, headers=token)).status_code == 403
    # A project token cannot register projects, a staff-only action.
    assert (
        await platform.intake.post("/v1/projects", json=project_body(), headers=token)
    ).status_code == 403
    assert await stored_reports(platform) == (0, 0)


async def test_registration_refuses_unknown_sheets_regions_and_inverted_dates(
    platform: Platform,
) -> None:
    for overrides, loc in [
        ({"sheet": "blockchain"}, ["body", "sheet"]),
        ({"regions": ["84", "99"]}, ["body", "regions", 1]),
        ({"end_date": "2020-01-01"}, ["body"]),
    ]:
        r = await platform.intake.post(
            "/v1/projects", json=project_body(**overrides), headers=platform.staff
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == loc
