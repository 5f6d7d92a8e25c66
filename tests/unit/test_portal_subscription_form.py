"""The subscription edit form: minutes as alerting's seconds, within its bounds, and the
filters the form does not show kept."""

from __future__ import annotations

import pytest

from services.portal.forms import repeat_seconds, subscription_body


@pytest.mark.parametrize(
    ("minutes", "seconds"),
    [("1", 60), ("90", 5400), ("43 200", 2_592_000), ("0", None), ("43201", None), ("", None)],
)
def test_repeat_minutes_become_seconds_within_alertings_bounds(
    minutes: str, seconds: int | None
) -> None:
    assert repeat_seconds(minutes) == seconds


def test_a_non_number_is_no_repeat_interval() -> None:
    assert repeat_seconds("une heure") is None
    assert repeat_seconds("-5") is None


def test_the_body_keeps_the_filters_the_form_does_not_show() -> None:
    values = {
        "name": "Urgences",
        "channel": "email",
        "target": "suivi@example.org",
        "sheets": ["ia"],
        "kinds": [],
        "min_severity": "critical",
        "repeat_seconds": 5400,
    }
    body = subscription_body(values, {"projects": ["p1"], "regions": ["84"]})
    assert body == {
        "name": "Urgences",
        "channel": {"type": "email", "address": "suivi@example.org"},
        "filters": {
            "sheets": ["ia"],
            "kinds": [],
            "min_severity": "critical",
            "projects": ["p1"],
            "regions": ["84"],
        },
        "repeat_interval_seconds": 5400,
    }
    created = subscription_body({**values, "channel": "webhook", "repeat_seconds": None})
    assert created["channel"] == {"type": "webhook", "url": "suivi@example.org"}
    assert "repeat_interval_seconds" not in created
