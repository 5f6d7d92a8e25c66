"""A report read from a grid of values (a workbook's sheet, or a CSV file's rows), in either
layout, with every error at once, each naming its sheet, row and column as a spreadsheet
user sees them ("feuille Rapport, ligne 7, colonne D : nombre entier attendu").

Long layout, one cell per row: `kind, level, region, [sex], [audience], count`.
Wide layout, the template's: `région, niveau, [public], [sexe]` then one column per kind
(`formés`, `dont en alternance`, `sensibilisés`); a blank count is no cell, 0 is a cell.
Column names are matched without regard to case, accents or spacing, in French or English.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError

from contracts.catalog import load_catalog
from contracts.indicators import CellKind, Sex
from contracts.reports import MAX_CELLS, MAX_COUNT, Cell, ReportIn
from services.intake.domain import CellLoc
from services.intake.spreadsheets.vocabulary import (
    FIELD_LABELS,
    HEADERS,
    IGNORED_HEADERS,
    KIND_LABELS,
    KIND_VALUES,
    normal,
)
from services.runtime.errors import FieldError, Unprocessable

Value = str | int | float | bool | date | datetime | time | timedelta | None
"""What a grid cell holds: text from a CSV file; text, numbers, booleans or dates from a
workbook (a formula's cached value, never the formula)."""

DIGITS = re.compile(r"[0-9]{1,8}")
GROUPED = re.compile(r"[0-9]{1,3}(?:[ \u00a0\u202f\u2009][0-9]{3}){1,2}")
"""`1 200`, with a space, a non-breaking or a thin space between groups of three digits."""
SEXES = frozenset(s.value for s in Sex)
LONG = ("kind", "level", "region", "count")
WIDE = ("level", "region")


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: the column as a spreadsheet names it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def french_number(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


@dataclass(frozen=True, slots=True)
class Place:
    """A cell of the grid: `row` counts from 1 and `column` from 0, as `column_letter` shows."""

    sheet: str | None
    row: int
    column: int | None = None

    def __str__(self) -> str:
        where = f"ligne {self.row}"
        if self.column is not None:
            where += f", colonne {column_letter(self.column)}"
        return f"feuille {self.sheet}, {where}" if self.sheet else where

    @property
    def loc(self) -> tuple[str | int, ...]:
        """The row in a problem's `loc`: `("body", "row", 7)` or with the sheet's name."""
        sheet: tuple[str, ...] = ("sheet", self.sheet) if self.sheet else ()
        return ("body", *sheet, "row", self.row)

    def error(self, reason: str, field_name: str | None = None) -> FieldError:
        loc = self.loc if field_name is None else (*self.loc, field_name)
        return FieldError(loc, f"{self} : {reason}")


@dataclass(frozen=True, slots=True)
class Grid:
    """The rows of one sheet from its first (row 1); `sheet` is None for a CSV file."""

    sheet: str | None
    rows: Sequence[Sequence[Value]]


@dataclass(frozen=True, slots=True)
class Stated:
    """What a template states outside the grid: the period and project it was made for."""

    period: tuple[str, Place] | None = None
    project: tuple[str, Place] | None = None


@dataclass(frozen=True, slots=True)
class SpreadsheetReport:
    """A report read from a file, and where each of its cells came from."""

    report: ReportIn
    places: tuple[Place, ...]

    @property
    def cell_loc(self) -> CellLoc:
        return lambda index: self.places[index].loc


@dataclass(slots=True)
class _Reading:
    sheet: str | None
    problems: list[FieldError] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)


def read_grid(
    grid: Grid, *, period: str | None, reason: str | None, stated: Stated = Stated()
) -> SpreadsheetReport:
    """The report in `grid`, or `Unprocessable` listing every problem found."""
    reading = _Reading(grid.sheet)
    period = _period(period, stated, reading.problems)
    rows = _filled_rows(grid.rows)
    header = next(rows, None)
    if header is None:
        raise Unprocessable([Place(grid.sheet, 1).error("le fichier ne contient aucune ligne")])
    columns = _columns(reading, *header)
    if columns is None:
        raise Unprocessable(reading.problems)
    for number, values in rows:
        _read_row(reading, columns, number, values)
        if len(reading.cells) > MAX_CELLS:
            reading.problems.append(
                Place(grid.sheet, number).error(
                    f"plus de {french_number(MAX_CELLS)} cellules : un rapport en compte "
                    f"au plus {french_number(MAX_CELLS)}"
                )
            )
            break
    if not reading.cells and not reading.problems:
        reading.problems.append(
            Place(grid.sheet, header[0]).error("aucun effectif : toutes les cellules sont vides")
        )
    _check_together(reading)
    if reading.problems:
        raise Unprocessable(reading.problems)
    try:
        report = ReportIn(period=period or "", reason=reason, cells=reading.cells)
    except ValidationError as exc:
        raise Unprocessable(
            [FieldError(("query", *e["loc"]), e["msg"]) for e in exc.errors()]
        ) from None
    return SpreadsheetReport(report, tuple(reading.places))


def _period(period: str | None, stated: Stated, problems: list[FieldError]) -> str | None:
    if period and stated.period and normal(stated.period[0]) != normal(period):
        problems.append(
            FieldError(
                ("query", "period"),
                f"la période demandée ({period}) n'est pas celle du modèle "
                f"({stated.period[0]}, {stated.period[1]})",
            )
        )
    period = period or (stated.period[0] if stated.period else None)
    if not period:
        problems.append(
            FieldError(
                ("query", "period"), "période manquante : ajoutez ?period=AAAA-S1 (ou AAAA-S2)"
            )
        )
    return period.strip().upper() if period else None


def _filled_rows(rows: Sequence[Sequence[Value]]) -> Iterator[tuple[int, Sequence[Value]]]:
    """Rows with something in them, numbered from 1: blank lines are no rows."""
    for number, values in enumerate(rows, start=1):
        if any(_text(v) for v in values):
            yield number, values


@dataclass(frozen=True, slots=True)
class _Columns:
    fields: dict[str, int]  # coordinate (and, long layout, `count`) → column
    kinds: dict[CellKind, int]  # wide layout: kind → its count column
    width: int  # columns past it must be blank


def _columns(reading: _Reading, number: int, values: Sequence[Value]) -> _Columns | None:
    before = len(reading.problems)  # a missing period is not the header's
    names = [normal(_text(v)) for v in values]
    while names and not names[-1]:
        names.pop()  # blank trailing columns
    place = Place(reading.sheet, number)
    found: dict[str | CellKind, int] = {}
    for column, name in enumerate(names):
        key = HEADERS.get(name)
        here = Place(reading.sheet, number, column)
        if name in IGNORED_HEADERS:
            continue
        if key is None:
            what = f"colonne « {_text(values[column])} » inconnue" if name else "colonne sans nom"
            reading.problems.append(here.error(f"en-tête : {what}"))
        elif key in found:
            reading.problems.append(here.error(f"en-tête : colonne « {name} » en double"))
        else:
            found[key] = column
    kinds = {k: c for k, c in found.items() if isinstance(k, CellKind)}
    fields = {str(k): c for k, c in found.items() if not isinstance(k, CellKind)}
    required = WIDE if kinds else LONG
    if kinds and ("kind" in fields or "count" in fields):
        reading.problems.append(
            place.error(
                "en-tête : soit une colonne par type (formés, dont en alternance, "
                "sensibilisés), soit les colonnes type et effectif, pas les deux"
            )
        )
    missing = [FIELD_LABELS[f] for f in required if f not in fields]
    if missing:
        layouts = (
            "attendu : région, niveau, puis formés, dont en alternance, sensibilisés "
            "(ou, une cellule par ligne : kind, level, region, sex, audience, count)"
        )
        reading.problems.append(
            place.error(f"en-tête : colonnes manquantes {', '.join(missing)} ; {layouts}")
        )
    if len(reading.problems) > before:
        return None
    return _Columns(fields, kinds, len(names))


def _read_row(reading: _Reading, columns: _Columns, number: int, values: Sequence[Value]) -> None:
    sheet, problems = reading.sheet, reading.problems
    for column in range(columns.width, len(values)):
        if _text(values[column]):
            problems.append(
                Place(sheet, number, column).error("valeur hors des colonnes de l'en-tête")
            )
            return
    if len(values) < columns.width and sheet is None:
        problems.append(
            Place(sheet, number).error(
                f"nombre de colonnes incorrect : {len(values)} au lieu de {columns.width}"
            )
        )
        return

    width = len(values)

    def value(column: int) -> Value:
        return values[column] if column < width else None

    counts: list[tuple[CellKind | None, Place, Value]] = (
        [
            (kind, Place(sheet, number, c), value(c))
            for kind, c in columns.kinds.items()
            if _text(value(c))
        ]
        if columns.kinds
        else [(None, Place(sheet, number, columns.fields["count"]), value(columns.fields["count"]))]
    )
    if not counts:
        return  # a template row left blank
    before = len(problems)
    coordinates = {
        name: _coordinate(name, value(c), Place(sheet, number, c), problems)
        for name, c in columns.fields.items()
        if name != "count"
    }
    parsed = [
        (kind, place, _count(raw, place, "count" if kind is None else kind.value, problems))
        for kind, place, raw in counts
    ]
    if len(problems) > before:
        return
    for kind, place, count in parsed:
        wide = {"kind": kind} if kind is not None else {}  # long: `kind` is a coordinate
        reading.cells.append(Cell.model_validate({**coordinates, **wide, "count": count}))
        reading.places.append(place)


def _coordinate(name: str, raw: Value, place: Place, problems: list[FieldError]) -> Any:
    text = _text(raw)
    if not text and name in ("sex", "audience"):
        return None
    value, reason = _read_coordinate(name, text)
    if reason is not None:
        problems.append(place.error(reason, name))
    return value


@functools.lru_cache(maxsize=4096)
def _read_coordinate(name: str, text: str) -> tuple[Any, str | None]:
    """A coordinate's value and, when it is wrong, why. Cached: a file repeats a few values."""
    label = FIELD_LABELS[name]
    catalog = load_catalog()
    if not text:
        return None, f"{label} manquant(e)"
    if name == "kind":
        kind = KIND_VALUES.get(normal(text))
        known = ", ".join(f"{k.value} ({label})" for k, label in KIND_LABELS.items())
        return kind, None if kind is not None else f"type inconnu « {text} » : attendu {known}"
    if name == "region":
        code = text.zfill(2) if text.isascii() and text.isdigit() else text
        if code not in catalog.regions:
            return code, f"région inconnue « {text} » : code INSEE à 2 chiffres attendu"
        return code, None
    if name == "sex":
        if text.upper() not in SEXES:
            return text, f"sexe inconnu « {text} » : F, M ou vide attendu"
        return text.upper(), None
    known_codes = catalog.levels if name == "level" else catalog.audiences
    if text.lower() not in known_codes:
        return text, f"{label} inconnu « {text} » : attendu {', '.join(known_codes)}"
    return text.lower(), None


def _count(raw: Value, place: Place, field_name: str, problems: list[FieldError]) -> int:
    """A whole number 0..MAX_COUNT; `1 200` with a (thin, non-breaking) space is 1200."""
    count: int | None = None
    if isinstance(raw, bool) or isinstance(raw, date | time | timedelta):
        pass
    elif isinstance(raw, int):
        count = raw
    elif isinstance(raw, float):
        count = int(raw) if raw.is_integer() and abs(raw) <= 2 * MAX_COUNT else None
    elif isinstance(raw, str):
        text = raw.strip()
        negative = text.startswith("-")
        digits = text[1:] if negative else text
        if DIGITS.fullmatch(digits) or GROUPED.fullmatch(digits):
            count = int(re.sub(r"\D", "", digits)) * (-1 if negative else 1)
    if count is None:
        shown = _text(raw) if not isinstance(raw, date | time | timedelta) else "une date"
        problems.append(place.error(f"nombre entier attendu, lu « {shown} »", field_name))
        return 0
    if not 0 <= count <= MAX_COUNT:
        problems.append(
            place.error(
                f"nombre entier entre 0 et {french_number(MAX_COUNT)} attendu, lu {count}",
                field_name,
            )
        )
    return count


def _check_together(reading: _Reading) -> None:
    """A cell appears once; `dont en alternance` does not exceed `formés` at its coordinates."""
    seen: dict[tuple[object, ...], Place] = {}
    trained: dict[tuple[object, ...], int] = {}
    for cell, place in zip(reading.cells, reading.places, strict=True):
        key = (cell.kind, *cell.coordinates)
        if key in seen:
            reading.problems.append(
                place.error(f"cellule en double : déjà donnée {seen[key]}", cell.kind.value)
            )
        seen.setdefault(key, place)
        if cell.kind is CellKind.TRAINED:
            trained[cell.coordinates] = cell.count
    for cell, place in zip(reading.cells, reading.places, strict=True):
        if cell.kind is CellKind.ALTERNANCE and cell.count > trained.get(cell.coordinates, 0):
            reading.problems.append(
                place.error(
                    f"dont en alternance ({cell.count}) dépasse formés "
                    f"({trained.get(cell.coordinates, 0)}) pour les mêmes niveau, région, "
                    "sexe et public",
                    cell.kind.value,
                )
            )


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
