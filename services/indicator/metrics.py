"""Business gauges, computed from the database through the figures the API answers (see
docs/metrics.md); `rendered.py` keeps them in memory.

Label sets are bounded by the catalog: sheets (7) × kinds (3) × levels (8), regions (18),
sexes (3) or periods; targets (≈ 25). Per project, no level, region or sex label: bounded by
active projects × 3 kinds and active projects × their commitments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from services.indicator.domain import Dimension, Progress, Reading, Tally, totals_by
from services.indicator.figures import (
    SHEET_BY,
    CoverageFigures,
    Figures,
    ProjectSummary,
    SheetFigures,
)
from services.indicator.forecast import ForecastStatus
from services.indicator.freshness import STALENESS_BUCKETS
from services.indicator.queries import SheetFunding

Values = Mapping[tuple[str, ...], float]


class Staleness(NamedTuple):
    """An active project's sheet and freshness bucket (`projects_by_staleness`)."""

    sheet: str
    bucket: str


Measure = tuple[str, Callable[[Progress], float], str, str]
MEASURES: tuple[Measure, ...] = (  # suffix, what it reads, help of commitment_*, of target_*
    (
        "actual",
        lambda p: p.actual,
        "People matching a project commitment's selector.",
        "People matching a sheet target's selector.",
    ),
    (
        "value",
        lambda p: p.target,
        "A project commitment's quantified value.",
        "A sheet target's quantified value.",
    ),
    (
        "progress_ratio",
        lambda p: p.progress,
        "actual / value for a project commitment.",
        "actual / value for a sheet target.",
    ),
    (
        "expected_ratio",
        lambda p: p.expected,
        "Share of a project commitment expected today on its trajectory.",
        "Share of the target expected today on the trajectory.",
    ),
)
PEOPLE: tuple[tuple[str, str, tuple[Dimension, ...]], ...] = (  # family, help, labels after kind
    ("people", "People reported (latest revisions), by sheet and kind.", ()),
    ("people_by_level", "People reported by sheet, kind and canonical level.", ("level",)),
    ("people_by_region", "People reported by sheet, kind and region (INSEE code).", ("region",)),
    ("people_by_sex", 'People reported by sheet, kind and sex ("" = not reported).', ("sex",)),
    ("people_by_period", "People reported by sheet, kind and semester.", ("period",)),
)
BY_REGION: tuple[Dimension, ...] = ("kind", "region")
TALLIED: tuple[tuple[Dimension, ...], ...] = (SHEET_BY, BY_REGION, ("kind", "sex"))
"""A reading's national reads, each summed in SQL to the dimensions it keeps: the sheets'
figures, people (by kind) and by level and period read the first; coverage and people by
region the second; by sex the third. A few thousand rows, not every combination (B8)."""


