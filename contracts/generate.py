"""Build tool: writes the JSON Schemas of the contracts into `contracts/schemas/`.

`python -m contracts.generate` rewrites them; `--check` writes nothing, lists the files that
differ from the models and exits 1 (a contract test runs the same check).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contracts import events, projects, reports, topics

SCHEMAS_DIR = Path(__file__).parent / "schemas"
HTTP_MODELS: tuple[type[BaseModel], ...] = (
    reports.ReportIn,
    reports.ReviewIn,
    projects.ProjectIn,
    projects.ProjectCreated,
    projects.MilestonesIn,
    projects.MilestoneCompletionIn,
)
TOPIC_EVENTS: dict[str, tuple[type[BaseModel], ...]] = {
    topics.PROJECTS.name: (events.ProjectRegistered, events.ProjectTokenRotated),
    topics.REPORTS.name: (events.IndicatorReportSubmitted, events.ReportReviewed),
    topics.MILESTONES.name: (events.MilestoneDeclared, events.MilestoneCompleted),
    topics.PROGRESS.name: (events.ProjectTotalsChanged,),
    topics.STATUS.name: (
        events.MilestoneStatusChanged,
        events.ReportOverdue,
        events.ReportOverdueCleared,
    ),
    topics.ACCESS.name: (events.StaffTokenIssued, events.StaffTokenRevoked),
    topics.DEAD_LETTERS.name: events.EVENT_TYPES,  # whatever a consumer gave up on, as received
}


def event_file_name(event: type[BaseModel]) -> str:
    fields = event.model_fields
    return f"{fields['type'].default}.v{fields['schema_version'].default}.json"


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def topic_entry(topic: topics.Topic) -> dict[str, Any]:
    return {
        "name": topic.name,
        "partitions": topic.partitions,
        "description": topic.description,
        "key": topic.key,  # contracts.topics.event_key
        "event_types": [e.model_fields["type"].default for e in TOPIC_EVENTS[topic.name]],
    }


def expected_files(root: Path = SCHEMAS_DIR) -> dict[Path, str]:
    files = {root / event_file_name(e): render(e.model_json_schema()) for e in events.EVENT_TYPES}
    for model in HTTP_MODELS:
        files[root / "http" / f"{model.__name__}.json"] = render(model.model_json_schema())
    files[root / "topics.json"] = render([topic_entry(t) for t in topics.ALL])
    return files


def sync(files: Mapping[Path, str], *, check: bool, owned: Iterable[Path] = ()) -> list[Path]:
    """The files that differ, or among `owned` should not exist; written unless `check`."""
    stale = sorted(p for p in owned if p not in files)
    drifted = [p for p, text in sorted(files.items()) if not p.is_file() or p.read_text() != text]
    if not check:
        for path in drifted:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path], encoding="utf-8")
        for path in stale:
            path.unlink()
    return drifted + stale


def owned_files(root: Path = SCHEMAS_DIR) -> list[Path]:
    return [*root.glob("*.v[0-9]*.json"), *root.glob("http/*.json")]


def drift(root: Path = SCHEMAS_DIR) -> list[Path]:
    """The schema files that do not match the models, or that no model produces any more."""
    return sync(expected_files(root), check=True, owned=owned_files(root))


def main(argv: list[str] | None, files: Mapping[Path, str], owned: Iterable[Path] = ()) -> int:
    parser = argparse.ArgumentParser(description="Generate (or --check) schema files.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 on drift")
    check = parser.parse_args(argv).check
    changed = sync(files, check=check, owned=owned)
    for path in changed:
        print(f"{'differs' if check else 'written'}: {path}")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], expected_files(), owned_files()))
