"""Reading reports from CSV text as French tools write it, in either layout: separators,
encodings, thousands separators, what is ambiguous and refused, and every error at once,
each naming its row and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.intake.spreadsheets import charset_of, read_csv_report
from services.intake.spreadsheets.grid import SpreadsheetReport, column_letter
from services.runtime.errors import Unprocessable

WIDE = "région;niveau;formés;dont en alternance;sensibilisés"


def read(text: str, encoding: str = "utf-8", charset: str | None = None) -> SpreadsheetReport:
    return read_csv_report(text.encode(encoding), charset=charset, period="2025-S1", reason=None)


def refusals(text: str, encoding: str = "utf-8") -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(Unprocessable) as refused:
        read(text, encoding)
    return [(e.loc, e.msg) for e in refused.value.errors]


def counts(report: SpreadsheetReport) -> list[tuple[str, str, str, int]]:
    return [(c.kind.value, c.level, c.region, c.count) for c in report.report.cells]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("1200", 1200),
        ("1 200", 1200),
        ("1\u00a0200", 1200),
        ("1\u202f200", 1200),
        ("1\u2009200", 1200),
        ("10 000 000", 10_000_000),
        (" 7 ", 7),
        ("0", 0),
    ],
)
def test_a_count_with_a_space_between_thousands_is_a_whole_number(written: str, value: int) -> None:
    assert counts(read(f"{WIDE}\n84;bac+5;{written};;\n")) == [("trained", "bac+5", "84", value)]


@pytest.mark.parametrize(
    "written",
    ["1,5", "1.200", "12 34", "1 2000", "1e3", "+3", "٣", "1_000", "0x10", "12 000 000 0"],
)
def test_an_ambiguous_count_is_refused_naming_its_row_and_column(written: str) -> None:
    [(loc, msg)] = refusals(f'{WIDE}\n84;bac+5;"{written}";;\n')
    assert loc == ("body", "row", 2, "trained")
    assert msg.startswith("ligne 2, colonne C : nombre entier attendu")


def test_french_excel_csv_reads_with_semicolons_windows_1252_crlf_and_blank_trailers() -> None:
    text = (
        "Région;Niveau;Formés;Dont en alternance;Sensibilisés;;\r\n"
        "84;bac+5;12;3;;;\r\n;;;;;;\r\n\r\n"
    )
    report = read(text, "cp1252")
    assert counts(report) == [("trained", "bac+5", "84", 12), ("alternance", "bac+5", "84", 3)]
    assert [str(p) for p in report.places] == ["ligne 2, colonne C", "ligne 2, colonne D"]


def test_the_charset_of_the_content_type_decides_the_encoding() -> None:
    assert charset_of('text/csv; charset="windows-1252"') == "windows-1252"
    assert charset_of("text/csv") is None
    text = f"{WIDE}\n84;bac+5;12;;\n"
    assert counts(read(text, "cp1252", "windows-1252")) == [("trained", "bac+5", "84", 12)]
    with pytest.raises(Unprocessable, match="ne se lit pas en utf-8"):
        read("niveau;région;formés\nbac+5;84;é\n", "cp1252", "utf-8")


def test_the_long_layout_takes_commas_and_either_language() -> None:
    report = read("Type,Niveau,Région,Sexe,Public,Effectif\nformés,bac+5,1,f,students,4\n")
    [cell] = report.report.cells
    assert (cell.kind.value, cell.region, cell.sex, cell.audience, cell.count) == (
        "trained",
        "01",
        "F",
        "students",
        4,
    )


def test_every_error_of_a_file_is_listed_at_once() -> None:
    found = refusals(
        f"{WIDE}\n84;bac+9;1;;\n99;bac;x;;\n84;bac+5;2;3;\n84;bac+5;2;;\n84;bac;1;;;7\n"
    )
    assert [msg for _, msg in found] == [
        "ligne 2, colonne B : niveau inconnu « bac+9 » : attendu infra-bac, bac, bac+2, bac+3, "
        "bac+4, bac+5, bac+8, formation-continue",
        "ligne 3, colonne A : région inconnue « 99 » : code INSEE à 2 chiffres attendu",
        "ligne 3, colonne C : nombre entier attendu, lu « x »",
        "ligne 6, colonne F : valeur hors des colonnes de l'en-tête",
        "ligne 5, colonne C : cellule en double : déjà donnée ligne 4, colonne C",
        "ligne 4, colonne D : dont en alternance (3) dépasse formés (2) pour les mêmes niveau, "
        "région, sexe et public",
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("région;niveau;formés;remarques", "colonne « remarques » inconnue"),
        ("région;niveau;formés;formés", "colonne « formes » en double"),
        ("région;formés", "colonnes manquantes niveau"),
        ("région;niveau;formés;type;effectif", "pas les deux"),
        ("région;;niveau;formés", "colonne sans nom"),
    ],
)
def test_a_bad_header_is_refused_on_row_1(header: str, message: str) -> None:
    found = refusals(f"{header}\n84;bac+5;1;2;3\n")
    assert all(loc[:3] == ("body", "row", 1) for loc, _ in found)
    assert any(message in msg for _, msg in found), found


def test_a_file_with_no_count_or_no_period_is_refused() -> None:
    assert refusals(f"{WIDE}\n84;bac+5;;;\n") == [
        (("body", "row", 1), "ligne 1 : aucun effectif : toutes les cellules sont vides")
    ]
    with pytest.raises(Unprocessable) as refused:
        read_csv_report(f"{WIDE}\n84;bac+5;x;;\n".encode(), charset=None, period=None, reason=None)
    assert [e.loc for e in refused.value.errors] == [  # and the rows' errors with it
        ("query", "period"),
        ("body", "row", 2, "trained"),
    ]


def test_columns_are_named_as_a_spreadsheet_names_them() -> None:
    assert [column_letter(i) for i in (0, 3, 25, 26, 27, 51, 52, 701, 702)] == [
        "A",
        "D",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_the_example_file_in_the_docs_reads_as_french_excel_saved_it() -> None:
    body = (Path(__file__).parents[2] / "docs" / "examples" / "rapport-2025-S2.csv").read_bytes()
    assert b"\r\n" in body and "Région".encode("cp1252") in body
    report = read_csv_report(body, charset=None, period="2025-S2", reason=None)
    assert counts(report) == [
        ("trained", "bac+2", "84", 75),
        ("trained", "bac+5", "84", 1200),
        ("alternance", "bac+5", "84", 300),
        ("sensitised", "formation-continue", "84", 450),
    ]
