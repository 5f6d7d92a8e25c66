"""Values and shapes no operation may take: each is a 4xx (422 naming the field where there is
one), never a 5xx, and nothing is stored. Complements tests/integration/test_intake_refusals.py
(report rules) with every writing operation, control characters, mass assignment, numbers
JSON cannot hold exactly, malformed bodies and the body size limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.security.conftest import SharedPlatform
from tests.support.data import cell, project_body, report_body
from tests.support.platform import STAFF

pytestmark = pytest.mark.integration

REPORTS = "/v1/projects/{a}/reports"
COMPLETE = "/v1/projects/{a}/milestones/m1/complete"
MILESTONES = "/v1/projects/{a}/milestones"
SUBSCRIPTIONS = "/v1/subscriptions"
CONTROL = ["\x00", "\x07", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9b"]


@dataclass(frozen=True)
class Case:
    id: str
    service: str
    path: str
    body: Any  # JSON-able, or bytes sent as is
    loc: list[Any] | None  # the field the 422 names
    who: str = "a"  # "a" (project A's token) or "staff"


def subscription(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Alertes",
        "channel": {"type": "email", "address": "projet@example.org"},
        "filters": {"projects": ["{a}"]},
    } | overrides


def milestone(**overrides: Any) -> dict[str, Any]:
    return {"milestone_id": "m2", "title": "Jalon", "due_date": "2026-06-30"} | overrides


def target(**overrides: Any) -> dict[str, Any]:
    return project_body()["commitments"][0] | overrides


VALUE_CASES = [
    # Numbers: negative, huge, floats, NaN, Infinity, strings, booleans.
    Case(
        "count -1",
        "intake",
        REPORTS,
        report_body("2025-S1", cell(count=-1)),
        ["body", "cells", 0, "count"],
    ),
    Case(
        "count 10^12",
        "intake",
        REPORTS,
        report_body("2025-S1", cell(count=10**12)),
        ["body", "cells", 0, "count"],
    ),
    Case(
        "count 10^400",
        "intake",
        REPORTS,
        b'{"period":"2025-S1","cells":[{"kind":"trained","level":"bac+5","region":"84","count":1'
        + b"0" * 400
        + b"}]}",
        ["body", "cells", 0, "count"],
    ),
    Case(
        "count 2.0",
        "intake",
        REPORTS,
        report_body("2025-S1", cell(count=2.0)),
        ["body", "cells", 0, "count"],
    ),
    Case(
        "count NaN",
        "intake",
        REPORTS,
        b'{"period":"2025-S1","cells":[{"kind":"trained","level":"bac+5","region":"84","count":NaN}]}',
        None,
    ),
    Case(
        "count Infinity",
        "intake",
        REPORTS,
        b'{"period":"2025-S1","cells":[{"kind":"trained","level":"bac+5","region":"84","count":Infinity}]}',
        None,
    ),
    Case(
        "count 1e999",
        "intake",
        REPORTS,
        b'{"period":"2025-S1","cells":[{"kind":"trained","level":"bac+5","region":"84","count":1e999}]}',
        ["body", "cells", 0, "count"],
    ),
    Case(
        "count true",
        "intake",
        REPORTS,
        report_body("2025-S1", cell(count=True)),
        ["body", "cells", 0, "count"],
    ),
    Case(
        "count '7'",
        "intake",
        REPORTS,
        report_body("2025-S1", cell(count="7")),
        ["body", "cells", 0, "count"],
    ),
    Case(
        "funding -1",
        "intake",
        "/v1/projects",
        project_body(funding_eur=-1),
        ["body", "funding_eur"],
        "staff",
    ),
    Case(
        "funding 10^30",
        "intake",
        "/v1/projects",
        project_body(funding_eur=10**30),
        ["body", "funding_eur"],
        "staff",
    ),
    Case(
        "funding 1.5",
        "intake",
        "/v1/projects",
        project_body(funding_eur=1.5),
        ["body", "funding_eur"],
        "staff",
    ),
    Case(
        "funding NaN",
        "intake",
        "/v1/projects",
        json.dumps(project_body(funding_eur=float("nan"))).encode(),
        ["body", "funding_eur"],
        "staff",
    ),
    Case(
        "funding Infinity",
        "intake",
        "/v1/projects",
        json.dumps(project_body(funding_eur=float("inf"))).encode(),
        ["body", "funding_eur"],
        "staff",
    ),
    Case(
        "target value 0",
        "intake",
        "/v1/projects",
        project_body(commitments=[target(value=0)]),
        ["body", "commitments", 0, "value"],
        "staff",
    ),
    Case(
        "repeat 10^20 s",
        "alerting",
        SUBSCRIPTIONS,
        subscription(repeat_interval_seconds=10**20),
        ["body", "repeat_interval_seconds"],
    ),
    Case(
        "repeat 90.5 s",
        "alerting",
        SUBSCRIPTIONS,
        subscription(repeat_interval_seconds=90.5),
        ["body", "repeat_interval_seconds"],
    ),
    # Dates: future, end before start, outside the periods a report can name, impossible days.
    Case("period not begun", "intake", REPORTS, report_body("2031-S1"), ["body", "period"]),
    Case(
        "completed in the future",
        "intake",
        COMPLETE,
        {"completed_on": "2030-01-01"},
        ["body", "completed_on"],
    ),
    Case(
        "end before start",
        "intake",
        "/v1/projects",
        project_body(start_date="2026-01-01", end_date="2025-01-01"),
        ["body"],
        "staff",
    ),
    Case(
        "start before 2020",
        "intake",
        "/v1/projects",
        project_body(start_date="2015-01-01"),
        ["body", "start_date"],
        "staff",
    ),
    Case(
        "end after 2039",
        "intake",
        "/v1/projects",
        project_body(end_date="2045-12-31"),
        ["body", "end_date"],
        "staff",
    ),
    Case(
        "30 February",
        "intake",
        "/v1/projects",
        project_body(start_date="2025-02-30"),
        ["body", "start_date"],
        "staff",
    ),
    Case(
        "horizon before start",
        "intake",
        "/v1/projects",
        project_body(commitments=[target(horizon="2022-01-01")]),
        ["body", "commitments", 0],
        "staff",
    ),
    Case(
        "due date 2025-13-01",
        "intake",
        MILESTONES,
        {"milestones": [milestone(due_date="2025-13-01")]},
        ["body", "milestones", 0, "due_date"],
        "staff",
    ),
    # Duplicates.
    Case(
        "duplicate cells",
        "intake",
        REPORTS,
        report_body("2025-S1", cell(count=1), cell(count=2)),
        ["body"],
    ),
    Case(
        "duplicate regions",
        "intake",
        "/v1/projects",
        project_body(regions=["84", "84"]),
        ["body"],
        "staff",
    ),
    Case(
        "duplicate milestone ids",
        "intake",
        "/v1/projects",
        project_body(milestones=[milestone(), milestone()]),
        ["body"],
        "staff",
    ),
    # Mass assignment: fields the server sets, or nobody declared.
    Case(
        "report names a project",
        "intake",
        REPORTS,
        report_body("2025-S1", project_id="{b}"),
        ["body", "project_id"],
    ),
    Case(
        "report sets its revision",
        "intake",
        REPORTS,
        report_body("2025-S1", revision=99),
        ["body", "revision"],
    ),
    Case(
        "cell with a project",
        "intake",
        REPORTS,
        report_body("2025-S1", cell(project_id="{b}")),
        ["body", "cells", 0, "project_id"],
    ),
    Case(
        "project sets its token hash",
        "intake",
        "/v1/projects",
        project_body(api_token_sha256="0" * 64),
        ["body", "api_token_sha256"],
        "staff",
    ),
    Case(
        "project sets its id",
        "intake",
        "/v1/projects",
        project_body(project_id="{b}"),
        ["body", "project_id"],
        "staff",
    ),
    Case(
        "completion by someone else",
        "intake",
        COMPLETE,
        {"completed_on": "2025-08-01", "declared_by": "staff"},
        ["body", "declared_by"],
    ),
    Case(
        "subscription sets its owner",
        "alerting",
        SUBSCRIPTIONS,
        subscription(owner_project_id="{b}"),
        ["body", "owner_project_id"],
    ),
    Case(
        "subscription sets its id",
        "alerting",
        SUBSCRIPTIONS,
        subscription(subscription_id="{b}"),
        ["body", "subscription_id"],
    ),
    Case(
        "filter with an extra field",
        "alerting",
        SUBSCRIPTIONS,
        subscription(filters={"projects": ["{a}"], "owner": "{b}"}),
        ["body", "filters", "owner"],
    ),
    # Bad URLs and addresses for alerting channels.
    Case(
        "webhook URL with a space",
        "alerting",
        SUBSCRIPTIONS,
        subscription(channel={"type": "webhook", "url": "https://exa mple.org/"}),
        ["body", "channel", "webhook", "url"],
    ),
    Case(
        "webhook ftp URL",
        "alerting",
        SUBSCRIPTIONS,
        subscription(channel={"type": "webhook", "url": "ftp://example.org/"}),
        ["body", "channel", "webhook", "url"],
    ),
    Case(
        "two e-mail addresses",
        "alerting",
        SUBSCRIPTIONS,
        subscription(channel={"type": "email", "address": "a@example.org,b@example.org"}),
        ["body", "channel", "email", "address"],
    ),
]


def control_cases() -> list[Case]:
    """Every C0/C1 control character class in every free-text field."""
    fields: list[tuple[str, str, str, Callable[[str], Any], list[Any], str]] = [
        (
            "project name",
            "intake",
            "/v1/projects",
            lambda t: project_body(name=f"Nu{t}age"),
            ["body", "name"],
            "staff",
        ),
        (
            "project wave",
            "intake",
            "/v1/projects",
            lambda t: project_body(wave=f"s{t}1"),
            ["body", "wave"],
            "staff",
        ),
        (
            "project lead",
            "intake",
            "/v1/projects",
            lambda t: project_body(lead=f"U{t}GA"),
            ["body", "lead"],
            "staff",
        ),
        (
            "commitment label",
            "intake",
            "/v1/projects",
            lambda t: project_body(commitments=[target(label=f"L{t}")]),
            ["body", "commitments", 0, "label"],
            "staff",
        ),
        (
            "milestone title",
            "intake",
            "/v1/projects",
            lambda t: project_body(milestones=[milestone(title=f"T{t}")]),
            ["body", "milestones", 0, "title"],
            "staff",
        ),
        (
            "report reason",
            "intake",
            REPORTS,
            lambda t: report_body("2025-S1", reason=f"r{t}"),
            ["body", "reason"],
            "a",
        ),
        (
            "declared title",
            "intake",
            MILESTONES,
            lambda t: {"milestones": [milestone(title=f"T{t}")]},
            ["body", "milestones", 0, "title"],
            "staff",
        ),
        (
            "reschedule reason",
            "intake",
            MILESTONES,
            lambda t: {"milestones": [milestone()], "reason": f"r{t}"},
            ["body", "reason"],
            "staff",
        ),
        (
            "evidence",
            "intake",
            COMPLETE,
            lambda t: {"completed_on": "2025-08-01", "evidence": f"PV{t}"},
            ["body", "evidence"],
            "a",
        ),
        (
            "subscription name",
            "alerting",
            SUBSCRIPTIONS,
            lambda t: subscription(name=f"n{t}"),
            ["body", "name"],
            "a",
        ),
        (
            "webhook secret",
            "alerting",
            SUBSCRIPTIONS,
            lambda t: subscription(
                channel={
                    "type": "webhook",
                    "url": "https://example.org/",
                    "secret": f"0123456789abcdef{t}",
                }
            ),
            ["body", "channel", "webhook", "secret"],
            "a",
        ),
        (
            "e-mail address",
            "alerting",
            SUBSCRIPTIONS,
            lambda t: subscription(channel={"type": "email", "address": f"a{t}b@example.org"}),
            ["body", "channel", "email", "address"],
            "a",
        ),
    ]
    return [
        Case(f"{name} U+{ord(char):04X}", service, path, make(char), loc, who)
        for name, service, path, make, loc, who in fields
        for char in CONTROL
    ]


CASES = VALUE_CASES + control_cases()


def fill(value: Any, platform: SharedPlatform) -> Any:
    """Puts the projects' ids in place of `{a}` and `{b}`."""
    text = value if isinstance(value, bytes) else json.dumps(value).encode()
    return text.replace(b"{a}", platform.a.project_id.encode()).replace(
        b"{b}", platform.b.project_id.encode()
    )


