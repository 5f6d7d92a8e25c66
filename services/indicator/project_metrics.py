"""Per-project gauges (see docs/metrics.md): people by kind and each commitment's progress.
No level, region or sex label here: bounded by active projects × 3 kinds and active projects ×
their commitments."""

from __future__ import annotations

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from services.indicator.domain import kind_totals, matching, progress
from services.indicator.figures import Figures
from services.indicator.queries import commitments_of


def _gauge(name: str, doc: str, labels: list[str], values: dict[tuple[str, ...], float]) -> Metric:
    family = GaugeMetricFamily("cma_indicator_" + name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


async def project_families(figures: Figures) -> list[Metric]:
    """Per active project (no level, region or sex label): people by kind, and each
    commitment's actual, value, progress and expected ratio. Bounded by active projects ×
    3 kinds and active projects × their commitments."""
    today, tolerance = figures.clock().date(), figures.tolerance
    people: dict[tuple[str, ...], float] = {}
    commitments: dict[str, dict[tuple[str, ...], float]] = {
        k: {} for k in ("actual", "target", "progress", "expected")
    }
    for project in await figures.queries.active_projects():
        who = (project["sheet"], str(project["project_id"]), project["name"])
        for kind, count in kind_totals(project["tallies"]).items():
            people[(*who, kind)] = count
        for commitment in commitments_of(project):
            row = progress(commitment, matching(commitment, project["tallies"]), today, tolerance)
            for k in commitments:
                commitments[k][(*who, commitment.id)] = row[k]
    pl = ["sheet", "project_id", "project"]
    return [
        _gauge(
            "project_people", "People reported by active project and kind.", [*pl, "kind"], people
        ),
        _gauge(
            "commitment_actual",
            "People matching a project commitment's selector.",
            [*pl, "commitment"],
            commitments["actual"],
        ),
        _gauge(
            "commitment_value",
            "A project commitment's quantified value.",
            [*pl, "commitment"],
            commitments["target"],
        ),
        _gauge(
            "commitment_progress_ratio",
            "actual / value for a project commitment.",
            [*pl, "commitment"],
            commitments["progress"],
        ),
        _gauge(
            "commitment_expected_ratio",
            "Share of a project commitment expected today on its trajectory.",
            [*pl, "commitment"],
            commitments["expected"],
        ),
    ]
