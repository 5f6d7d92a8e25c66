"""A status change's event as the outbox stores it is, byte for byte, what the contract's
models serialize to, though the tick builds it without them (docs/performance.md, B6)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from contracts.events import (
    MilestoneStatus,
    MilestoneStatusChanged,
    MilestoneStatusChangedPayload,
    ProjectContext,
    parse_event,
)
from services.milestone.domain import NAMESPACE, StatusChange, event_id, status_changed_events

S = MilestoneStatus
P1 = uuid.UUID("00000000-0000-4000-8000-000000000001")
P2 = uuid.UUID("9b2f0c1e-7a44-4e0b-b8d5-3f1c2a9e6d70")
PLAIN = ProjectContext(name="Projet 1", sheet="cloud", regions=("84",))
ODD = ProjectContext(
    name='Éco "campus" \\ 北京 🚀 tab\there\u2028', sheet="santé", regions=("11", "84", "976")
)
NO_REGION = ProjectContext(name="P", sheet="cloud", regions=())
TITLES = [
    "Jalon 1",
    "Livrable « final » — é à ç œ",
    'quote " and backslash \\ and slash /',
    "controls \n \r \t \b \f \x01 \x1f \x7f end",
    "astral 🚀 𝔘 and CJK 北京 and separators \u2028 \u2029 \u00a0",
    "",
]
CHANGES = [
    StatusChange(P1, "m0", TITLES[0], date(2026, 1, 1), False, PLAIN, S.PENDING, S.AT_RISK, 0),
    StatusChange(P1, "m.1_x-Y", TITLES[1], date(2026, 2, 28), True, PLAIN, S.AT_RISK, S.OVERDUE, 1),
    StatusChange(P2, "A9", TITLES[2], date(999, 12, 31), False, ODD, S.OVERDUE, S.MET_LATE, 41),
    StatusChange(P2, "z", TITLES[3], date(2030, 6, 30), True, ODD, S.PENDING, S.MET, 2),
    StatusChange(P1, "m4", TITLES[4], date(2026, 1, 15), True, NO_REGION, S.AT_RISK, S.MET, 7),
    StatusChange(P2, "m5", TITLES[5], date(2026, 1, 15), False, ODD, S.OVERDUE, S.CANCELLED, 3),
    StatusChange(P2, "m6", TITLES[4], date(2026, 3, 1), False, PLAIN, S.AT_RISK, S.PENDING, 9),
]
INSTANTS = [
    datetime(2026, 1, 15, tzinfo=UTC),
    datetime(2026, 1, 15, 23, 59, 59, 123456, tzinfo=UTC),
    datetime(2026, 7, 1, 8, 30, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 7, 1, 8, 30, 0, 5, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
]


def by_the_models(change: StatusChange, now: datetime) -> MilestoneStatusChanged:
    """The event as the service built it with its models before issue 18."""
    key = f"milestone/{change.milestone_id}/{change.transitions + 1}"
    return MilestoneStatusChanged(
        event_id=uuid.uuid5(NAMESPACE, f"{change.project_id}/{key}"),
        occurred_at=now,
        producer="milestone",
        project_id=change.project_id,
        payload=MilestoneStatusChangedPayload(
            milestone_id=change.milestone_id,
            title=change.title,
            due_date=change.due_date,
            quantitative=change.quantitative,
            previous=change.previous,
            status=change.status,
            changed_at=now,
            project=change.project,
        ),
    )


@pytest.mark.parametrize("now", INSTANTS, ids=str)
def test_each_event_is_byte_for_byte_what_the_contract_models_serialize(now: datetime) -> None:
    events = status_changed_events(CHANGES, now)
    assert len(events) == len(CHANGES)
    for change, (eid, key, value) in zip(CHANGES, events, strict=True):
        expected = by_the_models(change, now)
        assert value == expected.model_dump_json().encode()
        assert eid == str(expected.event_id)
        assert key == str(change.project_id).encode()


def test_each_event_parses_back_as_the_contract_s_event_it_stands_for() -> None:
    now = INSTANTS[1]
    for change, (_, _, value) in zip(CHANGES, status_changed_events(CHANGES, now), strict=True):
        assert parse_event(value) == by_the_models(change, now)


def test_no_change_no_event() -> None:
    assert status_changed_events([], INSTANTS[0]) == []


def test_event_ids_are_the_uuid5_of_the_project_and_change_with_every_variant_digit() -> None:
    variants = set()
    for i in range(200):
        project, key = str(uuid.uuid5(P2, str(i))), f"milestone/m{i}/{i % 7 + 1}"
        expected = uuid.uuid5(NAMESPACE, f"{project}/{key}")
        assert event_id(project, key) == str(expected)
        variants.add(str(expected)[19])
    assert variants == set("89ab")
