"""The bilan's content, composed from the services' answers: pure (no I/O), French wording.

Readings (docs/insight.md, The bilan):
- A laureate's *lead region* is the first region it declared (the document names the lead's
  town, which is in it).
- Commitments are the projects' commitments of kind `trained` and `sensitised`, summed per
  wave and in total (a project with two commitments of one kind counts the larger: they
  count the same people).
- People "to date" are those of the semesters ended by the bilan's date (`as_of`, default
  the indicator's date); the sheet targets, their forecasts, coverage, milestones, overdue
  reports and alerts are as the services answer now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from contracts.catalog import Catalog, Region
from contracts.reports import period_bounds
from services.apiclient import answers as api
from services.bilan import sources as src

NBSP = "\u00a0"
MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
).split()
KINDS = ("trained", "sensitised")
FORECAST_WORDS = {
    "on_track": "dans les temps",
    "late": "en retard",
    "unreachable": "inatteignable au rythme actuel",
    "insufficient_data": "données insuffisantes",
}
ALERT_WORDS = {
    "milestone_at_risk": "jalons menacés",
    "milestone_overdue": "jalons en retard",
    "report_overdue": "rapports en retard",
    "commitment_behind": "engagements en retard sur leur trajectoire",
    "target_behind": "objectifs de la fiche en retard sur leur trajectoire",
    "project_stale": "projets sans rapport récent",
    "report_anomaly": "anomalies à l'arrivée des rapports",
}


def number(n: float) -> str:
    """32340 → "32 340" (no-break space between thousands, as French typography has it)."""
    return f"{round(n):,}".replace(",", NBSP)


def percent(share: float, decimals: int = 0) -> str:
    """0.3442 → "34 %" (decimals=0) or "34,42 %" (decimals=2)."""
    return f"{share * 100:.{decimals}f}".replace(".", ",") + NBSP + "%"


def long_date(day: date) -> str:
    return f"{day.day}{'er' if day.day == 1 else ''} {MONTHS[day.month - 1]} {day.year}"


def wave_label(wave: str) -> str:
    """`vague-1` → "Vague 1"."""
    text = wave.replace("-", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class LaureateLine:
    name: str
    lead: str
    lead_region: str
    other_regions: tuple[str, ...]
    committed: Mapping[str, int]  # kind -> people committed
    to_date: Mapping[str, int]  # kind -> people reported in semesters ended by as_of
    closed_on: date | None


@dataclass(frozen=True)
class Wave:
    label: str
    laureates: tuple[LaureateLine, ...]
    committed: Mapping[str, int]
    to_date: Mapping[str, int]


@dataclass(frozen=True)
class TargetLine:
    label: str
    actual: int
    target: int
    progress: float
    expected_actual: int
    horizon: date
    behind: bool
    forecast: str  # the status in words, and what it projects
    status: str


@dataclass(frozen=True)
class RegionLine:
    code: str
    name: str
    population: int


@dataclass(frozen=True)
class CoverageLine:
    covered: tuple[RegionLine, ...]
    uncovered: tuple[RegionLine, ...]
    uncovered_share: float
    vintage: str


@dataclass(frozen=True)
class Trajectory:
    """The chart: cumulative people of one target's kind by semester end, against its linear
    trajectory from its start (0) to its horizon (its value), and the forecast's date."""

    label: str
    points: tuple[tuple[date, int], ...]
    start: date
    horizon: date
    value: int
    reached_on: date | None


@dataclass(frozen=True)
class AlertCount:
    kind: str
    words: str
    count: int


@dataclass(frozen=True)
class Bilan:
    sheet: str
    sheet_name: str
    as_of: date
    figures_on: date
    waves: tuple[Wave, ...]
    committed: Mapping[str, int]
    to_date: Mapping[str, int]
    targets: tuple[TargetLine, ...]
    coverage: CoverageLine
    trajectory: Trajectory | None
    lagging: tuple[api.Milestone, ...]
    overdue_reports: tuple[api.OverdueReport, ...]
    alerts: tuple[AlertCount, ...]
    anomalies: tuple[api.AlertView, ...]

    @property
    def laureate_count(self) -> int:
        return sum(len(w.laureates) for w in self.waves)


