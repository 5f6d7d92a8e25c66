"""Hostile and broken spreadsheets get a clear 4xx and store nothing: zip bombs (declared and
lying sizes), macros, formulas (never evaluated), huge shared-strings tables, too many rows,
wrong sheet names, merged cells, files that are not workbooks, another project's template.
Then byte-level fuzzing of a valid workbook: never a 5xx, a refusal writes nothing."""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections import defaultdict

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import SharedPlatform
from tests.support.spreadsheets import WIDE, XLSX, lying_sizes, rezip, workbook

pytestmark = pytest.mark.integration

GOOD = [WIDE, ["84", "Auvergne-Rhône-Alpes", "bac+5", 12, 3, None]]


def bomb() -> bytes:
    """A valid workbook plus 64 MB of zeros (64 KB compressed)."""
    return rezip(workbook(GOOD), add={"xl/media/image1.bin": bytes(64 * 2**20)})


def lying_bomb() -> bytes:
    """The sheet inflates to 12 MB while the archive declares 2 KB for it."""
    padded = rezip(
        workbook(GOOD),
        replace=lambda n, d: (
            d.replace(b"</worksheet>", b" " * (12 * 2**20) + b"</worksheet>")
            if n == "xl/worksheets/sheet1.xml"
            else d
        ),
    )
    return lying_sizes(padded, "xl/worksheets/sheet1.xml", 2048)


def with_formula(cached: bytes) -> bytes:
    """D2 holds `=1+1` with `cached` as its stored value (openpyxl writes none)."""
    body = workbook([WIDE, ["84", "", "bac+5", "=1+1", None, None]])
    return rezip(
        body,
        replace=lambda n, d: (
            d.replace(b"<v></v>", cached).replace(b"<v />", cached)
            if n.startswith("xl/worksheets/")
            else d
        ),
    )


def sheet_edited(edit: bytes) -> bytes:
    """A valid workbook with `edit` appended to its sheet's data."""
    return rezip(
        workbook(GOOD),
        replace=lambda n, d: (
            d.replace(b"</sheetData>", edit + b"</sheetData>")
            if n == "xl/worksheets/sheet1.xml"
            else d
        ),
    )


def huge_shared_strings() -> bytes:
    table = b"<sst>" + b"<si><t>x</t></si>" * 400_000 + b"</sst>"  # 6.8 MB
    return rezip(workbook(GOOD), add={"xl/sharedStrings.xml": table})


def project_b_template(platform: SharedPlatform) -> bytes:
    def state(sheet: object) -> None:
        book = sheet.parent  # type: ignore[attr-defined]
        instructions = book.create_sheet("Instructions")
        instructions.append(["Identifiant du projet", platform.b.project_id])
        instructions.append(["Période", "2025-S1"])

    return workbook(GOOD, setup=state)


CASES = [
    ("zip bomb", lambda p: bomb(), 422, "trop volumineux"),
    ("zip bomb that lies about its sizes", lambda p: lying_bomb(), 422, "archive incohérente"),
    (
        "formula without a cached value",
        lambda p: with_formula(b"<v></v>"),
        422,
        "feuille Rapport, ligne 2, colonne D : formule sans valeur calculée",
    ),
    (
        "macros in an .xlsx",
        lambda p: rezip(workbook(GOOD), add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"}),
        422,
        "macros",
    ),
    ("huge shared strings", lambda p: huge_shared_strings(), 422, "sharedStrings.xml"),
    (
        "too many rows",
        lambda p: workbook([WIDE, *[["84", "", "bac+5", 1, None, None]] * 5_200]),
        422,
        "plus de 5100 lignes",
    ),
    (
        # A dense grid up to XFD1000000 would be hundreds of gigabytes: the reader must not try.
        "one cell far away",
        lambda p: sheet_edited(b'<row r="1000000"><c r="XFD1000000"><v>1</v></c></row>'),
        422,
        "plus de 5100 lignes",
    ),
    (
        "a cell without its reference",
        lambda p: sheet_edited(b'<row r="9"><c><v>1</v></c></row>'),
        422,
        "cellules sans référence",
    ),
    ("wrong sheet name", lambda p: workbook(GOOD, title="Feuil1"), 422, "« Feuil1 »"),
    (
        "merged cells in the count area",
        lambda p: workbook(GOOD, setup=lambda s: s.merge_cells("D2:E2")),
        422,
        "feuille Rapport, ligne 2, colonne D : cellules fusionnées D2:E2",
    ),
    ("not a zip", lambda p: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), 422, ".xlsx"),
    ("an OpenDocument file", lambda p: _ods(), 422, ".xlsx"),
    ("another project's template", project_b_template, 422, "ce modèle est celui du projet"),
]


