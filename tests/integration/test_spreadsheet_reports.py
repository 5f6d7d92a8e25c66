"""Reports from the files projects keep: an `.xlsx` in the template's layout, a CSV as French
Excel saves it, the same cells as JSON; the template's round trip; the dry run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.topics import REPORTS
from tests.support.data import cell, report_body
from tests.support.database import fetch
from tests.support.platform import Platform, Project
from tests.support.spreadsheets import WIDE, XLSX, fill, sheet_values, workbook
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

REGIONS = ["84", "93"]
# The same report three ways: 1 200 trained at bac+5 in 84 of whom 300 in alternance, 45
# sensitised at bac in 93, and 7 trained at bac+2 in 93.
JSON_CELLS = [
    cell(count=1200),
    cell(kind="alternance", count=300),
    cell(kind="sensitised", level="bac", region="93", count=45),
    cell(level="bac+2", region="93", count=7),
]
XLSX_ROWS = [
    WIDE,
    ["84", "Auvergne-Rhône-Alpes", "bac+5", 1200, 300, None],
    ["93", "Provence-Alpes-Côte d'Azur", "bac", None, None, 45],
    [93, "Provence-Alpes-Côte d'Azur", "bac+2", 7.0, None, None],  # typed as numbers
    ["84", "Auvergne-Rhône-Alpes", "bac+3", None, None, None],  # a row left blank
]
FRENCH_EXCEL_CSV = (
    "Région;Nom de la région;Niveau;Formés;Dont en alternance;Sensibilisés;;\r\n"
    "84;Auvergne-Rhône-Alpes;bac+5;1\u00a0200;300;;;\r\n"
    "93;Provence-Alpes-Côte d'Azur;bac;;;45;;\r\n"
    "93;Provence-Alpes-Côte d'Azur;bac+2;7;;;;\r\n"
    ";;;;;;;\r\n"
    "\r\n"
).encode("cp1252")


async def project(platform: Platform) -> Project:
    return await platform.register(regions=REGIONS)


def url(p: Project, path: str = "reports") -> str:
    return f"/v1/projects/{p.project_id}/{path}"


async def stored_cells(platform: Platform, p: Project) -> list[dict[str, Any]]:
    [(cells,)] = await fetch(
        platform.database_url,
        "select cells from intake.reports where project_id = $1 order by revision desc limit 1",
        p.project_id,
    )
    return sorted(json.loads(cells), key=lambda c: json.dumps(c, sort_keys=True))


async def totals(platform: Platform, p: Project) -> dict[str, Any] | None:
    r = await platform.indicator.get(url(p, "progress"), headers=p.headers)
    return r.json()["by_period"] if r.status_code == 200 else None


async def written(platform: Platform) -> tuple[int, int, int]:
    """(report rows, period rows, report events in the outbox)."""
    [row] = await fetch(
        platform.database_url,
        "select (select count(*) from intake.reports), (select count(*) from intake.periods), "
        "(select count(*) from intake.outbox where topic = $1)",
        REPORTS.name,
    )
    return tuple(row)  # type: ignore[return-value]


async def test_xlsx_french_excel_csv_and_json_store_the_same_cells_and_totals(
    platform: Platform,
) -> None:
    as_json, as_xlsx, as_csv = [await project(platform) for _ in range(3)]
    answers = [
        await platform.intake.post(
            url(as_json), headers=as_json.headers, json=report_body("2025-S1", *JSON_CELLS)
        ),
        await platform.intake.post(
            url(as_xlsx),
            params={"period": "2025-S1"},
            headers={**as_xlsx.headers, "Content-Type": XLSX},
            content=workbook(XLSX_ROWS),
        ),
        await platform.intake.post(
            url(as_csv),
            params={"period": "2025-S1"},
            headers={**as_csv.headers, "Content-Type": "text/csv"},
            content=FRENCH_EXCEL_CSV,
        ),
    ]
    assert [r.status_code for r in answers] == [201, 201, 201], [r.text for r in answers]
    assert [r.json()["cells"] for r in answers] == [4, 4, 4]
    expected = await stored_cells(platform, as_json)
    assert await stored_cells(platform, as_xlsx) == expected
    assert await stored_cells(platform, as_csv) == expected
    shown = {"2025-S1": {"trained": 1207, "sensitised": 45, "alternance": 300}}
    for p in (as_json, as_xlsx, as_csv):
        assert await eventually(lambda p=p: totals(platform, p), shown) == shown


async def test_the_template_filled_and_uploaded_unchanged_is_accepted_and_comes_back_filled(
    platform: Platform,
) -> None:
    p = await project(platform)
    first = await platform.intake.get(
        url(p, "template.xlsx"), params={"period": "2025-S1"}, headers=p.headers
    )
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == XLSX
    rows = sheet_values(first.content)
    assert rows[0] == [
        "région",
        "nom de la région",
        "niveau",
        "libellé du niveau",
        "formés",
        "dont en alternance",
        "sensibilisés",
    ]
    assert len(rows) == 1 + 2 * 8  # the 2 declared regions × the catalog's 8 levels
    stated = {r[0]: r[1] for r in sheet_values(first.content, "Instructions") if r[0]}
    assert stated["Période"] == "2025-S1" and stated["Identifiant du projet"] == p.project_id

    filled = fill(first.content, {("84", "bac+5"): (120, 30, None), ("93", "bac"): (0, None, 9)})
    upload = {**p.headers, "Content-Type": XLSX}
    r = await platform.intake.post(url(p), headers=upload, content=filled)  # period stated
    assert r.status_code == 201, r.text
    assert (r.json()["period"], r.json()["revision"], r.json()["cells"]) == ("2025-S1", 1, 4)

    again = await platform.intake.get(
        url(p, "template.xlsx"), params={"period": "2025-S1"}, headers=p.headers
    )
    counts = {(r[0], r[2]): r[-3:] for r in sheet_values(again.content)[1:] if any(r[-3:])}
    assert counts == {("84", "bac+5"): [120, 30, None], ("93", "bac"): [0, None, 9]}
    r = await platform.intake.post(url(p), headers=upload, content=again.content)
    assert (r.status_code, r.json()["revision"], r.json()["cells"]) == (201, 2, 4), r.text

    as_csv = await platform.intake.get(
        url(p, "template.csv"), params={"period": "2025-S1"}, headers=p.headers
    )
    assert as_csv.status_code == 200 and as_csv.content.startswith(b"\xef\xbb\xbfr\xc3\xa9gion;")
    assert "84;Auvergne-Rhône-Alpes;bac+5;" in as_csv.content.decode("utf-8-sig")
    r = await platform.intake.post(
        url(p),
        params={"period": "2025-S1"},
        headers={**p.headers, "Content-Type": "text/csv"},
        content=as_csv.content,
    )
    assert (r.status_code, r.json()["revision"], r.json()["cells"]) == (201, 3, 4), r.text
    other_period = await platform.intake.post(
        url(p), params={"period": "2025-S2"}, headers=upload, content=again.content
    )
    assert other_period.status_code == 422
    assert other_period.json()["errors"][0]["loc"] == ["query", "period"]


async def test_a_dry_run_of_a_bad_file_lists_every_error_by_sheet_row_and_column(
    platform: Platform,
) -> None:
    p = await project(platform)
    bad = workbook(
        [
            WIDE,
            ["84", "", "bac+5", "douze", 3, None],
            ["84", "", "bac+9", 4, None, None],
            ["84", "", "bac+2", 10, 11, 1.5],
        ]
    )
    r = await platform.intake.post(
        url(p),
        params={"period": "2025-S1", "dry_run": "true"},
        headers={**p.headers, "Content-Type": XLSX},
        content=bad,
    )
    assert r.status_code == 422, r.text
    assert [(e["loc"], e["msg"]) for e in r.json()["errors"]] == [
        (
            ["body", "sheet", "Rapport", "row", 2, "trained"],
            "feuille Rapport, ligne 2, colonne D : nombre entier attendu, lu « douze »",
        ),
        (
            ["body", "sheet", "Rapport", "row", 3, "level"],
            "feuille Rapport, ligne 3, colonne C : niveau inconnu « bac+9 » : attendu "
            "infra-bac, bac, bac+2, bac+3, bac+4, bac+5, bac+8, formation-continue",
        ),
        (
            ["body", "sheet", "Rapport", "row", 4, "sensitised"],
            "feuille Rapport, ligne 4, colonne F : nombre entier attendu, lu « 1.5 »",
        ),
    ]
    assert await written(platform) == (0, 0, 0)


async def test_a_dry_run_of_a_good_file_answers_the_difference_and_changes_nothing(
    platform: Platform,
) -> None:
    p = await project(platform)
    r = await platform.intake.post(
        url(p),
        headers=p.headers,
        json=report_body("2025-S1", cell(count=100), cell(count=5, level="bac")),
    )
    assert r.status_code == 201, r.text
    shown = {"2025-S1": {"trained": 105}}
    await eventually(lambda: totals(platform, p), shown)
    before = await written(platform)

    keyed = {**p.headers, "Content-Type": XLSX, "Idempotency-Key": "semestre-1"}
    dry = await platform.intake.post(
        url(p),
        params={"period": "2025-S1", "dry_run": "true"},
        headers=keyed,
        content=workbook(XLSX_ROWS),
    )
    assert dry.status_code == 200, dry.text
    answer = dry.json()
    assert (answer["dry_run"], answer["current_revision"], len(answer["cells"])) == (True, 1, 4)
    assert [w["rule"] for w in answer["warnings"]] == ["revision_swing"]  # 105 → 1,252 people
    assert answer["difference"]["by_kind"] == [
        {"kind": "trained", "current": 105, "proposed": 1207, "change": 1102},
        {"kind": "sensitised", "current": 0, "proposed": 45, "change": 45},
        {"kind": "alternance", "current": 0, "proposed": 300, "change": 300},
    ]
    assert answer["difference"]["by_level_and_region"] == [
        {"kind": k, "level": lv, "region": rg, "current": c, "proposed": n, "change": n - c}
        for k, lv, rg, c, n in [
            ("alternance", "bac+5", "84", 0, 300),
            ("sensitised", "bac", "93", 0, 45),
            ("trained", "bac", "84", 5, 0),
            ("trained", "bac+2", "93", 0, 7),
            ("trained", "bac+5", "84", 100, 1200),
        ]
    ]
    csv_dry = await platform.intake.post(
        url(p),
        params={"period": "2025-S1", "dry_run": "true"},
        headers={**p.headers, "Content-Type": "text/csv"},
        content=FRENCH_EXCEL_CSV,
    )
    json_dry = await platform.intake.post(
        url(p),
        params={"dry_run": "true"},
        headers=p.headers,
        json=report_body("2025-S1", *JSON_CELLS),
    )
    assert csv_dry.json() == json_dry.json() == answer
    assert await written(platform) == before
    assert await totals(platform, p) == shown

    # The key was not kept and no revision number taken: the real upload is revision 2.
    r = await platform.intake.post(
        url(p), params={"period": "2025-S1"}, headers=keyed, content=workbook(XLSX_ROWS)
    )
    assert (r.status_code, r.json()["revision"]) == (201, 2), r.text
    assert r.json()["warnings"] == answer["warnings"]  # the dry run foretold them
