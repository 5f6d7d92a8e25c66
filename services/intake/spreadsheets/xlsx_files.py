"""`.xlsx` workbooks, checked before they are read: a workbook is a zip of XML parts, so a
hostile one can expand a 2 MB upload into gigabytes, hide macros, or carry formulas.

- Every part is decompressed here first, through `zipfile`, which stops at the size the
  archive declares and checks the CRC: the declared sizes are bounded (each part, the whole)
  before anything is inflated, and an archive that lies about them is refused.
- Macros (`vbaProject.bin`, a macro-enabled content type) are refused.
- Formulas are never evaluated: python-calamine reads a formula cell's cached value; a count
  cell whose formula has no cached value (a file never opened in a spreadsheet program) is
  refused rather than read as blank.
- Only the sheet `Rapport` is read (and `Instructions`, for the period and project the
  template states); merged cells there and more rows than a report may hold are refused.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Sequence
from xml.etree import ElementTree

from python_calamine import CalamineError, CalamineWorkbook

from contracts.reports import MAX_CELLS
from services.intake.spreadsheets.grid import Grid, Place, Stated, Value, column_letter
from services.intake.spreadsheets.vocabulary import (
    INSTRUCTIONS,
    PERIOD_LABEL,
    PROJECT_LABEL,
    SHEET,
    normal,
)
from services.runtime.errors import FieldError, Unprocessable

MAX_PARTS = 200
MAX_PART_BYTES = 16 * 2**20
MAX_SHARED_STRINGS_BYTES = 4 * 2**20
MAX_TOTAL_BYTES = 40 * 2**20
MAX_ROWS = MAX_CELLS + 100  # a header, title or blank rows beside the cells
MAX_COLUMNS = 50
MAX_MERGED_LISTED = 20  # a sheet may hold thousands: the first ones tell what to fix
INSTRUCTION_ROWS = 50
NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}
FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
CELL = re.compile(
    rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"[^>]*(?<!/)>(.*?)</(?:\w+:)?c>', re.S
)
CACHED = re.compile(rb"<(?:\w+:)?v>[^<]+</(?:\w+:)?v>|<(?:\w+:)?is>")
INFLATE_ERRORS = (
    zipfile.BadZipFile,  # also a CRC or size that does not match what the archive declares
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    RuntimeError,  # an encrypted part
    NotImplementedError,  # a compression method or zip version zipfile does not know
    ValueError,
    OSError,
)
CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')
CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s>/]")


def _refused(reason: str) -> Unprocessable:
    return Unprocessable([FieldError(("body",), reason)])


def xlsx_grid(body: bytes) -> tuple[Grid, Stated]:
    parts = _parts(body)
    sheet_paths = _sheet_paths(parts)
    name = next((n for n in sheet_paths if normal(n) == normal(SHEET)), None)
    if name is None:
        found = ", ".join(f"« {n} »" for n in sheet_paths) or "aucune"
        raise _refused(f"feuille « {SHEET} » introuvable ; feuilles du classeur : {found}")
    sheet_names = {path: sheet_name for sheet_name, path in sheet_paths.items()}
    for path, data in parts.items():
        if b"<sheetData" in data:  # any worksheet, however the workbook's links name it
            _check_extent(sheet_names.get(path, path), data)
    xml = parts.get(sheet_paths[name], b"")
    problems = _uncached_formulas(name, xml)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(body))
        sheet = workbook.get_sheet_by_name(name)
        merged = sheet.merged_cell_ranges or []
        rows: Sequence[Sequence[Value]] = sheet.to_python(skip_empty_area=False)
        stated = _stated(workbook, sheet_paths)
    except (CalamineError, ValueError, OSError) as exc:
        raise _refused(f"classeur illisible : {exc}") from None
    for (top, left), (bottom, right) in merged[:MAX_MERGED_LISTED]:
        span = f"{column_letter(left)}{top + 1}:{column_letter(right)}{bottom + 1}"
        problems.append(
            Place(name, top + 1, left).error(
                f"cellules fusionnées {span} : défusionnez-les, une valeur par cellule"
            )
        )
    if len(merged) > MAX_MERGED_LISTED:
        more = len(merged) - MAX_MERGED_LISTED
        problems.append(FieldError(("body",), f"feuille {name} : {more} autres plages fusionnées"))
    if problems:
        raise Unprocessable(problems)
    return Grid(name, rows), stated


def _parts(body: bytes) -> dict[str, bytes]:
    """Every part, inflated within the bounds; what is not an `.xlsx` workbook is refused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
        entries = archive.infolist()
    except INFLATE_ERRORS:
        raise _refused("ce fichier n'est pas un classeur .xlsx (archive illisible)") from None
    if len(entries) > MAX_PARTS:
        raise _refused(f"classeur refusé : plus de {MAX_PARTS} parties")
    names = {e.filename for e in entries}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _refused("ce fichier n'est pas un classeur .xlsx (enregistrez-le au format .xlsx)")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise _refused("classeur avec macros refusé : enregistrez-le au format .xlsx sans macros")
    if sum(e.file_size for e in entries) > MAX_TOTAL_BYTES:
        raise _refused("classeur refusé : son contenu décompressé est trop volumineux")
    for e in entries:
        limit = MAX_SHARED_STRINGS_BYTES if e.filename.endswith("sharedStrings.xml") else None
        if e.file_size > (limit or MAX_PART_BYTES):
            raise _refused(f"classeur refusé : la partie {e.filename} est trop volumineuse")
    parts: dict[str, bytes] = {}
    try:
        for e in entries:
            with archive.open(e) as part:  # stops at the declared size, checks the CRC
                parts[e.filename] = part.read(e.file_size + 1)
            if len(parts[e.filename]) != e.file_size:
                raise zipfile.BadZipFile(e.filename)
    except INFLATE_ERRORS:
        raise _refused(
            "classeur refusé : archive incohérente (tailles ou sommes de contrôle)"
        ) from None
    if b"macroEnabled" in parts["[Content_Types].xml"]:
        raise _refused("classeur avec macros refusé : enregistrez-le au format .xlsx sans macros")
    return parts


