"""The event envelope and the shared HTTP payloads accept what they promise and refuse the rest."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts.events import EVENT_TYPES, Envelope, StaffTokenEnvelope, parse_event
from contracts.projects import MilestonesIn, ProjectIn
from contracts.reports import ReportIn
from contracts.topics import event_key
from tests.contract.samples import PROJECT_ID, SAMPLES
from tests.support.data import cell, project_body, report_body


def as_dict(event: BaseModel) -> dict[str, Any]:
    return json.loads(event.model_dump_json())


def test_every_event_type_has_a_sample() -> None:
    assert {type(s) for s in SAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_every_event_type_round_trips_through_json_and_parse_event(event: BaseModel) -> None:
    parsed = parse_event(event.model_dump_json().encode())
    assert type(parsed) is type(event)
    assert parsed == event


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_an_undeclared_field_is_rejected_in_the_envelope_and_in_the_payload(
    event: BaseModel,
) -> None:
    in_envelope = as_dict(event) | {"trace_id": "x"}
    in_payload = as_dict(event)
    in_payload["payload"]["note"] = "x"
    for raw in (in_envelope, in_payload):
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            parse_event(json.dumps(raw).encode())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_a_payload_sent_under_another_event_type_is_rejected(event: BaseModel) -> None:
    for other in {t.model_fields["type"].default for t in EVENT_TYPES} - {event.type}:  # type: ignore[attr-defined]
        with pytest.raises(ValidationError):
            parse_event(json.dumps(as_dict(event) | {"type": other}).encode())


def test_an_unknown_event_type_is_rejected() -> None:
    raw = as_dict(SAMPLES[0]) | {"type": "project.deleted"}
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        parse_event(json.dumps(raw).encode())


def test_a_schema_version_other_than_1_is_rejected() -> None:
    with pytest.raises(ValidationError, match="schema_version"):
        parse_event(json.dumps(as_dict(SAMPLES[0]) | {"schema_version": 2}).encode())


@pytest.mark.parametrize("field", ["event_id", "occurred_at", "producer", "project_id", "payload"])
def test_an_event_missing_an_envelope_field_is_rejected(field: str) -> None:
    raw = as_dict(SAMPLES[0])
    del raw[field]
    with pytest.raises(ValidationError, match=field):
        parse_event(json.dumps(raw).encode())


@pytest.mark.parametrize("raw", [b"", b"not json", b"\xff\xfe", b"[]", b"{}", b"null"])
def test_malformed_bytes_raise_validation_error_which_consumers_dead_letter(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_event(raw)


def test_events_are_immutable() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        SAMPLES[0].producer = "someone else"  # type: ignore[misc]


def test_every_event_is_keyed_by_its_subject_a_project_or_a_staff_token() -> None:
    by_project = {event_key(s.partition_key) for s in SAMPLES if isinstance(s, Envelope)}
    assert by_project == {str(PROJECT_ID).encode()}
    by_token = {event_key(s.partition_key) for s in SAMPLES if isinstance(s, StaffTokenEnvelope)}
    assert by_token == {
        str(s.token_id).encode() for s in SAMPLES if isinstance(s, StaffTokenEnvelope)
    }


def test_a_report_with_alternance_up_to_trained_in_the_same_cell_is_accepted() -> None:
    ReportIn.model_validate(report_body("2025-S1", cell(count=10), cell("alternance", count=10)))


@pytest.mark.parametrize(
    "cells",
    [
        pytest.param([cell(count=10), cell("alternance", count=11)], id="exceeds-trained"),
        pytest.param([cell("alternance", count=1)], id="no-trained-at-all"),
        pytest.param(
            [cell(region="84", count=10), cell("alternance", region="93", count=1)],
            id="trained-in-another-region",
        ),
        pytest.param(
            [cell(count=10, sex="F"), cell("alternance", count=5, sex="M")],
            id="trained-of-another-sex",
        ),
    ],
)
def test_a_report_with_alternance_exceeding_trained_in_the_same_cell_is_rejected(
    cells: list[dict[str, Any]],
) -> None:
    with pytest.raises(ValidationError, match="alternance"):
        ReportIn.model_validate(report_body("2025-S1", *cells))


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (report_body("2025-S1", cell(), cell()), "duplicates"),
        (report_body("2025-S3"), "pattern"),
        (report_body("2025-S1", cell(count=-1)), "greater than or equal to 0"),
        (report_body("2025-S1", cell(count="10")), "valid integer"),
        (report_body("2025-S1", cell(level="master")), "unknown level"),
        (report_body("2025-S1", cell(region="99")), "unknown region"),
        (report_body("2025-S1", cell(audience="aliens")), "unknown audience"),
        (report_body("2025-S1", cell(kind="hired")), "kind"),
        ({"period": "2025-S1", "cells": []}, "at least 1"),
        (report_body("2025-S1", extra_field=1), "Extra inputs"),
    ],
)
def test_a_malformed_report_is_rejected_with_the_reason(
    body: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        ReportIn.model_validate(body)


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"end_date": "2022-12-31"}, "end_date must be after start_date"),
        ({"regions": ["84", "84"]}, "regions must not repeat"),
        ({"regions": []}, "at least 1"),
        ({"sheet": "astrologie"}, "unknown sheet"),
    ],
)
def test_a_malformed_project_is_rejected_with_the_reason(
    overrides: dict[str, Any], complaint: str
) -> None:
    ProjectIn.model_validate(project_body())
    with pytest.raises(ValidationError, match=complaint):
        ProjectIn.model_validate(project_body(**overrides))


def test_a_commitment_whose_horizon_is_not_after_its_start_is_rejected() -> None:
    commitment = project_body()["commitments"][0] | {"horizon": "2023-01-01"}
    with pytest.raises(ValidationError, match="horizon must be after start"):
        ProjectIn.model_validate(project_body(commitments=[commitment]))


def test_a_milestone_id_outside_the_allowed_characters_is_rejected() -> None:
    milestone = {"milestone_id": "m 1/x", "title": "t", "due_date": "2024-09-01"}
    with pytest.raises(ValidationError, match="milestone_id"):
        MilestonesIn.model_validate({"milestones": [milestone]})
