"""The portal's pure rules: French formats, statuses, map categories, chart geometry and the
French reading of the APIs' validation messages."""

from __future__ import annotations

from datetime import date

import pytest

from services.portal import domain
from services.portal.domain import Badge, Coverage, Point

NB = "\u00a0"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (999, "999"),
        (1000, f"1{NB}000"),
        (32340, f"32{NB}340"),
        (1234567, f"1{NB}234{NB}567"),
    ],
)
def test_numbers_group_thousands_with_a_non_breaking_space(value: int, shown: str) -> None:
    assert domain.number(value) == shown


def test_percentages_have_a_decimal_comma_and_a_space_before_the_sign() -> None:
    assert domain.percent(0.344) == f"34,4{NB}%"
    assert domain.percent(1) == f"100,0{NB}%"
    assert domain.percent(0.5, digits=0) == f"50{NB}%"
    assert domain.percent(0.12345, digits=2) == f"12,35{NB}%"


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        (date(2026, 11, 30), "30 novembre 2026"),
        (date(2026, 12, 1), "1er décembre 2026"),
        (date(2025, 1, 2), "2 janvier 2025"),
        (date(2024, 8, 20), "20 août 2024"),
    ],
)
def test_dates_are_written_out_with_1er_for_the_first(day: date, shown: str) -> None:
    assert domain.long_date(day) == shown


def test_semesters_are_named_as_people_say_them() -> None:
    assert domain.semester("2025-S1") == "1er semestre 2025"
    assert domain.semester("2025-S2") == "2e semestre 2025"
    assert domain.semester("2025-T1") == "2025-T1"
    assert domain.semester("x2025-S1") == "x2025-S1"
    assert domain.semester("2025-S1x") == "2025-S1x"


def test_a_semester_ends_on_the_30th_of_june_or_the_31st_of_december() -> None:
    assert domain.period_end("2025-S1") == date(2025, 6, 30)
    assert domain.period_end("2025-S2") == date(2025, 12, 31)
    with pytest.raises(ValueError, match="not a semester: '2025'"):
        domain.period_end("2025")


def test_milestone_statuses_read_in_french_with_their_badge() -> None:
    assert domain.milestone_label("pending") == ("à venir", Badge.INFO)
    assert domain.milestone_label("at_risk") == ("à risque", Badge.WARNING)
    assert domain.milestone_label("overdue") == ("échu", Badge.ERROR)
    assert domain.milestone_label("met") == ("atteint", Badge.SUCCESS)
    assert domain.milestone_label("met_late") == ("atteint en retard", Badge.WARNING)
    assert domain.milestone_label("cancelled") == ("annulé", Badge.NEW)
    assert domain.milestone_label("new-status") == ("new-status", Badge.INFO)


def test_a_region_is_delivered_when_counted_funded_when_declared_else_uncovered() -> None:
    assert domain.region_coverage(funded=True, delivered=True) is Coverage.DELIVERED
    assert domain.region_coverage(funded=False, delivered=True) is Coverage.DELIVERED
    assert domain.region_coverage(funded=True, delivered=False) is Coverage.FUNDED
    assert domain.region_coverage(funded=False, delivered=False) is Coverage.UNCOVERED
    assert Coverage.DELIVERED.label == "financée, effectifs déclarés"
    assert Coverage.FUNDED.label == "financée, aucun effectif déclaré"
    assert Coverage.UNCOVERED.label == "non couverte"


def test_cumulative_runs_over_periods_in_order() -> None:
    assert domain.cumulative({"2024-S2": 5, "2024-S1": 10, "2025-S1": 1}) == [
        ("2024-S1", 10),
        ("2024-S2", 15),
        ("2025-S1", 16),
    ]
    assert domain.cumulative({}) == []


