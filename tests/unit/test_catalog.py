"""The reference catalog: the document's figures, the regions, and validation on load."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.catalog import DATA_DIR, Catalog, CatalogError, load_catalog, read_catalog
from contracts.indicators import CellKind, Target

SHEETS = [
    "quantique",
    "cybersecurite",
    "ia",
    "cloud",
    "5g",
    "numerique-ecoresponsable",
    "enseignement-numerique",
]
DOCUMENT_UNCOVERED = {"24", "27", "32", "44", "52", "94", "01", "02", "03", "04", "06"}


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


def by_id(cat: Catalog, sheet: str) -> dict[str, Target]:
    return {target.id: target for target in cat.sheets[sheet].targets}


def shape(target: Target) -> tuple[str, set[str] | None, str | None, int, date]:
    levels = target.selector.levels
    return (
        target.selector.kind,
        None if levels is None else set(levels),
        target.selector.audience,
        target.value,
        target.horizon,
    )


END_2030 = date(2030, 12, 31)


def test_catalog_loads_the_seven_sheets_with_their_targets(cat: Catalog) -> None:
    assert list(cat.sheets) == SHEETS
    counts = {sheet_id: len(sheet.targets) for sheet_id, sheet in cat.sheets.items()}
    assert counts == {
        "quantique": 5,
        "cybersecurite": 1,
        "ia": 3,
        "cloud": 5,
        "5g": 1,
        "numerique-ecoresponsable": 0,
        "enseignement-numerique": 6,
    }
    for sheet in cat.sheets.values():
        assert sheet.start == date(2022, 1, 1)
        assert sheet.reading and sheet.source_lines and sheet.level_buckets
        assert all(target.start == sheet.start for target in sheet.targets)


def test_levels_are_the_canonical_ones_in_order(cat: Catalog) -> None:
    assert list(cat.levels) == [
        "infra-bac",
        "bac",
        "bac+2",
        "bac+3",
        "bac+4",
        "bac+5",
        "bac+8",
        "formation-continue",
    ]
    assert cat.levels["bac+8"].label.startswith("Bac+8")
    assert {"students", "pupils", "teachers", "staff"} <= set(cat.audiences)


def test_catalog_carries_one_version(cat: Catalog) -> None:
    assert cat.version == "2026.11-1"


def test_cloud_targets_match_the_document(cat: Catalog) -> None:
    targets = by_id(cat, "cloud")
    assert {key: shape(t) for key, t in targets.items()} == {
        "cloud-bac": ("trained", {"infra-bac", "bac"}, None, 1_000, END_2030),
        "cloud-bac2-3": ("trained", {"bac+2", "bac+3"}, None, 15_000, END_2030),
        "cloud-bac5": ("trained", {"bac+5"}, None, 15_000, END_2030),
        "cloud-bac8": ("trained", {"bac+8"}, None, 250, END_2030),
        "cloud-formation-continue": ("trained", {"formation-continue"}, None, 30_000, END_2030),
    }


def test_education_targets_match_the_document(cat: Catalog) -> None:
    targets = by_id(cat, "enseignement-numerique")
    assert {key: shape(t) for key, t in targets.items()} == {
        "edu-infra-bac": ("trained", {"infra-bac"}, "pupils", 80_000, END_2030),
        "edu-bac2-3": ("trained", {"bac+2", "bac+3"}, "students", 50_000, END_2030),
        "edu-bac3-personnels": ("trained", {"bac+3"}, "staff", 100, END_2030),
        "edu-bac4-5": ("trained", {"bac+4", "bac+5"}, None, 65_000, END_2030),
        "edu-bac8": ("trained", {"bac+8"}, None, 100, END_2030),
        "edu-formation-continue": ("trained", {"formation-continue"}, None, 240_000, END_2030),
    }


def test_education_bac3_staff_and_bac2_3_students_never_count_the_same_cell(cat: Catalog) -> None:
    targets = by_id(cat, "enseignement-numerique")
    staff, students = targets["edu-bac3-personnels"], targets["edu-bac2-3"]
    assert staff.selector.matches("trained", "bac+3", "staff")
    assert not students.selector.matches("trained", "bac+3", "staff")
    assert students.selector.matches("trained", "bac+3", "students")
    assert not staff.selector.matches("trained", "bac+3", "students")


def test_quantum_job_categories_map_to_disjoint_levels_summing_to_18000(cat: Catalog) -> None:
    targets = by_id(cat, "quantique")
    assert targets["quantique-emplois"].value == 18_000
    assert targets["quantique-emplois"].selector.levels is None
    categories = [t for key, t in targets.items() if key != "quantique-emplois"]
    assert sorted(t.value for t in categories) == [2_000, 3_000, 5_000, 8_000]
    assert targets["quantique-chercheurs"].selector.levels == {"bac+8"}
    seen: set[str] = set()
    for target in categories:
        levels = target.selector.levels or frozenset()
        assert levels and not levels & seen
        seen |= levels
    assert all(t.horizon == END_2030 and t.selector.kind == CellKind.TRAINED for t in categories)


def test_cyber_target_is_37000_more_jobs_by_the_end_of_2025(cat: Catalog) -> None:
    (target,) = cat.sheets["cybersecurite"].targets
    assert (target.value, target.horizon) == (37_000, date(2025, 12, 31))
    assert target.selector.levels == {
        "bac",
        "bac+2",
        "bac+3",
        "bac+5",
        "bac+8",
        "formation-continue",
    }


def test_5g_target_is_34000_trained_from_bac3_to_bac8_and_continuing_by_2030(
    cat: Catalog,
) -> None:
    (target,) = cat.sheets["5g"].targets
    assert shape(target) == (
        "trained",
        {"bac+3", "bac+4", "bac+5", "bac+8", "formation-continue"},
        None,
        34_000,
        END_2030,
    )


def test_numerique_ecoresponsable_has_no_learner_target(cat: Catalog) -> None:
    assert cat.sheets["numerique-ecoresponsable"].targets == []


def test_ai_laureates_trained_counts_sum_to_32340_and_86945(cat: Catalog) -> None:
    ai = [laureate for laureate in cat.laureates if laureate.sheet == "ia"]
    waves = {"vague-1": 0, "vague-2": 0}
    for laureate in ai:
        waves[laureate.wave] += laureate.committed_trained or 0
    assert len(ai) == 11
    assert waves == {"vague-1": 32_340, "vague-2": 86_945}
    assert {la.name for la in ai if la.wave == "vague-2"} == {
        "Adopt'IA",
        "NORMANTHIIA",
        "TIARe",
        "CAP IA",
    }


def test_ai_sheet_targets_are_the_two_waves_totals(cat: Catalog) -> None:
    targets = by_id(cat, "ia")
    assert shape(targets["ia-formes"]) == ("trained", None, None, 32_340 + 86_945, END_2030)
    assert shape(targets["ia-sensibilises"]) == (
        "sensitised",
        None,
        None,
        607_000 + 275_000,
        END_2030,
    )
    assert targets["ia-formation-continue"].value == 68_000


def test_ai_laureates_cover_exactly_the_seven_regions_the_document_implies(
    cat: Catalog,
) -> None:
    covered = {code for la in cat.laureates if la.sheet == "ia" for code in la.regions}
    assert covered == {"11", "28", "53", "75", "76", "84", "93"}
    assert set(cat.regions) - covered == DOCUMENT_UNCOVERED


def test_uncovered_population_share_of_the_documents_regions_is_about_34_percent(
    cat: Catalog,
) -> None:
    uncovered = sum(cat.regions[code].population for code in DOCUMENT_UNCOVERED)
    assert uncovered / cat.total_population == pytest.approx(0.3442, abs=0.0005)


def test_regions_match_the_reference_csv(cat: Catalog) -> None:
    assert len(cat.regions) == 18
    assert cat.total_population == 67_664_570
    assert cat.population_vintage == "INSEE populations légales 2021 (Mayotte 2017)"
    assert cat.regions["11"].population == 12_317_279
    assert cat.regions["11"].iso_code == "FR-IDF"
    assert (cat.regions["06"].name, cat.regions["06"].population_year) == ("Mayotte", 2017)
    assert {r.population_year for c, r in cat.regions.items() if c != "06"} == {2021}


def test_region_markers_lie_on_their_territory(cat: Catalog) -> None:
    for code, region in cat.regions.items():
        if int(code) >= 11:  # metropolitan France
            assert 41.3 <= region.latitude <= 51.1 and -5.2 <= region.longitude <= 9.6
    assert cat.regions["04"].latitude < 0 < cat.regions["04"].longitude  # La Réunion
    assert cat.regions["01"].longitude < -60  # Guadeloupe


def test_other_sheets_laureates_match_the_document(cat: Catalog) -> None:
    laureates = {la.id: la for la in cat.laureates}
    cloud = laureates["la-tete-dans-le-nuage"]
    assert (cloud.sheet, cloud.regions, cloud.committed_trained) == ("cloud", ("84",), 4_500)
    assert (laureates["ris3"].sheet, laureates["ris3"].regions) == ("5g", ("53",))
    assert (laureates["imt-5g"].sheet, laureates["imt-5g"].regions) == ("5g", ())
    assert (laureates["eupaven"].regions, laureates["eupaven"].funding_eur) == (("84",), 111_000)
    assert laureates["vert-num"].funding_eur == 133_000
    funded = {la.id for la in cat.laureates if la.funding_eur is not None}
    assert funded == {"eupaven", "vert-num"}
    assert all(la.committed_sensitised is None for la in cat.laureates)


def test_catalog_models_are_frozen(cat: Catalog) -> None:
    with pytest.raises(ValidationError):
        cat.regions["11"].population = 1  # type: ignore[misc]


def test_load_catalog_reads_the_files_once(cat: Catalog) -> None:
    assert load_catalog() is cat


# --- validation on load: a broken copy of the files is refused, naming file and entry ---

Edit = Callable[[dict[str, Any]], None]


def broken_copy(tmp_path: Path, name: str, edit: Edit) -> Path:
    directory = tmp_path / "data"
    shutil.copytree(DATA_DIR, directory)
    path = directory / name
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return directory


def refusal(directory: Path) -> str:
    with pytest.raises(CatalogError) as caught:
        read_catalog(directory)
    return str(caught.value)


def test_unknown_level_in_a_target_is_rejected_naming_the_file_and_entry(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["sheets"][3]["targets"][1]["selector"]["levels"] = ["bac+9"]

    message = refusal(broken_copy(tmp_path, "sheets.json", edit))
    assert "sheets.json: sheets[3].targets[1].selector.levels: unknown level 'bac+9'" in message


def test_unknown_audience_in_a_target_is_rejected(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["sheets"][6]["targets"][0]["selector"]["audience"] = "parents"

    message = refusal(broken_copy(tmp_path, "sheets.json", edit))
    assert "sheets.json: sheets[6].targets[0].selector.audience: unknown audience" in message


def test_unknown_level_in_a_bucket_is_rejected(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["sheets"][0]["level_buckets"][2]["levels"] = ["bac+6"]

    message = refusal(broken_copy(tmp_path, "sheets.json", edit))
    assert "sheets.json: sheets[0].level_buckets[2].levels: unknown level 'bac+6'" in message


def test_two_targets_with_one_id_in_a_sheet_are_rejected(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["sheets"][3]["targets"][1]["id"] = "cloud-bac"

    assert "duplicate target id 'cloud-bac'" in refusal(broken_copy(tmp_path, "sheets.json", edit))


def test_a_malformed_target_is_rejected_with_its_path(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["sheets"][3]["targets"][0]["value"] = 0

    message = refusal(broken_copy(tmp_path, "sheets.json", edit))
    assert "sheets.json: sheets[3].targets[0].value:" in message


def test_laureate_of_unknown_sheet_or_region_is_rejected(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["laureates"][0]["sheet"] = "robotique"
        data["laureates"][1]["regions"] = ["99"]

    message = refusal(broken_copy(tmp_path, "laureates.json", edit))
    assert "laureates.json: laureates[0].sheet: unknown sheet 'robotique'" in message
    assert "laureates.json: laureates[1].regions: unknown region '99'" in message


def test_a_file_of_another_version_is_rejected(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["version"] = "2027.01-1"

    message = refusal(broken_copy(tmp_path, "laureates.json", edit))
    assert "laureates.json: version '2027.01-1' differs" in message


def region_rows(tmp_path: Path, change: Callable[[list[str]], list[str]]) -> Path:
    directory = tmp_path / "data"
    shutil.copytree(DATA_DIR, directory)
    path = directory / "regions.csv"
    path.write_text(
        "\n".join(change(path.read_text(encoding="utf-8").splitlines())) + "\n", encoding="utf-8"
    )
    return directory


def test_a_missing_region_is_rejected(tmp_path: Path) -> None:
    directory = region_rows(tmp_path, lambda lines: [x for x in lines if not x.startswith("94,")])
    assert "regions.csv: 17 regions, expected 18" in refusal(directory)


def test_a_duplicate_region_code_is_rejected(tmp_path: Path) -> None:
    directory = region_rows(
        tmp_path, lambda lines: [x.replace("94,FR-20R", "93,FR-20R") for x in lines]
    )
    assert "regions.csv: duplicate insee_code '93'" in refusal(directory)


def test_a_zero_population_is_rejected_naming_the_line(tmp_path: Path) -> None:
    directory = region_rows(tmp_path, lambda lines: [x.replace(",347597,", ",0,") for x in lines])
    message = refusal(directory)
    assert "regions.csv: line" in message and "population:" in message


def test_malformed_json_is_rejected_naming_the_file(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    shutil.copytree(DATA_DIR, directory)
    (directory / "levels.json").write_text("{", encoding="utf-8")
    assert refusal(directory).startswith("levels.json:")
