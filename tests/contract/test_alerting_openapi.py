"""Alerting's published OpenAPI types every successful answer: each 2xx response of each `/v1`
operation has a JSON schema in which no object is open (every object names its properties),
so a generated client gets types and schemathesis has something to check responses against.
A route added without a response model, or a model with a `dict[str, Any]` field, fails here."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from services.alerting.app import create_app
from tests.support.platform import settings_for_tests

JSON = "application/json"
Schema = dict[str, Any]


def open_places(schema: Schema, components: dict[str, Schema], at: str) -> list[str]:
    """Where `schema` accepts any object (or any value at all), `$ref`s followed."""
    found: list[str] = []
    seen: set[str] = set()

    def walk(node: Schema, where: str) -> None:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                walk(components[name], f"{where}<{name}>")
            return
        alternatives = [s for key in ("anyOf", "oneOf", "allOf") for s in node.get(key, [])]
        for i, alternative in enumerate(alternatives):
            walk(alternative, f"{where}|{i}")
        typed = {"type", "enum", "const"} & node.keys()
        if not typed and not alternatives:
            found.append(f"{where}: any value")
        elif node.get("type") == "object" or "additionalProperties" in node:
            if not node.get("properties") or node.get("additionalProperties") not in (None, False):
                found.append(f"{where}: an open object")
        for name, sub in node.get("properties", {}).items():
            walk(sub, f"{where}.{name}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{where}[]")

    walk(schema, at)
    return found


def untyped_answers(app: FastAPI) -> list[str]:
    """Every 2xx answer of every `/v1` operation without a closed JSON schema."""
    spec = app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    problems: list[str] = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    continue
                at = f"{method.upper()} {path} {status}"
                schema = response.get("content", {}).get(JSON, {}).get("schema")
                if schema is None:
                    problems.append(f"{at}: no {JSON} schema")
                else:
                    problems += open_places(schema, components, at)
    return problems


@pytest.fixture(scope="module")
def alerting() -> FastAPI:
    # No connection is made: the OpenAPI document is built from the routes alone.
    return create_app(settings_for_tests("postgresql+asyncpg://u@127.0.0.1:1/x", "127.0.0.1:1"))


def test_every_2xx_answer_of_every_alerting_v1_operation_has_a_closed_schema(
    alerting: FastAPI,
) -> None:
    operations = {
        (method, path)
        for path, ops in alerting.openapi()["paths"].items()
        if path.startswith("/v1/")
        for method in ops
    }
    assert {
        ("post", "/v1/subscriptions"),
        ("get", "/v1/subscriptions"),
        ("get", "/v1/deliveries"),
    } <= operations
    assert untyped_answers(alerting) == []


class _Loose(BaseModel):
    name: str
    extra: dict[str, Any]


def test_the_check_finds_a_route_without_a_model_and_a_model_with_an_open_field() -> None:
    app = FastAPI()

    @app.get("/v1/untyped")
    async def untyped() -> dict[str, Any]:
        return {}

    @app.get("/v1/unannotated")
    async def unannotated():  # type: ignore[no-untyped-def]  # the mistake under test
        return {}

    @app.get("/v1/loose")
    async def loose() -> list[_Loose]:
        return []

    assert untyped_answers(app) == [
        "GET /v1/untyped 200: an open object",
        "GET /v1/unannotated 200: any value",
        "GET /v1/loose 200[]<_Loose>.extra: an open object",
    ]
