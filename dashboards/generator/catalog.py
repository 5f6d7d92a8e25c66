"""What the dashboards take from the reference catalog: the programme's names for sheets,
targets, levels and regions (value mappings on label values), and each region's prefecture
coordinates (the map's markers, through the `cma:region_location:info` recording rules)."""

from __future__ import annotations

from typing import Any

from contracts.catalog import load_catalog
from dashboards.generator.grafana import Json, value_map

CATALOG = load_catalog()

SHEETS = {sheet_id: sheet.name for sheet_id, sheet in CATALOG.sheets.items()}
TARGETS = {t.id: t.label for sheet in CATALOG.sheets.values() for t in sheet.targets}
LEVELS = {code: level.label.split(" (")[0] for code, level in CATALOG.levels.items()}
REGIONS = {code: region.name for code, region in CATALOG.regions.items()}
OVERSEAS = [code for code in CATALOG.regions if code.startswith("0")]  # INSEE 01-06: DROM
KINDS = {"trained": "Formés", "sensitised": "Sensibilisés", "alternance": "dont en alternance"}
READINGS = {"as_reported": "Telle que déclarée", "approved": "Approuvée"}  # docs/review.md
COVERAGE = {"funded": "Financée (projet actif déclarant la région)", "delivered": "Réalisée"}
MILESTONE_STATUS = {
    "pending": "À venir",
    "at_risk": "À risque",
    "overdue": "En retard",
    "met": "Atteint",
    "met_late": "Atteint en retard",
}
STATUS_COLORS = {"at_risk": "orange", "overdue": "red", "met": "green", "met_late": "yellow"}

SHEET_NAMES = value_map(SHEETS)
TARGET_NAMES = value_map(TARGETS)
LEVEL_NAMES = value_map(LEVELS)
REGION_NAMES = value_map(REGIONS)
KIND_NAMES = value_map(KINDS)
STATUS_NAMES = value_map(MILESTONE_STATUS, STATUS_COLORS)


def sheet_legends(*, prefix: str = "") -> list[Json]:
    """Series overrides showing the sheet's name where a legend shows its id."""
    return [
        {
            "matcher": {"id": "byName", "options": f"{prefix}{sheet_id}"},
            "properties": [{"id": "displayName", "value": name}],
        }
        for sheet_id, name in SHEETS.items()
    ]


def region_rules() -> dict[str, Any]:
    """`cma:region_location:info` = 1 for each region, with its name and its prefecture's
    latitude and longitude as labels: joined `on (region)` by the coverage map."""
    rules = [
        {
            "record": "cma:region_location:info",
            "expr": "vector(1)",
            "labels": {
                "region": code,
                "region_name": region.name,
                "iso_code": region.iso_code,
                "latitude": f"{region.latitude:.4f}",
                "longitude": f"{region.longitude:.4f}",
            },
        }
        for code, region in CATALOG.regions.items()
    ]
    return {"groups": [{"name": "cma-regions", "rules": rules}]}


FORECASTS = {
    "on_track": "Atteinte à l'horizon",
    "late": "Atteinte après l'horizon",
    "unreachable": "Hors d'atteinte au rythme actuel",
    "insufficient_data": "Données insuffisantes",
}
"""The indicator's forecast statuses (docs/insight.md), as the dashboards name them."""
FORECAST_NAMES = value_map(
    FORECASTS,
    {"on_track": "green", "late": "orange", "unreachable": "red", "insufficient_data": "text"},
)
STALENESS = {
    "0": "À jour",
    "1": "1 semestre sans rapport",
    "2": "2 semestres sans rapport",
    "3+": "3 semestres ou plus",
}
"""`cma_indicator_projects_by_staleness`'s buckets: closed semesters unreported since the
project's latest report."""