def test_the_trajectory_places_actual_expected_and_target_on_shared_axes() -> None:
    chart = domain.trajectory(
        start=date(2024, 1, 1),
        horizon=date(2025, 12, 31),
        target=100,
        running=[("2024-S2", 50), ("2025-S2", 200)],
        width=248,
        height=148,
        margin=24,
    )
    # x: 200 px over 730 days; y: 100 px for 0..200 (the actual exceeds the target).
    assert chart.width == 248 and chart.height == 148
    assert chart.actual == (Point(x=124.0, y=99.0), Point(x=224.0, y=24.0))
    assert chart.expected == (Point(x=24.0, y=124.0), Point(x=224.0, y=74.0))
    assert chart.target_y == 74.0
    assert chart.ticks == ((124.0, 0), (99.0, 50), (74.0, 100), (49.0, 150), (24.0, 200))
    assert chart.years == ((24.0, 2024), (124.3, 2025))  # 2024 has 366 days


def test_the_trajectory_scales_to_the_target_and_labels_years_after_a_mid_year_start() -> None:
    chart = domain.trajectory(
        start=date(2022, 9, 1), horizon=date(2024, 9, 1), target=80, running=[]
    )
    assert chart.actual == ()
    assert (chart.width, chart.height) == (640, 280)
    assert chart.expected == (Point(48.0, 232.0), Point(592.0, 48.0))  # default margin 48
    assert chart.target_y == 48.0
    assert chart.ticks[-1] == (48.0, 80)
    assert [year for _, year in chart.years] == [2023, 2024]
    assert (
        domain.trajectory(
            start=date(2022, 1, 2), horizon=date(2023, 1, 2), target=1, running=[]
        ).years[0][1]
        == 2023
    )


def test_the_trajectory_rounds_to_a_tenth_and_spans_at_least_one_day() -> None:
    chart = domain.trajectory(
        start=date(2024, 1, 1),
        horizon=date(2024, 1, 2),
        target=300,
        running=[("2023-S2", 100)],
        width=248,
        height=148,
        margin=24,
    )
    assert chart.actual == (Point(x=-176.0, y=90.7),)  # a day before the start: not clipped
    assert chart.expected[1] == Point(x=224.0, y=24.0)
    assert chart.ticks[1] == (99.0, 75)
    assert domain.trajectory(
        start=date(2022, 2, 1), horizon=date(2024, 1, 1), target=1, running=[]
    ).years == ((307.9, 2023), (592.0, 2024))


def test_an_empty_trajectory_keeps_a_non_zero_scale() -> None:
    chart = domain.trajectory(
        start=date(2024, 1, 1), horizon=date(2024, 1, 1), target=0, running=[]
    )
    assert chart.target_y == chart.height - 48
    assert chart.expected[1].x == 48.0
    assert [value for _, value in chart.ticks] == [0, 0, 0, 1, 1]  # a scale of 0..1


def test_a_polyline_lists_its_points() -> None:
    assert domain.polyline([Point(1.0, 2.5), Point(3.0, 4.0)]) == "1.0,2.5 3.0,4.0"
    assert domain.polyline([]) == ""


