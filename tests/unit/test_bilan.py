"""The bilan's pure parts: French number formats, and how answers compose into its sums."""

from __future__ import annotations

import uuid
from datetime import date

from contracts.catalog import load_catalog
from services.bilan import sources as src
from services.bilan.domain import compose, long_date, number, percent, wave_label

NBSP = "\u00a0"


def test_numbers_percentages_and_dates_are_written_the_french_way() -> None:
    assert number(32340) == f"32{NBSP}340"
    assert number(119285) == f"119{NBSP}285"
    assert number(430) == "430"
    assert number(16714.2) == f"16{NBSP}714"
    assert percent(0.344248) == f"34{NBSP}%"
    assert percent(0.344248, 2) == f"34,42{NBSP}%"
    assert long_date(date(2025, 9, 1)) == "1er septembre 2025"
    assert long_date(date(2030, 12, 31)) == "31 décembre 2030"
    assert wave_label("vague-2") == "Vague 2"


def _target(kind: str, value: int, levels: list[str] | None = None) -> src.TargetProgress:
    return src.TargetProgress(
        target_id=f"{kind}-{value}",
        label=kind,
        selector=src.Selector(kind=kind, levels=levels),
        actual=0,
        target=value,
        progress=0.0,
        expected=0.5,
        expected_actual=value // 2,
        horizon=date(2030, 12, 31),
        behind=True,
        forecast=src.Forecast(
            status="late", reached_on=date(2032, 6, 30), pace_per_semester=10.0, semesters_late=3
        ),
    )


def test_commitments_sum_per_wave_and_people_count_only_semesters_ended_by_the_date() -> None:
    def project(wave: str, name: str, regions: list[str]) -> src.ProjectSummary:
        return src.ProjectSummary(
            project_id=uuid.uuid4(),
            sheet="ia",
            wave=wave,
            name=name,
            lead="Université",
            regions=regions,
            start_date=date(2022, 9, 1),
            status="active",
            closed_on=None,
        )

    a, b, c = (
        project("vague-1", "A", ["93", "11"]),
        project("vague-1", "B", ["11"]),
        project("vague-2", "C", ["28"]),
    )
    figures = {
        a.project_id: ([_target("trained", 100), _target("trained", 60)], {"2024-S2": 10}),
        b.project_id: ([_target("trained", 50), _target("sensitised", 500)], {"2025-S1": 7}),
        c.project_id: ([_target("trained", 30)], {"2025-S2": 5}),
    }
    answers = src.Answers(
        progress=src.SheetProgress(
            sheet="ia",
            name="Intelligence artificielle",
            as_of=date(2026, 1, 15),
            targets=[_target("trained", 180, ["bac+5"]), _target("trained", 180)],
        ),
        projects=[a, b, c],
        project_progress=[
            src.ProjectProgress(
                project_id=pid,
                by_period={p: {"trained": n, "sensitised": 2 * n} for p, n in periods.items()},
                commitments=commitments,
            )
            for pid, (commitments, periods) in figures.items()
        ],
        coverage=src.Coverage(
            population_vintage="INSEE 2021",
            funded=src.RegionsCovered(
                covered=["11", "28", "93"], uncovered=["94"], uncovered_population_share=0.005
            ),
        ),
        lagging=[],
        overdue_reports=[],
        alerts=[],
    )
    bilan = compose(answers, load_catalog(), as_of=date(2025, 9, 1))
    one, two = bilan.waves
    assert [lo.name for lo in one.laureates] == ["A", "B"]  # largest commitment first
    assert one.laureates[0].lead_region == "Provence-Alpes-Côte d'Azur"
    assert one.laureates[0].other_regions == ("Île-de-France",)
    assert dict(one.committed) == {"trained": 150, "sensitised": 500}  # A's larger of two
    assert dict(two.committed) == {"trained": 30, "sensitised": 0}
    assert dict(bilan.committed) == {"trained": 180, "sensitised": 500}
    assert dict(bilan.to_date) == {"trained": 17, "sensitised": 34}  # 2025-S2 not ended
    assert bilan.trajectory is not None  # the target over every level, not the bac+5 one
    assert bilan.trajectory.points == ((date(2024, 12, 31), 10), (date(2025, 6, 30), 17))
    assert bilan.targets[0].forecast == (
        "en retard : atteint 3 semestres après l'horizon (atteinte prévue le 30 juin 2032, "
        "au rythme de 10 par semestre)"
    )
    assert [r.name for r in bilan.coverage.uncovered] == ["Corse"]
