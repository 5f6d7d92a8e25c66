"""Business gauges, computed from the database at scrape time (see docs/metrics.md).

Label sets are bounded by the catalog: sheets (7) × kinds (3) × levels (8), regions (18),
sexes (3) or periods; targets (≈ 25). No family crosses projects with levels or regions.
"""

from __future__ import annotations

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from services.indicator.domain import coverage, totals_by
from services.indicator.figures import Figures
from services.indicator.project_metrics import project_families

P = "cma_indicator_"


def _gauge(name: str, doc: str, labels: list[str], values: dict[tuple[str, ...], float]) -> Metric:
    family = GaugeMetricFamily(P + name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


async def business_families(figures: Figures) -> list[Metric]:
    catalog = figures.catalog
    tallies = await figures.queries.tallies()
    funded = await figures.queries.funded_regions()
    projects = await figures.queries.sheet_projects()
    delivered: dict[str, set[str]] = {s: set() for s in catalog.sheets}
    for (sheet, region), n in totals_by(tallies, "sheet", "region").items():
        if n > 0:
            delivered.setdefault(sheet, set()).add(region)

    targets: dict[str, dict[tuple[str, ...], float]] = {
        k: {} for k in ("actual", "target", "progress", "expected", "behind")
    }
    for sheet in catalog.sheets:
        for row in figures.sheet_progress(sheet, tallies)["targets"]:
            for k in targets:
                targets[k][(sheet, row["target_id"])] = float(row[k])

    covered: dict[tuple[str, ...], float] = {}
    uncovered_share: dict[tuple[str, ...], float] = {}
    for sheet in catalog.sheets:
        for kind, regions in (
            ("funded", funded.get(sheet, set())),
            ("delivered", delivered[sheet]),
        ):
            for code in catalog.regions:
                covered[(sheet, code, kind)] = float(code in regions)
            uncovered_share[(sheet, kind)] = coverage(regions, catalog)[
                "uncovered_population_share"
            ]
    for kind, regions in (
        ("funded", set().union(*funded.values())),
        ("delivered", {t.region for t in tallies if t.count > 0}),
    ):
        uncovered_share[("all", kind)] = coverage(regions, catalog)["uncovered_population_share"]

    tl = ["sheet", "target"]
    return [
        *await project_families(figures),
        _gauge(
            "target_behind",
            "1 when a sheet target's progress is below its trajectory by more than the tolerance.",
            tl,
            targets["behind"],
        ),
        _gauge(
            "people",
            "People reported (latest revisions), by sheet and kind.",
            ["sheet", "kind"],
            totals_by(tallies, "sheet", "kind"),
        ),
        _gauge(
            "people_by_level",
            "People reported by sheet, kind and canonical level.",
            ["sheet", "kind", "level"],
            totals_by(tallies, "sheet", "kind", "level"),
        ),
        _gauge(
            "people_by_region",
            "People reported by sheet, kind and region (INSEE code).",
            ["sheet", "kind", "region"],
            totals_by(tallies, "sheet", "kind", "region"),
        ),
        _gauge(
            "people_by_sex",
            'People reported by sheet, kind and sex ("" = not reported).',
            ["sheet", "kind", "sex"],
            totals_by(tallies, "sheet", "kind", "sex"),
        ),
        _gauge(
            "people_by_period",
            "People reported by sheet, kind and semester.",
            ["sheet", "kind", "period"],
            totals_by(tallies, "sheet", "kind", "period"),
        ),
        _gauge(
            "target_actual", "People matching a sheet target's selector.", tl, targets["actual"]
        ),
        _gauge("target_value", "A sheet target's quantified value.", tl, targets["target"]),
        _gauge(
            "target_progress_ratio", "actual / value for a sheet target.", tl, targets["progress"]
        ),
        _gauge(
            "target_expected_ratio",
            "Share of the target expected today on the trajectory.",
            tl,
            targets["expected"],
        ),
        _gauge(
            "region_covered",
            "1 when the region is covered (funded or delivered) for the sheet.",
            ["sheet", "region", "coverage"],
            covered,
        ),
        _gauge(
            "uncovered_population_share",
            'Share of the population in uncovered regions (sheet="all": every sheet together).',
            ["sheet", "coverage"],
            uncovered_share,
        ),
        _gauge(
            "projects",
            "Active funded projects per sheet.",
            ["sheet"],
            {(s,): n for s, (n, _) in projects.items()},
        ),
        _gauge(
            "funding_euros",
            "Funding of active projects per sheet, in euros.",
            ["sheet"],
            {(s,): f for s, (_, f) in projects.items()},
        ),
    ]
