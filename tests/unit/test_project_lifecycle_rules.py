"""The rules of a project's life after registration, at their boundaries: what an amendment
may and does change, when a closure may be dated, the run a closure cuts short, the periods a
client may report, and a closed project's milestones."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from contracts.events import AmendmentChanges
from contracts.events import MilestoneStatus as S
from contracts.indicators import Target
from contracts.projects import ProjectAmendmentIn, ProjectClosureIn
from services.intake.domain import (
    Amendable,
    ProjectRun,
    amend,
    amendment_problems,
    changes_nothing,
    closure_problems,
    reportable_periods,
)
from services.milestone.domain import Rules, last_day, status_at

START = date(2024, 1, 1)
END = date(2027, 12, 31)


def target(cid: str, value: int = 100) -> Target:
    return Target.model_validate(
        {
            "id": cid,
            "label": cid,
            "selector": {"kind": "trained"},
            "value": value,
            "start": "2024-01-01",
            "horizon": "2027-12-31",
        }
    )


CURRENT = Amendable(
    name="Nuage",
    lead="UGA",
    end_date=END,
    funding_eur=1_000,
    regions=("84", "11"),
    commitments=(target("a"), target("b"), target("c")),
)


def body(**fields: Any) -> ProjectAmendmentIn:
    return ProjectAmendmentIn.model_validate({"reason": "avenant", **fields})


def problems(**fields: Any) -> list[tuple[tuple[str | int, ...], str]]:
    return [(p.loc, p.msg) for p in amendment_problems(CURRENT, body(**fields), start=START)]


def test_an_amendment_needs_a_change_and_only_funding_may_be_cleared() -> None:
    with pytest.raises(ValueError, match="at least one field"):
        body()
    with pytest.raises(ValueError, match="name may not be null"):
        body(name=None)
    with pytest.raises(ValueError, match="regions must not repeat"):
        body(regions=["84", "84"])
    with pytest.raises(ValueError, match="more than once"):
        body(commitments={"changed": [target("a").model_dump()], "withdrawn": ["a"]})
    assert body(funding_eur=None).model_fields_set == {"reason", "funding_eur"}


def test_the_end_date_must_stay_after_the_start() -> None:
    assert problems(end_date=START) == [
        (("body", "end_date"), "end_date must be after start_date 2024-01-01")
    ]
    assert problems(end_date=START + timedelta(days=1)) == []


def test_commitments_are_added_under_new_ids_and_changed_or_withdrawn_under_held_ones() -> None:
    assert problems(
        commitments={
            "added": [target("a").model_dump(), target("z").model_dump()],
            "changed": [target("b").model_dump(), target("y").model_dump()],
            "withdrawn": ["c", "x"],
        }
    ) == [
        (
            ("body", "commitments", "added", 0),
            "commitment a is already one of the project's commitments",
        ),
        (
            ("body", "commitments", "changed", 1),
            "commitment y is not one of the project's commitments",
        ),
        (
            ("body", "commitments", "withdrawn", 1),
            "commitment x is not one of the project's commitments",
        ),
    ]


def test_an_amendment_records_only_what_differs_and_gives_the_project_after_it() -> None:
    changes, after = amend(
        CURRENT, body(name="Nuage", lead="Grenoble INP", funding_eur=None, regions=["84"])
    )
    assert changes.model_dump(exclude_defaults=True) == {
        "lead": {"before": "UGA", "after": "Grenoble INP"},
        "funding_eur": {"before": 1_000, "after": None},
        "regions": {"before": ("84", "11"), "after": ("84",)},
    }
    assert after == Amendable("Nuage", "Grenoble INP", END, None, ("84",), CURRENT.commitments)


def test_fields_left_out_keep_their_value() -> None:
    changes, after = amend(CURRENT, body(end_date="2028-06-30"))
    assert after == Amendable(
        "Nuage", "UGA", date(2028, 6, 30), 1_000, ("84", "11"), CURRENT.commitments
    )
    assert changes.model_dump(exclude_defaults=True) == {
        "end_date": {"before": END, "after": date(2028, 6, 30)}
    }


def test_commitments_changed_in_place_withdrawn_and_added_at_the_end() -> None:
    changes, after = amend(
        CURRENT,
        body(
            commitments={
                "added": [target("d").model_dump(mode="json")],
                "changed": [
                    target("b", 900).model_dump(mode="json"),
                    target("c").model_dump(mode="json"),  # the same: no change
                ],
                "withdrawn": ["a"],
            }
        ),
    )
    assert [(c.id, c.value) for c in after.commitments] == [("b", 900), ("c", 100), ("d", 100)]
    assert changes == AmendmentChanges(
        commitments_added=(target("d"),),
        commitments_changed=({"before": target("b"), "after": target("b", 900)},),  # type: ignore[arg-type]
        commitments_withdrawn=(target("a"),),
    )


def test_an_amendment_to_the_same_values_changes_nothing() -> None:
    changes, after = amend(CURRENT, body(name="Nuage", regions=["84", "11"]))
    assert changes_nothing(changes) and after == CURRENT
    assert not changes_nothing(amend(CURRENT, body(name="Ciel"))[0])


def closure(on: date) -> ProjectClosureIn:
    return ProjectClosureIn.model_validate({"status": "abandoned", "on": on, "reason": "r"})


def test_a_closure_is_dated_within_the_run_that_has_come() -> None:
    today = date(2025, 9, 1)
    assert closure_problems(closure(today), start=START, today=today) == []
    assert closure_problems(closure(START), start=START, today=today) == []
    late = closure_problems(closure(today + timedelta(days=1)), start=START, today=today)
    assert [(p.loc, p.msg) for p in late] == [(("body", "on"), "on 2025-09-02 is in the future")]
    early = closure_problems(closure(START - timedelta(days=1)), start=START, today=today)
    assert [(p.loc, p.msg) for p in early] == [
        (("body", "on"), "on 2023-12-31 is before the project's start 2024-01-01")
    ]


def test_a_closure_cuts_the_run_short_but_never_lengthens_it() -> None:
    assert ProjectRun(("84",), START, END).last_day == END
    assert not ProjectRun(("84",), START, END).closed
    closed = ProjectRun(("84",), START, END, date(2025, 8, 31))
    assert closed.last_day == date(2025, 8, 31) and closed.closed
    assert ProjectRun(("84",), START, END, date(2028, 1, 1)).last_day == END
    assert last_day(END, None) == END
    assert last_day(END, date(2025, 8, 31)) == date(2025, 8, 31)
    assert last_day(END, date(2028, 1, 1)) == END


def test_the_periods_that_can_be_reported_run_from_2020_to_the_one_begun() -> None:
    assert reportable_periods(date(2020, 1, 1)) == ["2020-S1"]
    assert reportable_periods(date(2020, 6, 30)) == ["2020-S1"]
    assert reportable_periods(date(2020, 7, 1)) == ["2020-S1", "2020-S2"]
    assert reportable_periods(date(2019, 12, 31)) == []
    assert len(reportable_periods(date(2025, 9, 1))) == 12


RULES = Rules(at_risk_days=30, tolerance=0.1, report_grace_days=60)


def test_a_closed_projects_open_milestones_are_cancelled_and_met_ones_stay_met() -> None:
    due, today, closed = date(2025, 10, 1), date(2025, 9, 1), date(2025, 8, 31)

    def status(completed_on: date | None, closed_on: date | None, at: date = today) -> S:
        return status_at(
            at,
            due=due,
            completed_on=completed_on,
            criterion=None,
            progress=None,
            rules=RULES,
            closed_on=closed_on,
        )

    assert status(None, None) is S.AT_RISK
    assert status(None, closed) is S.CANCELLED
    assert status(None, closed, date(2026, 1, 1)) is S.CANCELLED  # not overdue
    assert status(date(2025, 8, 1), closed) is S.MET
    assert status(date(2025, 10, 2), closed) is S.MET_LATE
