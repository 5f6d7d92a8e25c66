"""CSV files as French tools write them: `;` or `,` (told by the header), UTF-8 with or without
a BOM or Windows-1252 (what French Excel saves as "CSV (séparateur : point-virgule)"), CRLF,
blank trailing lines and columns. The `charset` of the Content-Type, when given, decides."""

from __future__ import annotations

import codecs
import csv
import io

from services.intake.spreadsheets.grid import Grid
from services.intake.spreadsheets.vocabulary import HEADERS, IGNORED_HEADERS, normal
from services.runtime.errors import FieldError, Unprocessable

DELIMITERS = (";", ",")


def csv_grid(body: bytes, charset: str | None) -> Grid:
    text = _decode(body, charset)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    try:
        rows.extend(reader)  # one row per record, as a spreadsheet numbers them
    except csv.Error as exc:  # a field over csv.field_size_limit(), a NUL byte, a stray quote
        number = len(rows) + 1
        raise Unprocessable(
            [FieldError(("body", "row", number), f"ligne {number} : {exc}")]
        ) from None
    return Grid(None, rows)


def _decode(body: bytes, charset: str | None) -> str:
    if charset:
        try:
            codec = codecs.lookup(charset).name
        except LookupError:
            raise Unprocessable(
                [FieldError(("header", "Content-Type"), f"jeu de caractères inconnu : {charset}")]
            ) from None
        names = ["utf-8-sig" if codec == "utf-8" else codec]
    else:
        names = ["utf-8-sig", "cp1252"]
    for name in names:
        try:
            return body.decode(name)
        except UnicodeDecodeError as exc:
            failure = exc
    told = f"en {charset}" if charset else "ni en UTF-8 ni en Windows-1252"
    raise Unprocessable(
        [
            FieldError(
                ("body",),
                f"le fichier ne se lit pas {told} : octet 0x{body[failure.start]:02x} "
                f"à la position {failure.start}",
            )
        ]
    )


def _delimiter(text: str) -> str:
    """The separator that splits the header into known column names; failing that, the one
    that splits it into more columns (the header's errors are then reported)."""
    header = next((line for line in text.splitlines() if line.strip(" \t;,")), "")
    fields = {d: _split(header, d) for d in DELIMITERS}

    def known(d: str) -> bool:
        names = [normal(f) for f in fields[d]]
        while names and not names[-1]:
            names.pop()
        return bool(names) and all(n in HEADERS or n in IGNORED_HEADERS for n in names)

    fitting = [d for d in DELIMITERS if known(d)]
    if len(fitting) == 1:
        return fitting[0]
    return max(DELIMITERS, key=lambda d: len(fields[d]))


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []
