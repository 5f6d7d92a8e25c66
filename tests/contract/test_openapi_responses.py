"""Every service publishes a typed answer for every operation: a schema for each 2xx answer
that says what the object holds (a generated client gets types, Schemathesis' response
conformance check has something to check), the problem shape for errors, and one validation
of `sheet`. A route added without a response model fails here."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from contracts.catalog import load_catalog
from services.runtime import registry
from services.runtime.errors import PROBLEM_JSON
from services.runtime.settings import Settings

STAFF_TOKEN = "staff-token-for-contract-tests-0123"
SETTINGS = Settings(
    database_url="postgresql+asyncpg://cma@placeholder:5432/cma",
    kafka_bootstrap="placeholder:9092",
    staff_tokens=(STAFF_TOKEN,),
)


@cache
def app(service: str) -> FastAPI:
    return registry.service(service).create_app(SETTINGS)


def openapi(service: str) -> dict[str, Any]:
    spec: dict[str, Any] = app(service).openapi()
    return spec


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in spec["paths"].items()
        if path.startswith("/v1/")
        for method, operation in methods.items()
    ]


def open_parts(schema: dict[str, Any], spec: dict[str, Any], where: str = "") -> list[str]:
    """Where `schema` says nothing of its content: an object with no properties, or `{}`."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return open_parts(spec["components"]["schemas"][name], spec, f"{where}<{name}>")
    for union in ("anyOf", "oneOf", "allOf"):
        if union in schema:
            return [p for s in schema[union] for p in open_parts(s, spec, where)]
    kind = schema.get("type")
    if kind == "array":
        return open_parts(schema.get("items", {}), spec, f"{where}[]")
    if kind == "object" or (kind is None and "const" not in schema and "enum" not in schema):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return open_parts(extra, spec, f"{where}{{}}")
        if not properties:
            return [where or "(top)"]
        return [p for k, s in properties.items() for p in open_parts(s, spec, f"{where}.{k}")]
    return []


@pytest.mark.parametrize("service", registry.NAMES)
def test_every_2xx_answer_has_a_schema_that_says_what_it_holds(service: str) -> None:
    spec = openapi(service)
    found = operations(spec)
    assert found, f"{service} publishes no /v1 operation"
    for method, path, operation in found:
        answers = {c: r for c, r in operation["responses"].items() if c.startswith("2")}
        assert answers, f"{method} {path}: no 2xx answer declared"
        for code, answer in answers.items():
            content = answer.get("content", {})
            if code == "204":  # No Content: a body would be a lie
                assert not content, f"{method} {path} 204 declares a body"
                continue
            assert content, f"{method} {path} {code}: no content declared"
            for media, body in content.items():
                schema = body.get("schema")
                assert schema, f"{method} {path} {code} {media}: no schema"
                assert not open_parts(schema, spec), (
                    f"{method} {path} {code} {media}: open at {open_parts(schema, spec)}"
                )


@pytest.mark.parametrize("service", registry.NAMES)
def test_every_error_answer_is_declared_as_problem_details(service: str) -> None:
    spec = openapi(service)
    for method, path, operation in operations(spec):
        errors = {c: r for c, r in operation["responses"].items() if c[0] in "45"}
        assert {"401", "422", "429", "503"} <= set(errors), f"{method} {path}: {sorted(errors)}"
        for code, answer in errors.items():
            assert set(answer.get("content", {})) == {PROBLEM_JSON}, f"{method} {path} {code}"
            schema = answer["content"][PROBLEM_JSON]["schema"]
            assert {"type", "title", "status", "detail"} <= set(schema["properties"]), code


def sheet_operations() -> list[tuple[str, str]]:
    return [
        (service, path)
        for service in registry.NAMES
        for method, path, operation in operations(openapi(service))
        if method == "GET" and any(p["name"] == "sheet" for p in operation.get("parameters", []))
    ]


