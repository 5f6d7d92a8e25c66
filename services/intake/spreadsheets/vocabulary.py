"""The words a report spreadsheet may use: column names (French or the API's English), the
kinds as the template names its columns, and how a typed label is compared (case, accents
and spacing ignored, as a person reading the sheet would)."""

from __future__ import annotations

import unicodedata

from contracts.indicators import CellKind

SHEET = "Rapport"
"""The sheet of a workbook that holds the report."""
INSTRUCTIONS = "Instructions"
"""The template's sheet that states the project and the period."""
PERIOD_LABEL, PROJECT_LABEL = "Période", "Identifiant du projet"

KIND_LABELS = {
    CellKind.TRAINED: "formés",
    CellKind.ALTERNANCE: "dont en alternance",
    CellKind.SENSITISED: "sensibilisés",
}
"""The wide layout's count columns, in the template's order."""

FIELD_LABELS = {
    "region": "région",
    "level": "niveau",
    "audience": "public",
    "sex": "sexe",
    "kind": "type",
    "count": "effectif",
}
"""How a message names a coordinate column."""

LABEL_COLUMNS = {
    "region": "nom de la région",
    "level": "libellé du niveau",
    "audience": "libellé du public",
}
"""Columns the template adds for the reader; their content is not read."""


def normal(text: str) -> str:
    """`text` as compared: lower case, without accents, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.lower().split())


COORDINATE_HEADERS = {
    "kind": {"kind", "type"},
    "level": {"level", "niveau"},
    "region": {"region", "code region"},
    "sex": {"sex", "sexe"},
    "audience": {"audience", "public"},
    "count": {"count", "effectif", "nombre"},
}
KIND_HEADERS = {
    CellKind.TRAINED: {"trained", "formes"},
    CellKind.ALTERNANCE: {"alternance", "dont en alternance"},
    CellKind.SENSITISED: {"sensitised", "sensibilises"},
}
KIND_VALUES = {name: kind for kind, names in KIND_HEADERS.items() for name in names}
"""A long layout's `kind` cell, in either language."""
IGNORED_HEADERS = {normal(label) for label in LABEL_COLUMNS.values()}
HEADERS: dict[str, str | CellKind] = {
    **{name: field for field, names in COORDINATE_HEADERS.items() for name in names},
    **{name: kind for kind, names in KIND_HEADERS.items() for name in names},
}
"""Every column name read, normalised, to the field or kind it holds."""