def _ods() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def request(platform: SharedPlatform, body: bytes, **params: str) -> httpx.Request:
    return httpx.Request(
        "POST",
        f"{platform.url('intake')}/v1/projects/{platform.a.project_id}/reports",
        params={"period": "2025-S1", **params},
        headers={**platform.a.headers, "Content-Type": XLSX},
        content=body,
    )


@pytest.mark.parametrize(("case", "make", "status", "message"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dry_run", ["false", "true"])
async def test_a_hostile_workbook_is_refused_and_stores_nothing(
    platform: SharedPlatform, case: str, make: object, status: int, message: str, dry_run: str
) -> None:
    body = make(platform)  # type: ignore[operator]
    before = await platform.rows()
    r = await platform.intake.post(
        f"/v1/projects/{platform.a.project_id}/reports",
        params={"period": "2025-S1", "dry_run": dry_run},
        headers={**platform.a.headers, "Content-Type": XLSX},
        content=body,
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert any(message in e["msg"] for e in r.json()["errors"]), r.json()
    assert await platform.rows() == before


async def test_a_macro_enabled_workbook_is_refused_by_its_media_type(
    platform: SharedPlatform,
) -> None:
    before = await platform.rows()
    r = await platform.intake.post(
        f"/v1/projects/{platform.a.project_id}/reports",
        params={"period": "2025-S1"},
        headers={
            **platform.a.headers,
            "Content-Type": "application/vnd.ms-excel.sheet.macroEnabled.12",
        },
        content=workbook(GOOD),
    )
    assert r.status_code == 415, r.text
    assert XLSX in r.json()["detail"]  # what to send instead
    assert await platform.rows() == before


async def test_a_formula_is_read_as_its_cached_value_never_evaluated(
    platform: SharedPlatform,
) -> None:
    r = await platform.intake.post(
        f"/v1/projects/{platform.a.project_id}/reports",
        params={"period": "2025-S1", "dry_run": "true"},
        headers={**platform.a.headers, "Content-Type": XLSX},
        content=with_formula(b"<v>5</v>"),  # `=1+1` would give 2
    )
    assert r.status_code == 200, r.text
    assert [c["count"] for c in r.json()["cells"]] == [5]


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_mutated_workbooks_never_get_a_5xx_and_refusals_write_nothing(
    platform: SharedPlatform,
) -> None:
    loop = asyncio.get_running_loop()
    valid = workbook(GOOD)
    outcomes: dict[int, int] = defaultdict(int)

    def rows() -> dict[str, int]:
        return asyncio.run_coroutine_threadsafe(platform.rows(), loop).result()

    def fuzz() -> None:
        with httpx.Client(timeout=30) as client:

            @settings(
                max_examples=60,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(
                at=st.integers(0, len(valid) - 1),
                garbage=st.binary(min_size=1, max_size=16),
                cut=st.booleans(),
            )
            def post_one(at: int, garbage: bytes, cut: bool) -> None:
                body = valid[:at] if cut else valid[:at] + garbage + valid[at + len(garbage) :]
                before = rows()
                r = client.send(request(platform, body, dry_run="true"))
                outcomes[r.status_code] += 1
                assert r.status_code in (200, 422), (r.status_code, r.text)
                assert rows() == before

            post_one()

    await asyncio.to_thread(fuzz)
    assert outcomes[422] > 0, dict(outcomes)