def compose(answers: src.Answers, catalog: Catalog, as_of: date | None) -> Bilan:
    """`catalog`: the reference data (region names and populations, the targets' start)."""
    progress, regions = answers.progress, catalog.regions
    starts = {t.id: t.start for t in catalog.sheets[progress.sheet].targets}
    day = as_of or progress.as_of
    by_project = {p.project_id: p for p in answers.project_progress}
    lines: dict[str, list[LaureateLine]] = defaultdict(list)
    for project in sorted(answers.projects, key=lambda p: p.name.casefold()):
        figures = by_project[project.project_id]
        lines[project.wave].append(_laureate(project, figures, regions, day))
    waves = tuple(
        Wave(
            wave_label(wave),
            tuple(sorted(found, key=lambda one: -one.committed["trained"])),
            _sum(one.committed for one in found),
            _sum(one.to_date for one in found),
        )
        for wave, found in sorted(lines.items())
    )
    funded = answers.coverage.funded
    return Bilan(
        sheet=progress.sheet,
        sheet_name=progress.name,
        as_of=day,
        figures_on=progress.as_of,
        waves=waves,
        committed=_sum(w.committed for w in waves),
        to_date=_sum(w.to_date for w in waves),
        targets=tuple(_target(t) for t in progress.targets),
        coverage=CoverageLine(
            covered=tuple(_region(c, regions) for c in funded.covered),
            uncovered=tuple(_region(c, regions) for c in funded.uncovered),
            uncovered_share=funded.uncovered_population_share,
            vintage=answers.coverage.population_vintage,
        ),
        trajectory=_trajectory(progress.targets, answers.project_progress, starts, day),
        lagging=tuple(sorted(answers.lagging, key=lambda m: (m.due_date, m.project_name))),
        overdue_reports=tuple(
            sorted(answers.overdue_reports, key=lambda r: (r.deadline, r.project_name))
        ),
        alerts=tuple(
            AlertCount(kind, words, n)
            for kind, words in ALERT_WORDS.items()
            if (n := sum(a.kind == kind for a in answers.alerts))
        ),
        anomalies=tuple(
            sorted(
                (a for a in answers.alerts if a.kind == "report_anomaly"),
                key=lambda a: (a.project_name, a.subject),
            )
        ),
    )


def _sum(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total = dict.fromkeys(KINDS, 0)
    for one in counts:
        for kind in KINDS:
            total[kind] += one[kind]
    return total


def _ended_by(period: str, day: date) -> bool:
    return period_bounds(period)[1] <= day


def _laureate(
    project: api.ProjectSummary,
    figures: api.ProjectProgress,
    regions: Mapping[str, Region],
    day: date,
) -> LaureateLine:
    committed = dict.fromkeys(KINDS, 0)
    for c in figures.commitments:
        if c.selector.kind in committed:
            committed[c.selector.kind] = max(committed[c.selector.kind], c.target)
    to_date = {
        kind: sum(n.get(kind, 0) for p, n in figures.by_period.items() if _ended_by(p, day))
        for kind in KINDS
    }
    lead, *others = (regions[code].name for code in project.regions)  # at least one
    return LaureateLine(
        name=project.name,
        lead=project.lead,
        lead_region=lead,
        other_regions=tuple(others),
        committed=committed,
        to_date=to_date,
        closed_on=project.closed_on,
    )


def _region(code: str, regions: Mapping[str, Region]) -> RegionLine:
    return RegionLine(code, regions[code].name, regions[code].population)


def _target(t: api.TargetProgress) -> TargetLine:
    f = t.forecast
    words = FORECAST_WORDS[f.status]
    if f.status == "late" and f.semesters_late is not None:
        words += f" : atteint {f.semesters_late} semestre{'s' if f.semesters_late > 1 else ''}"
        words += " après l'horizon"
    if f.reached_on is not None and f.status in ("on_track", "late"):
        words += f" (atteinte prévue le {long_date(f.reached_on)}"
        if f.pace_per_semester is not None:
            words += f", au rythme de {number(f.pace_per_semester)} par semestre"
        words += ")"
    elif f.status == "insufficient_data":
        words += " : moins de deux semestres déclarés"
    return TargetLine(
        label=t.label,
        actual=t.actual,
        target=t.target,
        progress=t.progress,
        expected_actual=t.expected_actual,
        horizon=t.horizon,
        behind=t.behind,
        forecast=words,
        status=f.status,
    )


def _trajectory(
    targets: list[api.TargetProgress],
    projects: list[api.ProjectProgress],
    starts: Mapping[str, date],
    day: date,
) -> Trajectory | None:
    """For the sheet's first target counting a whole kind (every level and audience): the
    cumulative count of that kind is exactly what it counts."""
    whole = (t for t in targets if t.selector.levels is None and t.selector.audience is None)
    chosen = next(whole, None)
    if chosen is None:
        return None
    per_period: dict[str, int] = defaultdict(int)
    for p in projects:
        for period, by_kind in p.by_period.items():
            if _ended_by(period, day):
                per_period[period] += by_kind.get(chosen.selector.kind, 0)
    points, running = [], 0
    for period in sorted(per_period):
        running += per_period[period]
        points.append((period_bounds(period)[1], running))
    return Trajectory(
        label=chosen.label,
        points=tuple(points),
        start=starts[chosen.target_id],
        horizon=chosen.horizon,
        value=chosen.target,
        reached_on=chosen.forecast.reached_on,
    )
