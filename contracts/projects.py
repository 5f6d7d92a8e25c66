"""HTTP payloads for registering a funded project and declaring its milestones."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from contracts.catalog import load_catalog
from contracts.events import MilestoneSpec, ProjectStatus
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
CommitmentId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


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


class CommitmentsAmendment(BaseModel):
    """Commitments `added` (new ids), `changed` (an existing id, given whole) or `withdrawn`
    (by id); the others stay as they are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    added: tuple[Commitment, ...] = Field(default=(), max_length=50)
    changed: tuple[Commitment, ...] = Field(default=(), max_length=50)
    withdrawn: tuple[CommitmentId, ...] = Field(default=(), max_length=50)

    @model_validator(mode="after")
    def _each_id_once(self) -> CommitmentsAmendment:
        ids = [c.id for c in (*self.added, *self.changed)] + list(self.withdrawn)
        if len(set(ids)) != len(ids):
            raise ValueError("a commitment id appears more than once")
        return self


class ProjectAmendmentIn(BaseModel):
    """The body of `PATCH /v1/projects/{id}` (programme staff): the fields that change, each
    given whole (`regions` is the new list), and why. `funding_eur: null` clears it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Text = Field(min_length=1, max_length=500)
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    lead: Text | None = Field(default=None, min_length=1, max_length=200)
    end_date: PeriodDay | None = None
    funding_eur: int | None = Field(default=None, ge=0, le=10_000_000_000)
    regions: list[RegionCode] | None = Field(default=None, min_length=1, max_length=18)
    commitments: CommitmentsAmendment | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> ProjectAmendmentIn:
        if not self.model_fields_set - {"reason"}:
            raise ValueError("give at least one field to amend besides the reason")
        for name in sorted(self.model_fields_set - {"reason", "funding_eur"}):
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null (only funding_eur may be cleared)")
        if self.regions is not None and len(set(self.regions)) != len(self.regions):
            raise ValueError("regions must not repeat")
        return self


class ProjectClosureIn(BaseModel):
    """The body of `POST /v1/projects/{id}/close` (programme staff)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal[ProjectStatus.COMPLETED, ProjectStatus.ABANDONED]
    on: PeriodDay = Field(description="The day it closed: not in the future.")
    reason: Text = Field(min_length=1, max_length=500)
