"""Spreadsheet files as projects' tools write them, and hostile ones: workbooks written by
openpyxl, their parts replaced or added, archives whose declared sizes lie."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WIDE = ["Région", "Nom de la région", "Niveau", "Formés", "Dont en alternance", "Sensibilisés"]


def workbook(
    rows: Sequence[Sequence[Any]],
    *,
    title: str = "Rapport",
    setup: Callable[[Worksheet], None] | None = None,
) -> bytes:
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    if setup is not None:
        setup(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sheet_values(body: bytes, title: str = "Rapport") -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(body))[title]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def fill(body: bytes, counts: dict[tuple[str, str], tuple[Any, ...]]) -> bytes:
    """The template `body` with (region, level) rows' count columns set (the last three)."""
    book = load_workbook(io.BytesIO(body))
    sheet = book["Rapport"]
    for row in sheet.iter_rows(min_row=2):
        values = counts.get((str(row[0].value), str(row[2].value)))
        if values is not None:
            for cell, value in zip(row[-3:], values, strict=True):
                cell.value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rezip(
    body: bytes,
    *,
    replace: Callable[[str, bytes], bytes] = lambda name, data: data,
    add: dict[str, bytes] | None = None,
) -> bytes:
    """`body` with each part passed through `replace` and the parts of `add` added."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(body)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, replace(info.filename, source.read(info)))
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def lying_sizes(body: bytes, part: str, declared: int) -> bytes:
    """`body` with `part`'s uncompressed size declared as `declared`, in its local header and
    in the central directory: what a zip bomb does to pass a size check."""
    data = bytearray(body)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        info = archive.getinfo(part)
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_length] == part.encode():
            struct.pack_into("<I", data, central + 24, declared)
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)
