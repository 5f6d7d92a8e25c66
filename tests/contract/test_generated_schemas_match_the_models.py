"""The checked-in JSON Schemas and AsyncAPI documents are exactly what the code generates.

On failure, regenerate with `python -m contracts.generate` and `cma asyncapi` (`make schemas`),
review the diff and commit it (a breaking change needs a new topic version).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from contracts import generate, topics
from contracts.events import EVENT_TYPES
from services.command import asyncapi
from services.runtime import registry
from services.runtime.token_events import REVOCATION_TOPICS
from tests.contract.samples import SAMPLES

REGENERATE = "stale; run `make schemas` (`python -m contracts.generate && cma asyncapi`)"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_checked_in_json_schemas_match_the_contracts() -> None:
    drifted = generate.drift()
    assert not drifted, f"{REGENERATE}:\n" + "\n".join(map(str, drifted))


def test_the_checked_in_asyncapi_documents_match_the_services_brokers() -> None:
    drifted = asyncapi.drift()
    assert not drifted, f"{REGENERATE}:\n" + "\n".join(map(str, drifted))


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_each_event_schema_file_describes_a_sample_event_of_its_model(event: BaseModel) -> None:
    # jsonschema is not installed: compare the file with the model, then check the sample's shape.
    schema = load(generate.SCHEMAS_DIR / generate.event_file_name(type(event)))
    assert schema == type(event).model_json_schema()
    sample = json.loads(event.model_dump_json())
    assert set(schema["required"]) <= set(sample) <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    assert schema["properties"]["type"]["const"] == sample["type"]
    payload = schema["$defs"][schema["properties"]["payload"]["$ref"].rsplit("/", 1)[1]]
    assert set(payload["required"]) <= set(sample["payload"]) <= set(payload["properties"])


def test_the_topics_file_puts_every_event_type_on_a_topic_keyed_by_its_subject() -> None:
    entries = {t["name"]: t for t in load(generate.SCHEMAS_DIR / "topics.json")}
    assert set(entries) == {t.name for t in topics.ALL}
    keys = {name: e["key"] for name, e in entries.items()}
    assert keys == {t.name: "token_id" if t is topics.ACCESS else "project_id" for t in topics.ALL}
    carried = {name for e in entries.values() for name in e["event_types"]}
    assert carried == {t.model_fields["type"].default for t in EVENT_TYPES}


def test_check_mode_lists_drifted_and_stale_files_without_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate.sync(generate.expected_files(tmp_path), check=False)
    assert generate.drift(tmp_path) == []
    edited = tmp_path / "http" / "ReportIn.json"
    edited.write_text("{}\n")
    stale = tmp_path / "project.deleted.v1.json"
    stale.write_text("{}\n")

    assert generate.drift(tmp_path) == [edited, stale]
    owned = generate.owned_files(tmp_path)
    assert generate.main(["--check"], generate.expected_files(tmp_path), owned) == 1
    assert f"differs: {edited}" in capsys.readouterr().out
    assert edited.read_text() == "{}\n" and stale.exists()

    assert generate.main([], generate.expected_files(tmp_path), owned) == 0
    assert generate.drift(tmp_path) == [] and not stale.exists()


def _refs(node: Any) -> list[str]:
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    if not isinstance(node, dict):
        return []
    own = [node["$ref"]] if "$ref" in node else []
    return own + [ref for value in node.values() for ref in _refs(value)]


def _resolve(document: Any, ref: str) -> Any:
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


@pytest.mark.parametrize("service", registry.NAMES)
def test_every_reference_in_the_asyncapi_document_resolves(service: str) -> None:
    document = load(generate.SCHEMAS_DIR / f"asyncapi-{service}.json")
    for ref in _refs(document):
        _resolve(document, ref)


@pytest.mark.parametrize("spec", registry.SERVICES, ids=lambda spec: spec.name)
def test_the_asyncapi_document_shows_what_each_service_receives_and_sends(
    spec: registry.ServiceSpec,
) -> None:
    # Every process also reads the revocations of tokens, without a group.
    receives = {consumption.topic for consumption in spec.consumes} | set(REVOCATION_TOPICS)
    sends = set(spec.produces)
    assert receives | sends, f"{spec.name} neither receives nor sends"
    document = load(generate.SCHEMAS_DIR / f"asyncapi-{spec.name}.json")
    seen: dict[str, set[str]] = {"receive": set(), "send": set()}
    for name, operation in document["operations"].items():
        channel = document["channels"][name]
        seen[operation["action"]].add(channel["address"])
        for ref in channel["messages"].values():
            payload = _resolve(document, ref["$ref"])["payload"]
            assert payload != {"$ref": "#/components/schemas/EmptyPayload"}, name
    assert seen == {"receive": {t.name for t in receives}, "send": {t.name for t in sends}}
