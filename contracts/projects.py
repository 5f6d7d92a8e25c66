"""HTTP payloads for registering a funded project and declaring its milestones."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from contracts.catalog import load_catalog
from contracts.events import MilestoneSpec
from contracts.indicators import Target
from contracts.reports import CatalogEnum, PeriodDay, RegionCode
from contracts.text import Text


def _check_sheet(value: str) -> str:
    if value not in load_catalog().sheets:
        raise ValueError(f"unknown sheet {value!r}; known: {', '.join(load_catalog().sheets)}")
    return value


def _check_selector_levels(target: Target) -> Target:
    levels = load_catalog().levels
    unknown = sorted(set(target.selector.levels or ()) - set(levels))
    if unknown:
        raise ValueError(f"unknown levels {unknown} in selector")
    return target


SheetId = Annotated[str, AfterValidator(_check_sheet), CatalogEnum("sheets")]
Commitment = Annotated[Target, AfterValidator(_check_selector_levels)]


class ProjectIn(BaseModel):
    """The body of `POST /v1/projects` (programme staff)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sheet: SheetId
    wave: Text = Field(min_length=1, max_length=40)
    name: Text = Field(min_length=1, max_length=200)
    lead: Text = Field(min_length=1, max_length=200)
    regions: list[RegionCode] = Field(min_length=1, max_length=18)
    start_date: PeriodDay
    end_date: PeriodDay
    funding_eur: int | None = Field(default=None, ge=0, le=10_000_000_000)
    commitments: tuple[Commitment, ...] = Field(default=(), max_length=50)
    milestones: tuple[MilestoneSpec, ...] = Field(default=(), max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> ProjectIn:
        if self.end_date <= self.start_date:
            raise ValueError("end_date must be after start_date")
        if len(set(self.regions)) != len(self.regions):
            raise ValueError("regions must not repeat")
        for name, items in (
            ("commitments", [c.id for c in self.commitments]),
            ("milestones", [m.milestone_id for m in self.milestones]),
        ):
            if len(set(items)) != len(items):
                raise ValueError(f"{name} ids must be unique")
        return self


class ProjectCreated(BaseModel):
    project_id: UUID
    api_token: str = Field(description="Shown once; only its SHA-256 is stored.")


class MilestonesIn(BaseModel):
    """The body of `POST /v1/projects/{id}/milestones`: declares new milestones or
    reschedules existing ones (same `milestone_id`, with a reason)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    milestones: list[MilestoneSpec] = Field(min_length=1, max_length=200)
    reason: Text | None = Field(default=None, max_length=500)


class MilestoneCompletionIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    completed_on: date
    evidence: Text | None = Field(default=None, max_length=2000)