def gauge(name: str, doc: str, labels: list[str], values: Values) -> Metric:
    family = GaugeMetricFamily("cma_indicator_" + name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


async def business_families(figures: Figures) -> list[Metric]:
    """Every business family computed whole from the database: the per-project families, then
    the national ones. `BusinessText` (services/indicator/rendered.py) keeps the same text in
    memory, recomputing only the projects that changed."""
    summaries = {reading: await figures.project_summaries(reading) for reading in Reading}
    return [
        *with_reading([(reading, project_families(s)) for reading, s in summaries.items()]),
        *await national_families(figures, staleness_of(summaries[Reading.AS_REPORTED])),
    ]


async def national_families(figures: Figures, staleness: Sequence[Staleness]) -> list[Metric]:
    """The families bounded by the catalog, not by projects. Those that count people carry a
    `reading` label (`as_reported`, `approved`: docs/review.md); funding, project counts,
    staleness and the approved share do not. `staleness`: each active project's."""
    q = figures.queries
    funding, approved = await q.sheet_funding(), await q.approvals()
    funded = await q.funded_regions(figures.clock().date())
    readings: list[tuple[Reading, list[Metric]]] = []
    for reading in Reading:
        tallied = {by: await q.tallies(reading=reading, by=by) for by in TALLIED}
        by_sheet, by_region = tallied[SHEET_BY], tallied[BY_REGION]
        coverage = [
            figures.coverage_of(s, funded, by_region, reading)
            for s in (*figures.catalog.sheets, None)
        ]
        sheets = figures.sheets(by_sheet, reading, approved)
        readings.append(
            (reading, [*sheet_families(tallied, sheets, coverage), *forecast_families(sheets)])
        )
    share: Values = {(s,): a.share for s, a in approved.items() if a.share is not None}
    return [
        *with_reading(readings),
        staleness_family(staleness),
        *funding_families(funding),
        gauge(
            "approved_share",
            "Share of the people reported (latest revisions) whose revision is approved.",
            ["sheet"],
            share,
        ),
    ]


def with_reading(by_reading: list[tuple[Reading, list[Metric]]]) -> list[Metric]:
    """One family per name, each sample labelled with the reading it was computed in."""
    merged: dict[str, Metric] = {}
    for reading, families in by_reading:
        for family in families:
            into = merged.setdefault(
                family.name, Metric(family.name, family.documentation, family.type)
            )
            for sample in family.samples:
                into.add_sample(
                    sample.name, {**sample.labels, "reading": reading.value}, sample.value
                )
    return list(merged.values())


def forecast_families(sheets: tuple[SheetFigures, ...]) -> list[Metric]:
    """Forecasts per sheet target (4 statuses × targets): bounded by the catalog
    (docs/insight.md)."""
    tl = ["sheet", "target"]
    status: dict[tuple[str, ...], float] = {}
    pace: dict[tuple[str, ...], float] = {}
    late: dict[tuple[str, ...], float] = {}
    for s in sheets:
        for t in s.targets:
            if t.forecast is None:
                continue
            for one in ForecastStatus:
                status[(s.sheet, t.target_id, one.value)] = float(t.forecast.status is one)
            if t.forecast.pace_per_semester is not None:
                pace[(s.sheet, t.target_id)] = t.forecast.pace_per_semester
            if t.forecast.semesters_late is not None:
                late[(s.sheet, t.target_id)] = t.forecast.semesters_late
    return [
        gauge(
            "target_forecast", "1 for a sheet target's forecast status.", [*tl, "status"], status
        ),
        gauge("target_pace_per_semester", "Fitted people per semester.", tl, pace),
        gauge("target_semesters_late", "Projected semesters after the horizon.", tl, late),
    ]


def staleness_of(projects: Iterable[ProjectSummary]) -> list[Staleness]:
    """Freshness is as reported: from the summaries of that reading."""
    return [Staleness(p.project.sheet, p.freshness.bucket) for p in projects]


def staleness_family(projects: Sequence[Staleness]) -> Metric:
    """Projects per sheet by staleness bucket (sheets × 4; docs/insight.md)."""
    stale: dict[tuple[str, ...], float] = {
        (s, b): 0.0 for s in {p.sheet for p in projects} for b in STALENESS_BUCKETS
    }
    for p in projects:
        stale[(p.sheet, p.bucket)] += 1
    return gauge(
        "projects_by_staleness",
        "Active projects per sheet by closed semesters unreported since their latest report.",
        ["sheet", "semesters_behind"],
        stale,
    )


def project_families(projects: list[ProjectSummary]) -> list[Metric]:
    """Per active project: people by kind, and each commitment's actual, value, progress and
    expected ratio."""
    pl = ["sheet", "project_id", "project"]
    people: dict[tuple[str, ...], float] = {}
    for summary in projects:
        p = summary.project
        for kind, count in summary.totals.items():
            people[(p.sheet, str(p.project_id), p.name, kind.value)] = count
    commitments = [
        gauge(
            f"commitment_{name}",
            doc,
            [*pl, "commitment"],
            {
                (s.project.sheet, str(s.project.project_id), s.project.name, c.target_id): read(c)
                for s in projects
                for c in s.commitments
            },
        )
        for name, read, doc, _ in MEASURES
    ]
    people_doc = "People reported by active project and kind."
    return [gauge("project_people", people_doc, [*pl, "kind"], people), *commitments]


def sheet_families(
    tallied: Mapping[tuple[Dimension, ...], Sequence[Tally]],
    sheets: tuple[SheetFigures, ...],
    coverage: list[CoverageFigures],
) -> list[Metric]:
    """`tallied`: tallies by the dimensions they keep; each people family sums the first
    that keeps its labels."""
    tl = ["sheet", "target"]

    def people(name: str, doc: str, by: tuple[Dimension, ...]) -> Metric:
        tallies = next(t for kept, t in tallied.items() if {"kind", *by} <= set(kept))
        return gauge(name, doc, ["sheet", "kind", *by], totals_by(tallies, "sheet", "kind", *by))

    def targets(read: Callable[[Progress], float]) -> Values:
        return {(s.sheet, t.target_id): float(read(t)) for s in sheets for t in s.targets}

    covered: dict[tuple[str, ...], float] = {}
    uncovered_share: dict[tuple[str, ...], float] = {}
    for c in coverage:
        for kind, regions in (("funded", c.funded), ("delivered", c.delivered)):
            uncovered_share[(c.sheet or "all", kind)] = regions.uncovered_population_share
            if c.sheet is not None:
                for code in (*regions.covered, *regions.uncovered):
                    covered[(c.sheet, code, kind)] = float(code in regions.covered)
    behind_doc = (
        "1 when a sheet target's progress is below its trajectory by more than the tolerance."
    )
    return [
        gauge("target_behind", behind_doc, tl, targets(lambda p: p.behind)),
        *(people(name, doc, by) for name, doc, by in PEOPLE),
        *(gauge(f"target_{n}", doc, tl, targets(read)) for n, read, _, doc in MEASURES),
        gauge(
            "region_covered",
            "1 when the region is covered (funded or delivered) for the sheet.",
            ["sheet", "region", "coverage"],
            covered,
        ),
        gauge(
            "uncovered_population_share",
            'Share of the population in uncovered regions (sheet="all": every sheet together).',
            ["sheet", "coverage"],
            uncovered_share,
        ),
    ]


def funding_families(funding: dict[str, SheetFunding]) -> list[Metric]:
    return [
        gauge(
            "projects",
            "Active funded projects per sheet.",
            ["sheet"],
            {(s,): f.projects for s, f in funding.items()},
        ),
        gauge(
            "funding_euros",
            "Funding of active projects per sheet, in euros.",
            ["sheet"],
            {(s,): f.funding_eur for s, f in funding.items()},
        ),
    ]