@pytest.mark.parametrize(
    ("kind", "message", "french"),
    [
        ("missing", "Field required", "Ce champ est obligatoire."),
        (
            "string_too_short",
            "String should have at least 1 character",
            "Ce champ est obligatoire.",
        ),
        (
            "string_too_short",
            "String should have at least 16 characters",
            "Ce texte est trop court.",
        ),
        ("string_too_long", "…", "Ce texte est trop long."),
        ("list_too_short", "…", "Choisissez au moins un élément."),
        ("int_parsing", "…", "Un nombre entier est attendu."),
        ("int_type", "…", "Un nombre entier est attendu."),
        ("date_parsing", "…", "Une date est attendue."),
        ("date_from_datetime_parsing", "…", "Une date est attendue."),
        ("date_type", "…", "Une date est attendue."),
        ("greater_than", "…", "Cette valeur est trop petite."),
        ("greater_than_equal", "…", "Cette valeur est trop petite."),
        ("less_than_equal", "…", "Cette valeur est trop grande."),
        ("string_pattern_mismatch", "…", "Ce format n'est pas reconnu."),
        ("literal_error", "…", "Cette valeur n'est pas reconnue."),
        ("enum", "…", "Cette valeur n'est pas reconnue."),
        ("union_tag_invalid", "…", "Cette valeur n'est pas reconnue."),
        (
            "value_error",
            "Value error, row 3: region 11 is not one of the project's regions ['84']",
            "La région 11 n'est pas une région déclarée du projet.",
        ),
        (
            "value_error",
            "row 4: alternance (12) exceeds trained (10)",
            "L'alternance (12) dépasse les formés.",
        ),
        ("value_error", "row 5: duplicates row 2", "Cette cellule répète la ligne 2."),
        ("value_error", "unknown level 'bac+9'; known: …", "Niveau « bac+9 » inconnu."),
        (
            "value_error",
            "unknown region '7': expected …",
            "Région « 7 » inconnue (code INSEE à deux chiffres).",
        ),
        ("value_error", "unknown audience 'x'; known", "Public « x » inconnu."),
        ("value_error", "period 2030-S1 has not begun", "Ce semestre n'a pas commencé."),
        ("value_error", "end_date must be after start_date", "La fin doit suivre le début."),
        ("value_error", "completed_on is in the future", "Cette date est dans le futur."),
        ("value_error", "regions must not repeat", "Une région est indiquée deux fois."),
        ("value_error", "Value error, something new", "something new"),
        ("other", "kept as it is", "kept as it is"),
    ],
)
def test_validation_messages_read_in_french(kind: str, message: str, french: str) -> None:
    assert domain.french_error(kind, message) == french


def test_every_alert_kind_has_a_french_label() -> None:
    assert all(label and label[0].islower() for label in domain.ALERT_KINDS.values())


def test_forecasts_read_as_one_french_sentence() -> None:
    assert domain.forecast("on_track", date(2027, 6, 30), 0) == (
        "au rythme actuel, cible atteinte le 30 juin 2027"
    )
    assert domain.forecast("late", date(2031, 12, 31), 2) == (
        "au rythme actuel, cible atteinte le 31 décembre 2031, 2 semestre(s) après l'échéance"
    )
    assert domain.forecast("unreachable", None, None) == (
        "au rythme actuel, cible hors d'atteinte (aucun progrès récent)"
    )
    assert domain.forecast("late", None, None) == (
        "au rythme actuel, cible atteinte le ?, 0 semestre(s) après l'échéance"
    )
    assert domain.forecast("new", None, None) == "new"


def test_a_revision_shows_the_cells_it_added_removed_or_recounted() -> None:
    a = ("trained", "bac+5", "84", "F", None)
    b = ("trained", "bac+5", "84", "M", None)
    c = ("sensitised", "bac", "11", None, "students")
    assert domain.cell_changes({a: 10, b: 5}, {a: 12, b: 5, c: 3}) == [
        domain.CellChange(c, None, 3),
        domain.CellChange(a, 10, 12),
    ]
    assert domain.cell_changes({a: 10}, {}) == [domain.CellChange(a, 10, None)]
    assert domain.cell_changes({a: 1}, {a: 1}) == []


def test_project_and_delivery_statuses_read_in_french() -> None:
    assert domain.PROJECT_STATUS["completed"] == ("terminé", Badge.SUCCESS)
    assert domain.DELIVERY_STATUS["dead"] == ("abandonnée", Badge.ERROR)


def test_changes_list_a_cell_without_sex_before_those_with_one() -> None:
    unsexed = ("trained", "bac+5", "84", None, None)
    women = ("trained", "bac+5", "84", "F", None)
    assert [c.coordinates for c in domain.cell_changes({}, {women: 1, unsexed: 2})] == [
        unsexed,
        women,
    ]
