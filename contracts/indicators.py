"""What a report cell is, and how a target selects cells: the rules every service shares."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.text import Text

Audience = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,39}$")]
"""A free audience tag (e.g. `staff`, `teachers`): lower-case, digits and dashes, ≤ 40 chars."""


class CellKind(StrEnum):
    TRAINED = "trained"
    SENSITISED = "sensitised"
    ALTERNANCE = "alternance"  # "of which in alternance", counted among `trained`


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"


class Selector(BaseModel):
    """Which reported cells a target counts: a kind, optionally a set of canonical levels
    (None = every level) and optionally one audience (None = every audience)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CellKind
    levels: frozenset[str] | None = None
    audience: Audience | None = None

    def matches(self, kind: str, level: str, audience: str | None) -> bool:
        return (
            kind == self.kind
            and (self.levels is None or level in self.levels)
            and (self.audience is None or audience == self.audience)
        )


class Target(BaseModel):
    """A quantified objective: `value` matching people by `horizon`, on a linear trajectory
    from `start` (the sheet's or the project's start)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    label: Text = Field(min_length=1, max_length=200)
    selector: Selector
    value: int = Field(gt=0, le=10_000_000)
    start: date
    horizon: date

    @model_validator(mode="after")
    def _horizon_after_start(self) -> Target:
        if self.horizon <= self.start:
            raise ValueError("horizon must be after start")
        return self

    def expected_ratio(self, at: date) -> float:
        """Share of `value` expected at `at` on the linear trajectory, clamped to [0, 1]."""
        elapsed = (at - self.start).days / (self.horizon - self.start).days
        return min(1.0, max(0.0, elapsed))

    def is_behind(self, actual: int, at: date, tolerance: float) -> bool:
        """Below the trajectory by more than `tolerance` (a share of `value`)."""
        return actual / self.value < self.expected_ratio(at) - tolerance