def test_every_sheet_filter_publishes_the_catalog_sheets() -> None:
    assert sheet_operations(), "no operation filters by sheet"
    for service, path in sheet_operations():
        operation = openapi(service)["paths"][path]["get"]
        [schema] = [p["schema"] for p in operation["parameters"] if p["name"] == "sheet"]
        (sheet, _null) = schema["anyOf"]
        assert sheet["enum"] == sorted(load_catalog().sheets), (service, path)


@pytest.mark.parametrize(("service", "path"), sheet_operations())
async def test_an_unknown_sheet_is_a_422_naming_the_field(service: str, path: str) -> None:
    transport = httpx.ASGITransport(app=app(service))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as client:
        r = await client.get(
            path, params={"sheet": "nope"}, headers={"Authorization": f"Bearer {STAFF_TOKEN}"}
        )
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_JSON
    assert [e["loc"] for e in r.json()["errors"]] == [["query", "sheet"]]


class _Loose(BaseModel):
    name: str
    extra: dict[str, Any]


def test_the_check_finds_a_route_without_a_model_and_a_model_with_an_open_field() -> None:
    untyped = FastAPI()

    @untyped.get("/v1/open")
    async def open_answer() -> dict[str, Any]:
        return {}

    @untyped.get("/v1/unannotated")
    async def unannotated():  # type: ignore[no-untyped-def]  # the mistake under test
        return {}

    @untyped.get("/v1/loose")
    async def loose() -> list[_Loose]:
        return []

    spec = untyped.openapi()
    found = {
        path: open_parts(op["responses"]["200"]["content"]["application/json"]["schema"], spec)
        for _, path, op in operations(spec)
    }
    assert found == {
        "/v1/open": ["(top)"],
        "/v1/unannotated": ["(top)"],
        "/v1/loose": ["[]<_Loose>.extra"],
    }


def test_open_parts_finds_an_open_object_and_passes_a_closed_one() -> None:
    spec: dict[str, Any] = {"components": {"schemas": {"A": {"type": "object"}}}}
    assert open_parts({"type": "object", "additionalProperties": True}, spec) == ["(top)"]
    assert open_parts({"type": "array", "items": {"$ref": "#/components/schemas/A"}}, spec) == [
        "[]<A>"
    ]
    closed = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert open_parts(closed, spec) == []
    assert open_parts({"type": "object", "additionalProperties": {"type": "integer"}}, spec) == []


def test_the_indicator_answers_carry_the_field_names_of_the_api_contract() -> None:
    """The names docs/architecture's API v1 table promises clients."""
    spec = openapi("indicator")
    schemas = spec["components"]["schemas"]

    def answer(path: str) -> dict[str, Any]:
        schema: dict[str, Any] = spec["paths"][path]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]
        return schema

    one_or_all = {s["$ref"].rsplit("/", 1)[1] for s in answer("/v1/progress")["anyOf"]}
    assert one_or_all == {"SheetProgress", "AllSheetsProgress"}
    assert {"actual", "target", "progress", "expected"} <= set(
        schemas["TargetProgress"]["properties"]
    )
    project = schemas[answer("/v1/projects/{project_id}/progress")["$ref"].rsplit("/", 1)[1]]
    assert {"totals", "commitments"} <= set(project["properties"])
    coverage = schemas[answer("/v1/coverage")["$ref"].rsplit("/", 1)[1]]
    readings = {"covered", "uncovered", "uncovered_population_share"}
    assert readings | {"funded", "delivered"} <= set(coverage["properties"])
    assert readings == set(schemas["RegionsCovered"]["properties"])


@pytest.mark.parametrize("service", registry.NAMES)
async def test_the_docs_page_loads_nothing_from_the_internet(service: str) -> None:
    transport = httpx.ASGITransport(app=app(service))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{service}") as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert "http://" not in page.text and "https://" not in page.text
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
        assert len(assets) == 3, assets  # the script, the style sheet, the icon
        for asset in assets:
            answer = await client.get(asset)
            assert answer.status_code == 200 and answer.content, asset
        script = await client.get(next(a for a in assets if a.endswith(".js")))
        assert "isOAS31" in script.text  # Swagger UI 5: renders FastAPI's OpenAPI 3.1
