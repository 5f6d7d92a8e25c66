"""Freshness: closed semesters of a project's run left unreported since its latest report."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.indicator.freshness import Freshness, freshness

START, END = date(2024, 1, 1), date(2026, 12, 31)
AT = datetime(2025, 7, 3, 9, 0, tzinfo=UTC)


def test_semesters_behind_count_closed_semesters_after_the_latest_report() -> None:
    today = date(2025, 8, 1)  # 2025-S2 is open: 2025-S1 is the last closed one
    found = freshness(start=START, end=END, today=today, reported={"2024-S1": AT})
    assert found == Freshness(date(2025, 7, 3), "2024-S1", 2)
    assert found.bucket == "2"
    assert freshness(start=START, end=END, today=today, reported={"2025-S1": AT}).bucket == "0"


def test_a_project_that_never_reported_is_behind_since_its_start() -> None:
    found = freshness(start=START, end=END, today=date(2025, 8, 1), reported={})
    assert found == Freshness(None, None, 3)
    assert found.bucket == "3+"


def test_semesters_after_the_projects_end_do_not_count() -> None:
    found = freshness(start=START, end=END, today=date(2029, 1, 1), reported={"2026-S1": AT})
    assert found.semesters_behind == 1
