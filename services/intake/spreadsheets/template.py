"""A project's report template for a period, in French: one row per declared region × catalog
level (× audience where the project's sheet counts audiences, × sex where the current
revision uses it), one count column per kind, pre-filled with the period's current revision,
so a correction is "download, change, upload". `grid.py` reads it back unchanged."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from contracts.catalog import load_catalog
from contracts.indicators import CellKind
from contracts.reports import MAX_COUNT, period_bounds
from services.intake.domain import ReportTemplate
from services.intake.spreadsheets.grid import column_letter, french_number
from services.intake.spreadsheets.vocabulary import (
    FIELD_LABELS,
    INSTRUCTIONS,
    KIND_LABELS,
    LABEL_COLUMNS,
    PERIOD_LABEL,
    PROJECT_LABEL,
    SHEET,
)

Coordinates = tuple[str, str, str | None, str | None]  # region, level, audience, sex
MONTHS = ("janvier", "juillet")


def rows(template: ReportTemplate) -> tuple[list[str], list[list[str | int | None]]]:
    """The header and rows of the template, as both formats write them."""
    catalog = load_catalog()
    used = {t.selector.audience for t in catalog.sheets[template.sheet].targets}
    sheet_audiences = [a for a in catalog.audiences if a in used]
    counted: dict[Coordinates, dict[CellKind, int]] = {}
    for region in sorted(template.regions):
        for level in catalog.levels:
            for audience in [None, *sheet_audiences]:
                counted[(region, level, audience, None)] = {}
    for cell in template.cells:
        counted.setdefault((cell.region, cell.level, cell.audience, cell.sex), {})[cell.kind] = (
            cell.count
        )
    with_audience = any(c[2] for c in counted)
    with_sex = any(c[3] for c in counted)
    header = [FIELD_LABELS["region"], LABEL_COLUMNS["region"]]
    header += [FIELD_LABELS["level"], LABEL_COLUMNS["level"]]
    if with_audience:
        header += [FIELD_LABELS["audience"], LABEL_COLUMNS["audience"]]
    if with_sex:
        header += [FIELD_LABELS["sex"]]
    header += list(KIND_LABELS.values())
    body: list[list[str | int | None]] = []
    for (region, level, audience, sex), counts in counted.items():
        row: list[str | int | None] = [region, catalog.regions[region].name]
        row += [level, catalog.levels[level].label]
        if with_audience:
            row += [audience, catalog.audiences[audience].label if audience else "tous publics"]
        if with_sex:
            row += [sex]
        row += [counts.get(kind) for kind in KIND_LABELS]
        body.append(row)
    return header, body


def csv_template(template: ReportTemplate) -> bytes:
    """`;`-separated UTF-8 with a BOM and CRLF: French Excel opens it as it is."""
    header, body = rows(template)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue().encode("utf-8-sig")


def xlsx_template(template: ReportTemplate) -> bytes:
    header, body = rows(template)
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook has one sheet
    sheet.title = SHEET
    sheet.append(header)
    for row in body:
        sheet.append(row)
    bold, grey = Font(bold=True), PatternFill("solid", fgColor="DDDDDD")
    for column, name in enumerate(header):
        cell = sheet.cell(row=1, column=column + 1)
        cell.font, cell.fill = bold, grey
        cell.alignment = Alignment(wrap_text=True)
        sheet.column_dimensions[column_letter(column)].width = max(12, min(len(name) + 4, 40))
    codes = {FIELD_LABELS[f] for f in ("region", "level", "audience", "sex")}
    for column in (c for c, name in enumerate(header) if name in codes):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            cell.number_format = "@"  # a code stays text: "01" is not the number 1
    for column in (1, 3):
        sheet.column_dimensions[column_letter(column)].width = 45
    first_count = len(header) - len(KIND_LABELS)
    counts = (
        f"{column_letter(first_count)}2:{column_letter(len(header) - 1)}{max(2, len(body) + 1)}"
    )
    validation = DataValidation(
        type="whole",
        operator="between",
        formula1="0",
        formula2=str(MAX_COUNT),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Nombre entier attendu",
        error=f"Saisissez un nombre entier entre 0 et {french_number(MAX_COUNT)}, "
        "ou laissez la cellule vide.",
    )
    validation.add(counts)
    sheet.add_data_validation(validation)
    sheet.freeze_panes = f"{column_letter(first_count)}2"
    _instructions(workbook.create_sheet(INSTRUCTIONS), template)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _instructions(sheet: Worksheet, template: ReportTemplate) -> None:
    catalog = load_catalog()
    first, last = period_bounds(template.period)
    revision = (
        f"révision {template.revision} (pré-remplie)"
        if template.revision is not None
        else "aucune : premier rapport de la période"
    )
    stated: Sequence[tuple[str, str]] = [
        ("Projet", template.name),
        (PROJECT_LABEL, str(template.project_id)),
        ("Fiche thématique", catalog.sheets[template.sheet].name),
        (PERIOD_LABEL, template.period),
        ("Dates", f"du {first:%d/%m/%Y} au {last:%d/%m/%Y}"),
        ("Révision actuelle", revision),
    ]
    sheet.append(["Rapport d'indicateurs — AMI Compétences et Métiers d'Avenir"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    for label, value in stated:
        sheet.append([label, value])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    sheet.append([])
    for line in (
        "Comment remplir",
        f"1. Saisissez les effectifs de la période dans la feuille « {SHEET} » : une ligne par "
        "région et niveau (et public), une colonne par type.",
        "2. « formés » : personnes formées ou certifiées ; « dont en alternance » : parmi les "
        "formés, celles en alternance (jamais plus que les formés de la même ligne) ; "
        "« sensibilisés » : personnes sensibilisées.",
        f"3. Des nombres entiers de 0 à {french_number(MAX_COUNT)}. Une cellule vide n'est pas "
        "déclarée ; 0 déclare zéro. Pas de formule sans valeur, pas de cellules fusionnées.",
        "4. Chaque personne est comptée une fois : dans la région où se déroule la formation, "
        "à son niveau, et (si la colonne existe) dans un seul public.",
        "5. Ne renommez ni les feuilles ni les colonnes ; vous pouvez supprimer des lignes vides "
        "ou en ajouter (régions déclarées par le projet uniquement).",
        "6. Envoyez le fichier tel quel : il remplace entièrement la révision actuelle de la "
        "période. Vérifiez-le d'abord sans rien enregistrer avec ?dry_run=true.",
    ):
        sheet.append([line])
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 60
