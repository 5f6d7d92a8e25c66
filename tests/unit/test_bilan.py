"""The bilan's pure parts: French number formats, and how answers compose into its sums."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from contracts.catalog import load_catalog
from services.apiclient import answers as api
from services.bilan import sources as src
from services.bilan.domain import compose, long_date, number, percent, wave_label

NBSP = "\u00a0"


def test_numbers_percentages_and_dates_are_written_the_french_way() -> None:
    assert number(32340) == f"32{NBSP}340"
    assert number(119285) == f"119{NBSP}285"
    assert number(1234567) == f"1{NBSP}234{NBSP}567"
    assert number(430) == "430"
    assert number(16714.6) == f"16{NBSP}715"
    assert percent(0.344248) == f"34{NBSP}%"
    assert percent(0.344248, 2) == f"34,42{NBSP}%"
    assert percent(0.61, 1) == f"61,0{NBSP}%"
    assert long_date(date(2025, 9, 1)) == "1er septembre 2025"
    assert long_date(date(2030, 12, 31)) == "31 décembre 2030"
    assert long_date(date(2024, 1, 2)) == "2 janvier 2024"
    assert wave_label("vague-2") == "Vague 2"
    assert wave_label("saison_1") == "Saison 1"
    assert wave_label(" relève ") == "Relève"


def forecast(
    status: str, reached: date | None = None, pace: float | None = None, late: int | None = None
) -> api.Forecast:
    return api.Forecast(
        status=status, reached_on=reached, pace_per_semester=pace, semesters_late=late
    )


def target(
    target_id: str,
    kind: str,
    value: int,
    levels: list[str] | None = None,
    audience: str | None = None,
    f: api.Forecast | None = None,
) -> api.TargetProgress:
    return api.TargetProgress(
        target_id=target_id,
        label=f"label {target_id}",
        selector=api.Selector(kind=kind, levels=levels, audience=audience),
        actual=value // 4,
        target=value,
        progress=0.25,
        expected=0.5,
        expected_actual=value // 2,
        horizon=date(2030, 12, 31),
        behind=True,
        forecast=f or forecast("late", date(2032, 6, 30), 10.0, 3),
    )


def project(wave: str, name: str, regions: list[str]) -> api.ProjectSummary:
    return api.ProjectSummary(
        project_id=uuid.uuid4(),
        sheet="ia",
        wave=wave,
        name=name,
        lead=f"Chef de {name}",
        regions=regions,
        start_date=date(2022, 9, 1),
        end_date=date(2026, 8, 31),
        funding_eur=None,
        status="active",
        closed_on=None,
    )


def alert(kind: str, name: str, subject: str) -> api.AlertView:
    return api.AlertView(
        status="firing",
        kind=kind,
        severity="info",
        project_id=uuid.uuid4(),
        project_name=name,
        sheet="ia",
        subject=subject,
        summary=f"{name} {subject}",
        started_at=datetime(2025, 8, 1, tzinfo=UTC),
        resolved_at=None,
    )


def answers(
    projects: list[tuple[api.ProjectSummary, list[api.TargetProgress], dict[str, int]]],
    targets: list[api.TargetProgress],
    **more: object,
) -> src.Answers:
    return src.Answers.model_validate(
        {
            "progress": api.SheetProgress(
                sheet="ia",
                name="Intelligence artificielle",
                as_of=date(2026, 1, 15),
                totals={},
                targets=targets,
            ),
            "projects": [p for p, _, _ in projects],
            "project_progress": [
                api.ProjectProgress(
                    project_id=p.project_id,
                    sheet="ia",
                    name=p.name,
                    as_of=date(2026, 1, 15),
                    totals={},
                    by_level={},
                    by_region={},
                    by_period={k: {"trained": n, "sensitised": 2 * n} for k, n in periods.items()},
                    commitments=commitments,
                )
                for p, commitments, periods in projects
            ],
            "coverage": api.Coverage(
                sheet="ia",
                population_vintage="INSEE 2021",
                funded=api.RegionsCovered(
                    covered=["11", "28", "93"], uncovered=["94"], uncovered_population_share=0.005
                ),
                delivered=api.RegionsCovered(
                    covered=[], uncovered=["11", "28", "93", "94"], uncovered_population_share=1.0
                ),
            ),
            "lagging": [],
            "overdue_reports": [],
            "alerts": [],
        }
        | more
    )


def test_commitments_sum_per_wave_and_people_count_only_semesters_ended_by_the_date() -> None:
    a, b = project("vague-1", "a", ["93", "11"]), project("vague-1", "B", ["11"])
    c = project("vague-2", "C", ["28"])
    given = answers(
        [
            (a, [target("x", "trained", 100), target("y", "trained", 60)], {"2024-S2": 10}),
            (b, [target("x", "trained", 50), target("z", "sensitised", 500)], {"2025-S1": 7}),
            (c, [target("x", "trained", 30), target("w", "alternance", 9)], {"2025-S2": 5}),
        ],
        [
            target("ia-formation-continue", "trained", 180, ["formation-continue"]),
            target("ia-formes", "sensitised", 180, audience="eleves"),
            target("ia-sensibilises", "sensitised", 180),
        ],
    )
    bilan = compose(given, load_catalog(), as_of=date(2025, 9, 1))
    assert (bilan.sheet, bilan.sheet_name) == ("ia", "Intelligence artificielle")
    assert (bilan.as_of, bilan.figures_on) == (date(2025, 9, 1), date(2026, 1, 15))
    one, two = bilan.waves
    assert (one.label, two.label) == ("Vague 1", "Vague 2")
    assert [lo.name for lo in one.laureates] == ["a", "B"]  # largest commitment first
    first = one.laureates[0]
    assert (first.lead, first.lead_region) == ("Chef de a", "Provence-Alpes-Côte d'Azur")
    assert first.other_regions == ("Île-de-France",)
    assert first.closed_on is None
    assert dict(first.committed) == {"trained": 100, "sensitised": 0}  # the larger of two
    assert dict(one.committed) == {"trained": 150, "sensitised": 500}
    assert dict(two.committed) == {"trained": 30, "sensitised": 0}  # alternance is not a kind
    assert dict(bilan.committed) == {"trained": 180, "sensitised": 500}
    assert dict(one.to_date) == {"trained": 17, "sensitised": 34}
    assert dict(bilan.to_date) == {"trained": 17, "sensitised": 34}  # 2025-S2 not ended
    assert bilan.laureate_count == 3
    # The chart's target counts a whole kind: neither levels nor an audience.
    assert bilan.trajectory is not None
    assert bilan.trajectory.label == "label ia-sensibilises"
    assert bilan.trajectory.points == ((date(2024, 12, 31), 20), (date(2025, 6, 30), 34))
    assert bilan.trajectory.start == date(2022, 1, 1)  # the catalog target's start
    assert (bilan.trajectory.horizon, bilan.trajectory.value) == (date(2030, 12, 31), 180)
    assert bilan.trajectory.reached_on == date(2032, 6, 30)
    assert [r.name for r in bilan.coverage.covered] == [
        "Île-de-France",
        "Normandie",
        "Provence-Alpes-Côte d'Azur",
    ]
    assert [(r.code, r.name, r.population) for r in bilan.coverage.uncovered] == [
        ("94", "Corse", 347597)
    ]
    assert (bilan.coverage.uncovered_share, bilan.coverage.vintage) == (0.005, "INSEE 2021")
    by_default = compose(given, load_catalog(), as_of=None)
    assert by_default.as_of == date(2026, 1, 15)
    assert dict(by_default.to_date) == {"trained": 22, "sensitised": 44}


def test_each_forecast_is_told_in_words() -> None:
    targets = [
        target("ia-formes", "trained", 10, f=forecast("late", date(2032, 6, 30), 10.4, 3)),
        target("ia-formes", "trained", 10, f=forecast("late", date(2031, 6, 30), None, 1)),
        target("ia-formes", "trained", 10, f=forecast("on_track", date(2027, 6, 30), 1500, 0)),
        target("ia-formes", "trained", 10, f=forecast("unreachable", None, 0.0, None)),
        target("ia-formes", "trained", 10, f=forecast("insufficient_data")),
    ]
    lines = compose(answers([], targets), load_catalog(), None).targets
    assert [t.forecast for t in lines] == [
        "en retard : atteint 3 semestres après l'horizon (atteinte prévue le 30 juin 2032, "
        "au rythme de 10 par semestre)",
        "en retard : atteint 1 semestre après l'horizon (atteinte prévue le 30 juin 2031)",
        f"dans les temps (atteinte prévue le 30 juin 2027, au rythme de 1{NBSP}500 par semestre)",
        "inatteignable au rythme actuel",
        "données insuffisantes : moins de deux semestres déclarés",
    ]
    first = lines[0]
    assert (first.label, first.actual, first.target) == ("label ia-formes", 2, 10)
    assert (first.progress, first.expected_actual, first.behind) == (0.25, 5, True)
    assert (first.horizon, first.status) == (date(2030, 12, 31), "late")


def test_attention_points_are_ordered_and_alerts_counted_by_kind() -> None:
    late = {
        "project_id": uuid.uuid4(),
        "sheet": "ia",
        "regions": ["11"],
        "milestone_id": "m1",
        "title": "T",
        "status": "overdue",
        "completed_on": None,
        "quantitative": False,
    }
    owed = {"project_id": uuid.uuid4(), "sheet": "ia"}
    given = answers(
        [],
        [target("ia-formation-continue", "trained", 10, ["formation-continue"])],
        lagging=[
            api.Milestone(project_name="B", due_date=date(2024, 1, 1), **late),
            api.Milestone(project_name="A", due_date=date(2024, 1, 1), **late),
            api.Milestone(project_name="A", due_date=date(2023, 1, 1), **late),
        ],
        overdue_reports=[
            api.OverdueReport(
                **owed, project_name="Z", period="2024-S2", deadline=date(2025, 3, 1)
            ),
            api.OverdueReport(
                **owed, project_name="Y", period="2025-S1", deadline=date(2025, 8, 29)
            ),
            api.OverdueReport(
                **owed, project_name="X", period="2025-S1", deadline=date(2025, 8, 29)
            ),
        ],
        alerts=[
            alert("report_anomaly", "B", "2025-S1/semester_spike"),
            alert("report_overdue", "A", "2025-S1"),
            alert("report_anomaly", "A", "2025-S1/zero_after_nonzero"),
            alert("report_anomaly", "A", "2024-S2/alternance_share"),
        ],
    )
    bilan = compose(given, load_catalog(), None)
    assert bilan.trajectory is None  # no target counts a whole kind
    assert [(m.project_name, m.due_date.year) for m in bilan.lagging] == [
        ("A", 2023),
        ("A", 2024),
        ("B", 2024),
    ]
    assert [r.project_name for r in bilan.overdue_reports] == ["Z", "X", "Y"]
    assert [(a.kind, a.words, a.count) for a in bilan.alerts] == [
        ("report_overdue", "rapports en retard", 1),
        ("report_anomaly", "anomalies à l'arrivée des rapports", 3),
    ]
    assert [a.subject for a in bilan.anomalies] == [
        "2024-S2/alternance_share",
        "2025-S1/zero_after_nonzero",
        "2025-S1/semester_spike",
    ]


def test_a_semester_counts_from_its_last_day_and_a_kind_not_reported_counts_zero() -> None:
    a, b = project("vague-1", "A", ["11"]), project("vague-1", "B", ["93"])
    closed = a.model_copy(update={"closed_on": date(2025, 3, 31), "status": "abandoned"})
    given = answers(
        [(closed, [], {"2025-S1": 4}), (b, [], {"2025-S1": 6})],
        [target("ia-formes", "trained", 100)],
    )
    # Only sensitised people in one semester of B: its other kinds were never reported.
    given.project_progress[1].by_period["2024-S2"] = {"sensitised": 5}
    bilan = compose(given, load_catalog(), as_of=date(2025, 6, 30))  # 2025-S1's last day
    assert dict(bilan.to_date) == {"trained": 10, "sensitised": 25}
    [line] = [lo for lo in bilan.waves[0].laureates if lo.name == "A"]
    assert line.closed_on == date(2025, 3, 31)
    assert bilan.trajectory is not None  # both projects' 2025-S1 add up
    assert bilan.trajectory.points == ((date(2024, 12, 31), 0), (date(2025, 6, 30), 10))
    sensitised = compose(
        answers(
            [(closed, [], {"2025-S1": 4}), (b, [], {"2025-S1": 6})],
            [target("ia-sensibilises", "sensitised", 100)],
        ),
        load_catalog(),
        as_of=date(2025, 6, 29),  # the day before: 2025-S1 has not ended
    )
    assert dict(sensitised.to_date) == {"trained": 0, "sensitised": 0}


def test_a_forecast_date_is_told_only_when_the_target_will_be_reached() -> None:
    targets = [
        target("ia-formes", "trained", 10, f=forecast("late", date(2031, 12, 31), None, 2)),
        target("ia-formes", "trained", 10, f=forecast("unreachable", date(2040, 1, 1), 0.0)),
        target("ia-formes", "trained", 10, f=forecast("on_track", None, 5.0, 0)),
    ]
    lines = compose(answers([], targets), load_catalog(), None).targets
    assert [t.forecast for t in lines] == [
        "en retard : atteint 2 semestres après l'horizon (atteinte prévue le 31 décembre 2031)",
        "inatteignable au rythme actuel",
        "dans les temps",
    ]
