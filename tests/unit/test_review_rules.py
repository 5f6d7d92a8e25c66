"""Report review rules: which decisions change a revision, the queue's totals and
differences, the share of figures approved, and what a decision must say."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.indicators import CellKind
from contracts.reports import Cell, ReviewDecision, ReviewIn
from services.indicator.domain import Approval
from services.intake.domain import ReviewStatus, difference, kind_totals, review_changes
from services.runtime.errors import Conflict

APPROVED, RETURNED = ReviewDecision.APPROVED, ReviewDecision.RETURNED


def test_a_submitted_latest_revision_takes_either_decision() -> None:
    for decision in ReviewDecision:
        assert review_changes(
            status=ReviewStatus.SUBMITTED, revision=3, current=3, decision=decision
        )


def test_repeating_the_decision_taken_changes_nothing() -> None:
    assert not review_changes(
        status=ReviewStatus.APPROVED, revision=2, current=2, decision=APPROVED
    )
    assert not review_changes(
        status=ReviewStatus.RETURNED, revision=1, current=1, decision=RETURNED
    )


def test_a_decision_taken_is_not_changed() -> None:
    with pytest.raises(Conflict, match=r"^revision 2 is already approved$"):
        review_changes(status=ReviewStatus.APPROVED, revision=2, current=2, decision=RETURNED)
    with pytest.raises(Conflict, match=r"^revision 1 is already returned$"):
        review_changes(status=ReviewStatus.RETURNED, revision=1, current=1, decision=APPROVED)


def test_a_superseded_revision_is_refused_whatever_its_state() -> None:
    for status in ReviewStatus:
        with pytest.raises(Conflict, match=r"^revision 1 is superseded by revision 2: review"):
            review_changes(status=status, revision=1, current=2, decision=APPROVED)


def cell(kind: str, count: int, level: str = "bac+5") -> Cell:
    return Cell.model_validate({"kind": kind, "level": level, "region": "84", "count": count})


def test_a_revision_s_totals_name_every_kind_and_sum_its_cells() -> None:
    assert kind_totals([]) == {CellKind.TRAINED: 0, CellKind.SENSITISED: 0, CellKind.ALTERNANCE: 0}
    totals = kind_totals([cell("trained", 10), cell("trained", 5, "bac+2"), cell("alternance", 3)])
    assert totals == {CellKind.TRAINED: 15, CellKind.SENSITISED: 0, CellKind.ALTERNANCE: 3}


def test_the_difference_is_from_the_superseded_revision_and_absent_for_a_first() -> None:
    now = {CellKind.TRAINED: 130, CellKind.SENSITISED: 0, CellKind.ALTERNANCE: 2}
    before = {CellKind.TRAINED: 100, CellKind.SENSITISED: 7, CellKind.ALTERNANCE: 2}
    assert difference(now, None) is None
    assert difference(now, before) == {
        CellKind.TRAINED: 30,
        CellKind.SENSITISED: -7,
        CellKind.ALTERNANCE: 0,
    }


def test_the_approved_share_is_of_people_reported_and_absent_without_any() -> None:
    assert Approval(0, 0).share is None
    assert Approval(1, 3).share == 0.333333
    assert Approval(2, 3).share == 0.666667
    assert Approval(4, 4).share == 1.0


def test_returning_needs_a_comment_approving_does_not() -> None:
    assert ReviewIn(decision=APPROVED).comment is None
    assert ReviewIn(decision=RETURNED, comment="À corriger").comment == "À corriger"
    for missing in ({}, {"comment": "   "}, {"comment": ""}):
        with pytest.raises(ValidationError, match="a returned report needs a comment"):
            ReviewIn.model_validate({"decision": "returned", **missing})
