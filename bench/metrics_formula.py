"""B7's formula (docs/metrics.md, "Series count"): what each service's `/metrics` may export,
as an exact per-project part plus families bounded by the catalog, and the formula's
variables counted in the database."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.catalog import load_catalog
from contracts.indicators import CellKind, Sex
from services.alerting.domain import AlertKind, DeliveryStatus
from services.indicator import models as ind
from services.indicator.forecast import ForecastStatus
from services.indicator.freshness import STALENESS_BUCKETS
from services.milestone import models as ms

PER_PROJECT_FAMILIES = {
    "cma_indicator_project_people",
    "cma_indicator_commitment_actual",
    "cma_indicator_commitment_value",
    "cma_indicator_commitment_progress_ratio",
    "cma_indicator_commitment_expected_ratio",
    "cma_milestone_lagging_seconds",
    "cma_milestone_lagging_info",
    "cma_milestone_overdue_report_seconds",
    "cma_milestone_overdue_report_info",
}


READINGS = 2
"""The indicator's people-counting families carry a `reading` label: as reported, approved."""


def per_project(service: str, t: Mapping[str, int]) -> int:
    """Exact: indicator 2 × (3 P + 4 K), one per reading; milestone 2 (L + R) (each value and
    its `_info`); the other services 0."""
    if service == "indicator":
        return READINGS * (len(CellKind) * t["active_projects"] + 4 * t["commitments"])
    if service == "milestone":
        return 2 * (t["lagging_milestones"] + t["overdue_reports"])
    return 0


def catalog_bounds(semesters: int) -> dict[str, int]:
    """The most series each business family without a project label may have."""
    c = load_catalog()
    sheets, regions = len(c.sheets), len(c.regions)
    targets = sum(len(s.targets) for s in c.sheets.values())
    sk = sheets * len(CellKind)
    by_reading = (
        {
            "people": sk,
            "people_by_level": sk * len(c.levels),
            "people_by_region": sk * regions,
            "people_by_sex": sk * (len(Sex) + 1),  # "" = not reported
            "people_by_period": sk * semesters,
            "region_covered": sheets * regions * 2,
            "uncovered_population_share": (sheets + 1) * 2,
        }
        | {f"target_{k}": targets for k in ("actual", "value", "progress_ratio")}
        | {f"target_{k}": targets for k in ("expected_ratio", "behind")}
        | {
            # Forecasts (docs/insight.md): one status series per status, the pace and the
            # semesters late of each target once it has them; staleness buckets per sheet.
            "target_forecast": targets * len(ForecastStatus),
            "target_pace_per_semester": targets,
            "target_semesters_late": targets,
            "projects_by_staleness": sheets * len(STALENESS_BUCKETS),
        }
    )
    indicator = {k: READINGS * v for k, v in by_reading.items()} | {
        "projects": sheets,
        "funding_euros": sheets,
        "approved_share": sheets,
    }
    return {f"cma_indicator_{k}": v for k, v in indicator.items()} | {
        "cma_milestone_milestones": sheets * 5,
        "cma_milestone_overdue_reports": sheets,
        "cma_alerting_alerts_firing": len(AlertKind) * sheets,
        "cma_alerting_deliveries": len(DeliveryStatus),
    }


async def terms(engine: AsyncEngine) -> dict[str, int]:
    """P (active projects), K (their commitments), L (milestones at risk or overdue), R
    (reports overdue), S (semesters reported)."""
    p, m, o = ind.projects.c, ms.milestones.c, ms.overdue_reports.c
    commitments = func.coalesce(func.sum(func.jsonb_array_length(p.commitments)), 0)
    queries = {
        "active_projects": select(func.count()).where(p.active),
        "commitments": select(commitments).where(p.active),
        "lagging_milestones": select(func.count()).where(m.status.in_(("at_risk", "overdue"))),
        "overdue_reports": select(func.count()).where(o.cleared_at.is_(None)),
        "semesters": select(func.count(ind.periods.c.period.distinct())),
    }
    async with engine.connect() as conn:
        return {k: int((await conn.execute(q)).scalar_one()) for k, q in queries.items()}
