"""The reference catalog: versioned data files under `data/`, validated on load.

`load_catalog()` reads the packaged files once (cached); `read_catalog(directory)` reads any
copy of them. Both raise `CatalogError` naming the file and the entry at fault.
"""

from __future__ import annotations

import csv
import functools
import json
from collections import Counter
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from contracts.catalog.models import (
    Audience,
    Catalog,
    Laureate,
    LaureatesFile,
    Level,
    LevelBucket,
    LevelsFile,
    Region,
    Sheet,
    SheetsFile,
)
from contracts.indicators import Target

__all__ = [
    "DATA_DIR",
    "Audience",
    "Catalog",
    "CatalogError",
    "Laureate",
    "Level",
    "LevelBucket",
    "Region",
    "Sheet",
    "load_catalog",
    "read_catalog",
]

DATA_DIR = Path(__file__).parent / "data"
REGION_COUNT = 18
M = TypeVar("M", bound=BaseModel)


class CatalogError(ValueError):
    """The catalog's data files are missing, malformed or inconsistent; one problem a line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _where(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(root)"


def _parse(model: type[M], data: object, name: str, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{name}: {prefix}{_where(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise CatalogError(problems) from exc


def _read_json(directory: Path, name: str, model: type[M]) -> M:
    try:
        data = json.loads((directory / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CatalogError([f"{name}: {exc}"]) from exc
    return _parse(model, data, name)


def _read_regions(directory: Path) -> tuple[dict[str, str], list[Region]]:
    """regions.csv: `# key: value` header lines (version, population_vintage...), then rows."""
    try:
        lines = (directory / "regions.csv").read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CatalogError([f"regions.csv: {exc}"]) from exc
    meta = dict(
        (key.strip(), value.strip())
        for key, _, value in (line[1:].partition(":") for line in lines if line.startswith("#"))
    )
    body = [line for line in lines if line and not line.startswith("#")]
    first = len(lines) - len(body) + 2  # file line number of the first data row
    regions, problems = [], []
    for number, row in enumerate(csv.DictReader(body), start=first):
        try:
            if None in row or None in row.values():
                raise CatalogError([f"regions.csv: line {number}: wrong number of columns"])
            regions.append(_parse(Region, row, "regions.csv", f"line {number}: "))
        except CatalogError as exc:
            problems += exc.problems
    if problems:
        raise CatalogError(problems)
    return meta, regions


def _repeated(values: list[str]) -> list[str]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


def _selector_key(target: Target) -> str:
    levels = None if target.selector.levels is None else sorted(target.selector.levels)
    return f"kind={target.selector.kind.value} levels={levels} audience={target.selector.audience}"


def _check(
    levels: LevelsFile, sheets: SheetsFile, laureates: LaureatesFile, regions: list[Region]
) -> list[str]:
    """Cross-references and uniqueness: one problem a line, each naming its file and entry."""
    known = {
        "level": {level.code for level in levels.levels},
        "audience": {audience.code for audience in levels.audiences},
        "region": {region.insee_code for region in regions},
        "sheet": {sheet.id for sheet in sheets.sheets},
    }
    refs: list[tuple[str, str, str]] = []  # (entry, kind of reference, code)
    unique: list[tuple[str, str, list[str]]] = [  # (entry, what, values that must differ)
        ("levels.json: levels", "code", [level.code for level in levels.levels]),
        ("levels.json: audiences", "code", [audience.code for audience in levels.audiences]),
        ("sheets.json: sheets", "id", [sheet.id for sheet in sheets.sheets]),
        ("sheets.json: sheets", "target id", [t.id for s in sheets.sheets for t in s.targets]),
        ("regions.csv", "insee_code", [region.insee_code for region in regions]),
        ("regions.csv", "iso_code", [region.iso_code for region in regions]),
        ("laureates.json: laureates", "id", [la.id for la in laureates.laureates]),
    ]
    problems = []
    for i, sheet in enumerate(sheets.sheets):
        at = f"sheets.json: sheets[{i}]"
        for j, bucket in enumerate(sheet.level_buckets):
            refs += [(f"{at}.level_buckets[{j}].levels", "level", code) for code in bucket.levels]
        for j, target in enumerate(sheet.targets):
            selector = target.selector
            codes = sorted(selector.levels or ())
            refs += [(f"{at}.targets[{j}].selector.levels", "level", code) for code in codes]
            if selector.audience is not None:
                refs.append((f"{at}.targets[{j}].selector.audience", "audience", selector.audience))
            if target.start < sheet.start:
                problems.append(f"{at}.targets[{j}].start: before the sheet's start {sheet.start}")
        unique.append((f"{at}.level_buckets", "label", [b.label for b in sheet.level_buckets]))
        selectors = [_selector_key(t) for t in sheet.targets]
        unique.append((f"{at}.targets", "selector", selectors))
    for i, laureate in enumerate(laureates.laureates):
        at = f"laureates.json: laureates[{i}]"
        refs.append((f"{at}.sheet", "sheet", laureate.sheet))
        refs += [(f"{at}.regions", "region", code) for code in laureate.regions]
        unique.append((f"{at}.regions", "region", list(laureate.regions)))
    problems += [
        f"{at}: unknown {kind} '{code}'" for at, kind, code in refs if code not in known[kind]
    ]
    problems += [
        f"{at}: duplicate {what} '{value}'"
        for at, what, values in unique
        for value in _repeated(values)
    ]
    if len(regions) != REGION_COUNT:
        problems.append(f"regions.csv: {len(regions)} regions, expected {REGION_COUNT}")
    return problems


def read_catalog(directory: Path = DATA_DIR) -> Catalog:
    """Read and validate the catalog files in `directory`; raise CatalogError on any problem."""
    levels = _read_json(directory, "levels.json", LevelsFile)
    sheets = _read_json(directory, "sheets.json", SheetsFile)
    laureates = _read_json(directory, "laureates.json", LaureatesFile)
    meta, regions = _read_regions(directory)
    problems = _check(levels, sheets, laureates, regions)
    versions = {
        "sheets.json": sheets.version,
        "laureates.json": laureates.version,
        "regions.csv": meta.get("version"),
    }
    problems += [
        f"{name}: version {version!r} differs from levels.json's {levels.version!r}"
        for name, version in versions.items()
        if version != levels.version
    ]
    if not meta.get("population_vintage"):
        problems.append("regions.csv: missing '# population_vintage:' header line")
    if problems:
        raise CatalogError(problems)
    return _parse(
        Catalog,
        {
            "version": levels.version,
            "population_vintage": meta["population_vintage"],
            "levels": {level.code: level for level in levels.levels},
            "audiences": {audience.code: audience for audience in levels.audiences},
            "sheets": {sheet.id: sheet for sheet in sheets.sheets},
            "regions": {region.insee_code: region for region in regions},
            "laureates": laureates.laureates,
        },
        "catalog",
    )


@functools.cache
def load_catalog(directory: Path = DATA_DIR) -> Catalog:
    """The packaged catalog, read and validated once per process."""
    return read_catalog(directory)
