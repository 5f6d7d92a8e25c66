"""The milestone API publishes what each answer holds: every 2xx answer of every `/v1`
operation has a schema with no open object in it (a generated client gets types, a response
conformance check has something to check), and its filters publish their closed sets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from contracts.catalog import load_catalog
from contracts.events import MilestoneStatus
from services.runtime import registry
from services.runtime.errors import PROBLEM_JSON
from services.runtime.settings import Settings

STAFF_TOKEN = "staff-token-for-contract-tests-0123"
SETTINGS = Settings(
    database_url="postgresql+asyncpg://cma@placeholder:5432/cma",
    kafka_bootstrap="placeholder:9092",
    staff_tokens=(STAFF_TOKEN,),
)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return registry.service("milestone").create_app(SETTINGS)


def operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, methods in spec["paths"].items()
        if path.startswith("/v1/")
        for method, operation in methods.items()
    }


def open_at(schema: dict[str, Any], spec: dict[str, Any], where: str = "") -> list[str]:
    """Every place in `schema` that does not say what it holds: `{}`, or an object without
    properties (a map is closed when its values are)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return open_at(spec["components"]["schemas"][name], spec, f"{where}<{name}>")
    for union in ("anyOf", "oneOf", "allOf"):
        if union in schema:
            return [p for s in schema[union] for p in open_at(s, spec, where)]
    kind = schema.get("type")
    if kind == "array":
        return open_at(schema.get("items", {}), spec, f"{where}[]")
    if kind not in (None, "object") or "const" in schema or "enum" in schema:
        return []
    values = schema.get("additionalProperties")
    if isinstance(values, dict) and values:
        return open_at(values, spec, f"{where}{{}}")
    properties = schema.get("properties") or {}
    if not properties:
        return [where or "(top)"]
    return [p for k, s in properties.items() for p in open_at(s, spec, f"{where}.{k}")]


def test_every_2xx_answer_of_every_milestone_operation_has_a_closed_schema(app: FastAPI) -> None:
    spec = app.openapi()
    found = operations(spec)
    assert set(found) == {
        "GET /v1/milestones",
        "GET /v1/projects/{project_id}/milestones",
        "GET /v1/overdue-reports",
    }
    for name, operation in found.items():
        answers = {code: a for code, a in operation["responses"].items() if code.startswith("2")}
        assert answers, f"{name}: no 2xx answer"
        for code, answer in answers.items():
            assert answer.get("content"), f"{name} {code}: no content"
            for media, body in answer["content"].items():
                assert media == "application/json", f"{name} {code}: {media}"
                assert body.get("schema"), f"{name} {code}: no schema"
                assert open_at(body["schema"], spec) == [], f"{name} {code}"


def test_the_check_finds_an_open_object_however_deep() -> None:
    spec: dict[str, Any] = {
        "components": {
            "schemas": {
                "Row": {"type": "object", "additionalProperties": True},
                "List": {"type": "object", "properties": {"rows": {"type": "array", "items": {}}}},
            }
        }
    }
    assert open_at({"type": "object"}, spec) == ["(top)"]
    assert open_at({"$ref": "#/components/schemas/List"}, spec) == ["<List>.rows[]"]
    row = {"type": "array", "items": {"$ref": "#/components/schemas/Row"}}
    assert open_at({"anyOf": [row, {"type": "null"}]}, spec) == ["[]<Row>"]
    assert open_at({"type": "object", "additionalProperties": {"type": "integer"}}, spec) == []


def test_the_status_and_sheet_filters_publish_their_values(app: FastAPI) -> None:
    spec = app.openapi()
    statuses = spec["components"]["schemas"]["MilestoneStatus"]["enum"]
    assert statuses == [s.value for s in MilestoneStatus]
    for name, operation in operations(spec).items():
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "sheet":
                (sheet, _null) = parameter["schema"]["anyOf"]
                assert sheet["enum"] == sorted(load_catalog().sheets), name


@pytest.mark.parametrize("path", ["/v1/milestones", "/v1/overdue-reports"])
async def test_an_unknown_sheet_is_a_422_naming_the_field(app: FastAPI, path: str) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://milestone"
    ) as client:
        r = await client.get(
            path, params={"sheet": "nope"}, headers={"Authorization": f"Bearer {STAFF_TOKEN}"}
        )
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_JSON
    assert [e["loc"] for e in r.json()["errors"]] == [["query", "sheet"]]
