"""The indicator's published OpenAPI: every 2xx answer of every `/v1` operation is a named
response model that says what it holds (no open object anywhere in it) and carries the field
names of the API contract; `sheet` is one catalog enum, and an unknown sheet is a 422 naming
the field."""

from __future__ import annotations

from typing import Any

import httpx

from contracts.catalog import load_catalog
from services.indicator.app import create_app
from services.runtime.errors import PROBLEM_JSON
from tests.support.platform import STAFF_TOKEN, settings_for_tests

SETTINGS = settings_for_tests("postgresql+asyncpg://cma@placeholder:5432/cma", "placeholder:9092")
SPEC: dict[str, Any] = create_app(SETTINGS).openapi()
OPERATIONS = {
    (method.upper(), path): operation
    for path, methods in SPEC["paths"].items()
    if path.startswith("/v1/")
    for method, operation in methods.items()
}


def model(ref: str) -> dict[str, Any]:
    """A component schema, by name or by `$ref`."""
    schema: dict[str, Any] = SPEC["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def open_parts(schema: dict[str, Any], where: str = "") -> list[str]:
    """Where `schema` leaves its content unsaid: `{}`, or an object with neither properties
    nor a schema for its values."""
    if "$ref" in schema:
        return open_parts(model(schema["$ref"]), f"{where}<{schema['$ref'].rsplit('/', 1)[1]}>")
    if alternatives := schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf"):
        return [p for s in alternatives for p in open_parts(s, where)]
    kind = schema.get("type")
    if kind == "array":
        return open_parts(schema.get("items", {}), f"{where}[]")
    if kind not in (None, "object") or "const" in schema or "enum" in schema:
        return []
    values = schema.get("additionalProperties")
    if isinstance(values, dict) and values:
        return open_parts(values, f"{where}{{}}")
    if not schema.get("properties"):
        return [where or "(top)"]
    return [p for name, s in schema["properties"].items() for p in open_parts(s, f"{where}.{name}")]


def answers(operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The schemas of its 2xx answers."""
    return [
        body.get("schema", {})
        for code, answer in operation["responses"].items()
        if code.startswith("2")
        for body in answer.get("content", {"(none)": {}}).values()
    ]


def test_every_2xx_answer_of_every_v1_operation_is_a_named_model_with_no_open_object() -> None:
    assert set(OPERATIONS) == {
        ("GET", "/v1/progress"),
        ("GET", "/v1/projects/{project_id}/progress"),
        ("GET", "/v1/coverage"),
    }
    for (method, path), operation in OPERATIONS.items():
        schemas = answers(operation)
        assert schemas, f"{method} {path}: no 2xx answer"
        for schema in schemas:
            named = [s for s in schema.get("anyOf", [schema]) if "$ref" in s]
            assert named and len(named) == len(schema.get("anyOf", [schema])), (method, path)
            assert open_parts(schema) == [], (method, path, open_parts(schema))


def test_the_answers_carry_the_field_names_of_the_api_contract() -> None:
    (progress,) = answers(OPERATIONS[("GET", "/v1/progress")])
    one_or_all = {s["$ref"].rsplit("/", 1)[1] for s in progress["anyOf"]}
    assert one_or_all == {"SheetProgress", "AllSheetsProgress"}
    target = model("TargetProgress")["properties"]
    assert {"actual", "target", "progress", "expected"} <= set(target)
    assert model("SheetProgress")["properties"]["targets"]["items"]["$ref"].endswith("Progress")
    (project,) = answers(OPERATIONS[("GET", "/v1/projects/{project_id}/progress")])
    assert {"totals", "commitments"} <= set(model(project["$ref"])["properties"])
    (coverage,) = answers(OPERATIONS[("GET", "/v1/coverage")])
    readings = {"covered", "uncovered", "uncovered_population_share"}
    assert readings | {"funded", "delivered"} <= set(model(coverage["$ref"])["properties"])
    assert readings == set(model("RegionsCovered")["properties"])


def test_open_parts_tells_an_open_object_from_a_closed_one() -> None:
    assert open_parts({"type": "object"}) == ["(top)"]
    assert open_parts({"type": "object", "additionalProperties": True}) == ["(top)"]
    assert open_parts({"type": "array", "items": {}}) == ["[]"]
    assert open_parts({"type": "object", "properties": {"n": {}}}) == [".n"]
    assert open_parts({"type": "object", "additionalProperties": {"type": "integer"}}) == []
    assert open_parts({"anyOf": [{"type": "string"}, {"type": "null"}]}) == []


async def test_an_unknown_sheet_is_a_422_naming_the_field() -> None:
    for path in ("/v1/progress", "/v1/coverage"):
        (sheet,) = [p for p in OPERATIONS[("GET", path)]["parameters"] if p["name"] == "sheet"]
        known = [s for s in sheet["schema"]["anyOf"] if "enum" in s]
        assert known == [{"type": "string", "enum": sorted(load_catalog().sheets)}], path
    app = create_app(SETTINGS)  # no database needed: staff token, refused before any read
    staff = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://indicator"
    ) as client:
        for path in ("/v1/progress", "/v1/coverage"):
            r = await client.get(path, params={"sheet": "astrologie"}, headers=staff)
            assert r.status_code == 422, (path, r.text)
            assert r.headers["content-type"] == PROBLEM_JSON
            (error,) = r.json()["errors"]
            assert error["loc"] == ["query", "sheet"] and "unknown sheet" in error["msg"]