def _check_extent(sheet: str, xml: bytes) -> None:
    """python-calamine holds a sheet as a dense grid from A1 to its last cell: one cell at
    XFD1000000 would ask for hundreds of gigabytes and abort the process. So every cell must
    say where it is, and the last row and column are bounded before it reads anything."""
    refs = CELL_REF.findall(xml)
    if len(refs) != len(CELL_TAG.findall(xml)):
        raise _refused(f"feuille {sheet} : des cellules sans référence (classeur mal formé)")
    last_row = max(map(int, {row for _, row in refs}), default=0)
    last_column = max(map(_column_index, {column for column, _ in refs}), default=0)
    if last_row > MAX_ROWS:
        raise _refused(f"feuille {sheet} : plus de {MAX_ROWS} lignes")
    if last_column > MAX_COLUMNS:
        raise _refused(f"feuille {sheet} : plus de {MAX_COLUMNS} colonnes")


def _column_index(letters: bytes) -> int:
    """b"A" → 1, b"AA" → 27."""
    return sum((ord(c) - 64) * 26**i for i, c in enumerate(reversed(letters.decode())))


def _sheet_paths(parts: dict[str, bytes]) -> dict[str, str]:
    """Each sheet's name → the path of its part."""
    try:
        workbook = ElementTree.fromstring(parts["xl/workbook.xml"])
        rels = ElementTree.fromstring(parts.get("xl/_rels/workbook.xml.rels", b"<x/>"))
    except ElementTree.ParseError:
        raise _refused("classeur illisible : xl/workbook.xml n'est pas du XML valide") from None
    targets = {r.get("Id"): str(r.get("Target", "")) for r in rels.findall("p:Relationship", NS)}
    paths: dict[str, str] = {}
    for sheet in workbook.findall("m:sheets/m:sheet", NS):
        target = targets.get(sheet.get(f"{{{NS['r']}}}id"), "")
        paths[str(sheet.get("name", ""))] = (
            target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        )
    return paths


def _uncached_formulas(sheet: str, xml: bytes) -> list[FieldError]:
    """Formula cells without a cached value, which would otherwise read as blank."""
    if not FORMULA.search(xml):
        return []
    problems: list[FieldError] = []
    for cell in CELL.finditer(xml):
        content = cell[3]
        if FORMULA.search(content) and not CACHED.search(content):
            problems.append(
                Place(sheet, int(cell[2]), _column_index(cell[1]) - 1).error(
                    "formule sans valeur calculée : ouvrez et enregistrez le classeur dans un "
                    "tableur, ou saisissez le nombre"
                )
            )
    return problems


def _stated(workbook: CalamineWorkbook, sheet_paths: dict[str, str]) -> Stated:
    """The period and project the template's `Instructions` sheet states, if there is one."""
    name = next((n for n in sheet_paths if normal(n) == normal(INSTRUCTIONS)), None)
    if name is None:
        return Stated()
    rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=INSTRUCTION_ROWS)
    found: dict[str, tuple[str, Place]] = {}
    for number, row in enumerate(rows, start=1):
        if len(row) >= 2 and str(row[1]).strip():
            found[normal(str(row[0]))] = (str(row[1]).strip(), Place(name, number, 1))
    return Stated(period=found.get(normal(PERIOD_LABEL)), project=found.get(normal(PROJECT_LABEL)))