async def post(platform: SharedPlatform, case: Case, body: bytes, content_type: str | None) -> Any:
    headers = dict(STAFF if case.who == "staff" else platform.a.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    path = case.path.replace("{a}", platform.a.project_id)
    return await platform.client(case.service).post(path, content=body, headers=headers)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_a_bad_value_is_refused_with_422_naming_the_field_and_nothing_is_stored(
    platform: SharedPlatform, case: Case
) -> None:
    before = await platform.rows()
    r = await post(platform, case, fill(case.body, platform), "application/json")
    assert r.status_code == 422, r.text
    if case.loc is not None:
        locs = [d["loc"] for d in r.json()["errors"]]
        assert case.loc in locs, locs
    else:
        assert r.json()["errors"][0]["loc"][0] == "body"
    assert await platform.rows() == before


JSON_OPERATIONS = [
    Case("register", "intake", "/v1/projects", project_body(name="Projet Z"), None, "staff"),
    Case("report", "intake", REPORTS, report_body("2025-S1"), None),
    Case(
        "declare",
        "intake",
        MILESTONES,
        {"milestones": [milestone(milestone_id="m7")]},
        None,
        "staff",
    ),
    Case(
        "complete",
        "intake",
        "/v1/projects/{a}/milestones/m1/complete",
        {"completed_on": "2025-08-01"},
        None,
    ),
    Case("subscribe", "alerting", SUBSCRIPTIONS, subscription(), None),
]
MALFORMED: list[tuple[str, bytes | None, str | None, set[int]]] = [
    ("wrong content type", None, "text/plain", {415}),
    ("form content type", None, "application/x-www-form-urlencoded", {415}),
    ("CSV to a JSON operation", b"kind,level\n", "text/csv", {415}),
    ("no content type", None, None, {415}),
    ("empty body", b"", "application/json", {400, 422}),
    ("truncated JSON", b'{"period": "2025-S1", "cells": [', "application/json", {400, 422}),
    ("invalid UTF-8", b'{"name": "\xff\xfe"}', "application/json", {400, 422}),
    ("UTF-16", '{"a": 1}'.encode("utf-16"), "application/json", {400, 422}),
    ("JSON null", b"null", "application/json", {400, 422}),
    ("JSON array", b"[]", "application/json", {400, 422}),
    ("JSON string", b'"x"', "application/json", {400, 422}),
    ("nested 100k deep", b"[" * 100_000 + b"]" * 100_000, "application/json", {400, 422}),
    ("NUL bytes", b"\x00" * 64, "application/json", {400, 422}),
]


@pytest.mark.parametrize("op", JSON_OPERATIONS, ids=[c.id for c in JSON_OPERATIONS])
async def test_malformed_bodies_and_content_types_get_a_4xx_never_a_5xx(
    platform: SharedPlatform, op: Case
) -> None:
    before = await platform.rows()
    for name, body, content_type, expected in MALFORMED:
        if content_type == "text/csv" and op.id == "report":
            continue  # declared there
        sent = fill(op.body, platform) if body is None else body
        r = await post(platform, op, sent, content_type)
        assert r.status_code in expected, (name, r.status_code, r.text)
    assert await platform.rows() == before


async def test_a_json_content_type_with_a_charset_is_accepted(platform: SharedPlatform) -> None:
    op = JSON_OPERATIONS[1]
    r = await post(platform, op, fill(op.body, platform), "application/json; charset=utf-8")
    assert r.status_code == 201, r.text


async def test_a_milestone_id_outside_its_pattern_is_refused_in_the_path(
    platform: SharedPlatform,
) -> None:
    before = await platform.rows()
    for milestone_id in ("%00", "a%0Ab", "..", "x" * 65, "%C2%85"):
        r = await platform.intake.post(
            f"/v1/projects/{platform.a.project_id}/milestones/{milestone_id}/complete",
            json={"completed_on": "2025-08-01"},
            headers=platform.a.headers,
        )
        assert r.status_code in (404, 422), (milestone_id, r.status_code, r.text)
    assert await platform.rows() == before


async def test_a_csv_reason_with_a_control_character_names_the_query_parameter(
    platform: SharedPlatform,
) -> None:
    r = await platform.intake.post(
        f"/v1/projects/{platform.a.project_id}/reports",
        params={"period": "2025-S1", "reason": "ligne\nsuivante"},
        content="kind,level,region,count\ntrained,bac+5,84,1\n",
        headers={**platform.a.headers, "Content-Type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    assert ["query", "reason"] in [d["loc"] for d in r.json()["errors"]]


async def chunks(total: int, size: int, sent: list[int]) -> AsyncIterator[bytes]:
    while sent[0] < total:
        sent[0] += size
        yield b" " * size


@pytest.mark.parametrize("path", ["/v1/projects", REPORTS])
async def test_a_streamed_body_over_the_limit_is_refused_with_413(
    platform: SharedPlatform, path: str
) -> None:
    """Chunked (no Content-Length): FastAPI's own body parsing (`/v1/projects`) and intake's
    (reports) both answer 413, not 400 or 500."""
    before = await platform.rows()
    limit = platform.settings.max_body_bytes
    sent = [0]
    r = await platform.intake.post(
        path.replace("{a}", platform.a.project_id),
        content=chunks(limit * 2, 64 * 1024, sent),
        headers={**STAFF, "Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text
    assert await platform.rows() == before


async def test_a_declared_oversized_body_is_refused_before_any_of_it_is_sent(
    platform: SharedPlatform,
) -> None:
    """Headers only, announcing more than the limit: the answer comes without the body."""
    host, port = platform.url("intake").removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            (
                f"POST /v1/projects HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: {STAFF['Authorization']}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {platform.settings.max_body_bytes + 1}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
    assert status_line.split()[1] == b"413", status_line


async def test_a_streamed_body_is_not_read_past_the_limit() -> None:
    """At the ASGI level: the shell stops pulling body chunks once the limit is passed."""
    from services.runtime.limits import BodySizeLimit

    pulled = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": pulled < 1000}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass

    answers: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        answers.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await BodySizeLimit(app, limit=10_000)(scope, receive, send)
    assert answers[0]["status"] == 413 and pulled == 11


PATCH_CASES: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("paused 0", {"paused": 0}, ["body", "paused"]),
    ("paused 'true'", {"paused": "true"}, ["body", "paused"]),
    ("repeat 59 s", {"repeat_interval_seconds": 59}, ["body", "repeat_interval_seconds"]),
    ("empty name", {"name": ""}, ["body", "name"]),
    ("name with ESC", {"name": "n\x1b"}, ["body", "name"]),
    ("owner set", {"owner_project_id": "{b}"}, ["body", "owner_project_id"]),
    (
        "webhook ftp URL",
        {"channel": {"type": "webhook", "url": "ftp://x.org/"}},
        ["body", "channel", "webhook", "url"],
    ),
    (
        "webhook to loopback",
        {"channel": {"type": "webhook", "url": "http://127.0.0.1/"}},
        ["body", "channel", "webhook", "url"],
    ),
    (
        "filter with an extra field",
        {"filters": {"projects": ["{a}"], "x": 1}},
        ["body", "filters", "x"],
    ),
]


@pytest.mark.parametrize(
    "body,loc", [(b, loc) for _, b, loc in PATCH_CASES], ids=[c[0] for c in PATCH_CASES]
)
async def test_a_bad_change_to_a_subscription_is_refused_naming_the_field_and_changes_nothing(
    platform: SharedPlatform, body: dict[str, Any], loc: list[Any]
) -> None:
    alerting, headers = platform.client("alerting"), platform.a.headers
    created = await alerting.post(
        SUBSCRIPTIONS,
        content=fill(subscription(), platform),
        headers=headers | {"Content-Type": "application/json"},
    )
    assert created.status_code == 201, created.text
    before = await platform.rows()
    r = await alerting.patch(
        f"{SUBSCRIPTIONS}/{created.json()['subscription_id']}",
        content=fill(body, platform),
        headers=headers | {"Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert loc in [d["loc"] for d in r.json()["errors"]], r.json()
    assert await platform.rows() == before
