"""condition.changed events (indicator's watch, intake's checks on arrival) become alerts of
their kind, with the kind's severity, keyed by kind, project and subject."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from contracts.events import ConditionChanged, ConditionKind, ProjectContext
from contracts.indicators import Target
from services.alerting.domain import SEVERITY, AlertKind, AlertState, Severity, alert_changes
from services.indicator.conditions import behind_two_semesters

NOW = datetime(2025, 9, 1, 12, tzinfo=UTC)
PROJECT = uuid.UUID("00000000-0000-0000-0000-0000000000aa")
CONTEXT = ProjectContext(name="Nuage", sheet="cloud", regions=("84",))


def changed(kind: ConditionKind, firing: bool) -> ConditionChanged:
    return ConditionChanged(
        event_id=uuid.uuid4(),
        occurred_at=NOW,
        producer="indicator",
        project_id=PROJECT,
        payload={
            "kind": kind,
            "firing": firing,
            "subject": "formes",
            "summary": "Engagement en retard",
            "details": {"a": "b"},
            "project": CONTEXT,
        },
    )


@pytest.mark.parametrize("kind", list(ConditionKind))
def test_a_condition_fires_and_resolves_the_alert_of_its_kind(kind: ConditionKind) -> None:
    [fire] = alert_changes(changed(kind, True))
    [resolve] = alert_changes(changed(kind, False))
    assert (fire.kind, fire.state, resolve.state) == (
        AlertKind(kind.value),
        AlertState.FIRING,
        AlertState.RESOLVED,
    )
    assert fire.fingerprint == resolve.fingerprint == f"{kind.value}/{PROJECT}/formes"
    assert (fire.summary, fire.details, fire.project, fire.at) == (
        "Engagement en retard",
        {"a": "b"},
        CONTEXT,
        NOW,
    )


def test_each_new_kind_has_its_severity() -> None:
    assert {k: SEVERITY[AlertKind(k.value)] for k in ConditionKind} == {
        ConditionKind.COMMITMENT_BEHIND: Severity.WARNING,
        ConditionKind.TARGET_BEHIND: Severity.CRITICAL,
        ConditionKind.PROJECT_STALE: Severity.WARNING,
        ConditionKind.REPORT_ANOMALY: Severity.INFO,
        ConditionKind.REPORT_RETURNED: Severity.WARNING,
    }


COMMITMENT = Target.model_validate(
    {
        "id": "formes",
        "label": "Formés",
        "selector": {"kind": "trained"},
        "value": 1000,
        "start": "2024-01-01",
        "horizon": "2028-01-01",
    }
)


def test_behind_needs_the_last_two_closed_semesters_and_today() -> None:
    today = date(2025, 9, 1)  # 2025-S1 and 2024-S2 closed; expected then 25 % and 37.4 %
    assert behind_two_semesters(COMMITMENT, {}, today, 0.1)
    # On track at the end of 2024-S2 (250 ≥ 25 % - 10 %): one behind semester is not two.
    assert not behind_two_semesters(COMMITMENT, {"2024-S2": 250}, today, 0.1)
    # Caught up since (a report of the open semester): resolved at once.
    assert not behind_two_semesters(COMMITMENT, {"2025-S2": 900}, today, 0.1)
