"""Intake's OpenAPI gives every 2xx answer of every `/v1` operation a closed schema: a
generated client gets types, and schemathesis has a shape to check the answers against. A
route added with `dict[str, Any]` (an open object) or no response model fails here."""

from __future__ import annotations

from typing import Any

import pytest

from services.intake.app import create_app
from services.runtime.settings import Settings

Schema = dict[str, Any]
COMBINATORS = ("anyOf", "oneOf", "allOf")


def open_parts(schema: Schema, components: dict[str, Schema], where: str = "") -> list[str]:
    """Where `schema` lets any value through: `{}`, an object without properties, an array
    without items, `additionalProperties: true`. `$ref`s are followed (each once per path)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        seen = where.split(" > ")
        return [] if name in seen else open_parts(components[name], components, f"{where} > {name}")
    found: list[str] = []
    for key in COMBINATORS:
        for index, part in enumerate(schema.get(key, ())):
            found += open_parts(part, components, f"{where}.{key}[{index}]")
    if any(key in schema for key in (*COMBINATORS, "enum", "const")):
        return found
    kind = schema.get("type")
    if kind is None:
        return [f"{where}: any value"]
    if kind == "array":
        items = schema.get("items")
        return (
            [f"{where}: array of anything"]
            if not items
            else open_parts(items, components, where + "[]")
        )
    if kind != "object":
        return found
    extra = schema.get("additionalProperties", False)
    if extra is True or extra == {}:
        found.append(f"{where}: additionalProperties open")
    elif isinstance(extra, dict):
        found += open_parts(extra, components, f"{where}.*")
    properties: dict[str, Schema] = schema.get("properties", {})
    if not properties and not isinstance(extra, dict):
        found.append(f"{where}: object without properties")
    for name, part in properties.items():
        found += open_parts(part, components, f"{where}.{name}")
    return found


@pytest.mark.parametrize(
    "schema",
    [
        {},
        {"type": "object"},
        {"type": "object", "additionalProperties": True},
        {"type": "object", "properties": {"a": {"type": "object"}}},
        {"type": "array"},
        {"type": "array", "items": {}},
        {"anyOf": [{"type": "string"}, {"type": "object"}]},
        {"$ref": "#/components/schemas/Loose"},
    ],
)
def test_the_check_finds_an_open_schema(schema: Schema) -> None:
    assert open_parts(schema, {"Loose": {"type": "object", "additionalProperties": {}}})


def intake_answers() -> tuple[list[tuple[str, Schema]], dict[str, Schema]]:
    """Every 2xx answer of every `/v1` operation (`"POST /v1/… 201 media/type"`, its schema)."""
    document = create_app(Settings()).openapi()  # nothing is connected to build the document
    answers = [
        (f"{method.upper()} {path} {status} {media}", content.get("schema", {}))
        for path, operations in document["paths"].items()
        if path.startswith("/v1/")
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if status.startswith("2")
        for media, content in response.get("content", {"(no content)": {}}).items()
    ]
    return answers, document.get("components", {}).get("schemas", {})


def test_every_2xx_answer_of_every_intake_v1_operation_has_a_closed_schema() -> None:
    answers, components = intake_answers()
    assert len(answers) >= 5, answers  # the check sees intake's operations
    open_answers = {
        answer: where
        for answer, schema in answers
        if (where := open_parts(schema, components, answer.split()[1]))
    }
    assert open_answers == {}
