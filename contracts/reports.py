"""An indicator report: one project, one period (a calendar semester), a set of cells.

Rules every reader of a report relies on live here: a cell's level, region and audience come
from the catalog; a report holds each cell once; `alternance` is "of which in alternance"
among `trained` and may not exceed it in the same cell.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from contracts.catalog import load_catalog
from contracts.indicators import CellKind, Sex
from contracts.text import Text

PERIOD_PATTERN = r"^20[2-3][0-9]-S[12]$"
Period = Annotated[str, StringConstraints(pattern=PERIOD_PATTERN)]
"""`YYYY-S1` is 1 January to 30 June, `YYYY-S2` is 1 July to 31 December."""
FIRST_DAY, LAST_DAY = date(2020, 1, 1), date(2039, 12, 31)
PeriodDay = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
"""A day some `Period` can name: a project runs within them, or its semesters could not be
reported (nor flagged overdue)."""

MAX_COUNT = 10_000_000
MAX_CELLS = 5_000


def period_bounds(period: str) -> tuple[date, date]:
    year, half = int(period[:4]), period[-1]
    return (
        (date(year, 1, 1), date(year, 6, 30))
        if half == "1"
        else (
            date(year, 7, 1),
            date(year, 12, 31),
        )
    )


def period_of(day: date) -> str:
    return f"{day.year}-S{1 if day.month <= 6 else 2}"


def _check_level(value: str) -> str:
    if value not in load_catalog().levels:
        raise ValueError(f"unknown level {value!r}; known: {', '.join(load_catalog().levels)}")
    return value


def _check_region(value: str) -> str:
    if value not in load_catalog().regions:
        raise ValueError(f"unknown region {value!r}: expected a 2-digit INSEE region code")
    return value


def _check_audience(value: str | None) -> str | None:
    if value is not None and value not in load_catalog().audiences:
        known = ", ".join(load_catalog().audiences)
        raise ValueError(f"unknown audience {value!r}; known: {known}")
    return value


class CatalogEnum:
    """Publishes a catalog's codes as the JSON Schema `enum` of a field its validator checks,
    so that clients (and schema-driven fuzzers) know the values without reading the code."""

    def __init__(self, part: str) -> None:
        self.part = part  # "levels", "regions", "audiences" or "sheets"

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema: dict[str, object] = handler(core_schema)
        schema["enum"] = sorted(getattr(load_catalog(), self.part))
        return schema


Level = Annotated[str, AfterValidator(_check_level), CatalogEnum("levels")]
RegionCode = Annotated[str, AfterValidator(_check_region), CatalogEnum("regions")]
KnownAudience = Annotated[
    Annotated[str, CatalogEnum("audiences")] | None, AfterValidator(_check_audience)
]


class Cell(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CellKind
    level: Level
    region: RegionCode
    sex: Sex | None = None
    audience: KnownAudience = None
    count: int = Field(strict=True, ge=0, le=MAX_COUNT)

    @property
    def coordinates(self) -> tuple[str, str, Sex | None, str | None]:
        """The cell without its kind and count: where `alternance` meets its `trained`."""
        return (self.level, self.region, self.sex, self.audience)


def check_cells(
    cells: tuple[Cell, ...] | list[Cell], label: Callable[[int], str] = "cells[{}]".format
) -> None:
    """Report-level rules; raises ValueError naming the offending cell by `label(index)`."""
    seen: dict[tuple[object, ...], int] = {}
    trained: dict[tuple[object, ...], int] = {}
    for index, cell in enumerate(cells):
        key = (cell.kind, *cell.coordinates)
        if key in seen:
            raise ValueError(f"{label(index)}: duplicates {label(seen[key])}")
        seen[key] = index
        if cell.kind is CellKind.TRAINED:
            trained[cell.coordinates] = cell.count
    for index, cell in enumerate(cells):
        if cell.kind is CellKind.ALTERNANCE and cell.count > trained.get(cell.coordinates, 0):
            raise ValueError(
                f"{label(index)}: alternance ({cell.count}) exceeds trained "
                f"({trained.get(cell.coordinates, 0)}) in the same cell"
            )


class ReportIn(BaseModel):
    """The JSON body of `POST /v1/projects/{project_id}/reports`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period: Period
    reason: Text | None = Field(default=None, max_length=500)
    cells: list[Cell] = Field(min_length=1, max_length=MAX_CELLS)  # a list: tuple adds a
    # spurious "too short" error when an item fails

    @model_validator(mode="after")
    def _cells_are_consistent(self) -> ReportIn:
        check_cells(self.cells)
        return self


class ReviewDecision(StrEnum):
    """What a programme officer decides on a report's revision (docs/review.md)."""

    APPROVED = "approved"
    RETURNED = "returned"


class ReviewIn(BaseModel):
    """The JSON body of `POST /v1/projects/{project_id}/reports/{period}/revisions/{n}/review`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: ReviewDecision
    comment: Text | None = Field(
        default=None,
        max_length=2000,
        description="Required when returning: what the project must correct (French).",
    )

    @model_validator(mode="after")
    def _returned_says_why(self) -> ReviewIn:
        if self.decision is ReviewDecision.RETURNED and not (self.comment or "").strip():
            raise ValueError("a returned report needs a comment saying what to correct")
        return self
