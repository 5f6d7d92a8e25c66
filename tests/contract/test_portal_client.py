"""The portal's client against the services' OpenAPI documents: every call it makes is an
operation a service publishes, and every field it reads is in that operation's answer, with
the same requiredness. A service that renames a path or a field fails here, not in a browser."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from services.portal import client, domain
from tests.contract.test_openapi_responses import openapi


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def answer_schema(endpoint: client.Endpoint) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = openapi(endpoint.service)
    operation = spec["paths"][endpoint.path][endpoint.method.lower()]
    oks = [r for status, r in operation["responses"].items() if status.startswith("2")]
    schemas = [resolve(ok["content"]["application/json"]["schema"], spec) for ok in oks]
    # Several 2xx (a report's 201, its dry run's 200): the portal's model must fit one of them.
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    if schema.get("type") == "array":
        schema = resolve(schema["items"], spec)
    return schema, spec


def mismatches(model: type[BaseModel], schema: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    """Fields of `model` the schema lacks, or that the model needs and the schema may omit;
    nested models are compared with their property's schema."""
    options = [resolve(o, spec) for o in schema.get("oneOf", schema.get("anyOf", []))]
    if options:  # a union of shapes: a field is in one of them, required if in all
        schema = {
            "properties": {k: v for o in options for k, v in o.get("properties", {}).items()},
            "required": set.intersection(*(set(o.get("required", [])) for o in options)),
        }
    properties, required = schema.get("properties", {}), set(schema.get("required", []))
    found = []
    for name, field in model.model_fields.items():
        if name not in properties:
            found.append(f"{model.__name__}.{name} is not in the answer")
            continue
        if field.is_required() and name not in required:
            found.append(f"{model.__name__}.{name} is optional there")
        nested = field.annotation
        inner = resolve(properties[name], spec)
        if inner.get("type") == "array":
            inner = resolve(inner.get("items", {}), spec)
            nested = getattr(nested, "__args__", (None,))[0]
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            found += mismatches(nested, inner, spec)
    return found


@pytest.mark.parametrize("endpoint", client.ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_every_call_of_the_portal_is_a_published_operation(endpoint: client.Endpoint) -> None:
    paths = openapi(endpoint.service)["paths"]
    assert endpoint.path in paths, f"{endpoint.service} publishes no {endpoint.path}"
    assert endpoint.method.lower() in paths[endpoint.path]


@pytest.mark.parametrize("endpoint", client.ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_every_field_the_portal_reads_is_in_the_answer(endpoint: client.Endpoint) -> None:
    if client.ANSWERS[endpoint] is None:
        return  # the portal reads only the status
    schema, spec = answer_schema(endpoint)
    shapes = [resolve(o, spec) for o in schema.get("anyOf", [])] or [schema]
    model = client.ANSWERS[endpoint]
    assert model is not None
    found = [mismatches(model, shape, spec) for shape in shapes]
    assert [] in found, found  # one of the answer's shapes has every field the portal reads


def test_the_alert_kinds_offered_are_those_alerting_knows() -> None:
    spec = openapi("alerting")
    assert set(domain.ALERT_KINDS) == set(spec["components"]["schemas"]["AlertKind"]["enum"])
