"""The reference catalog's models: levels, audiences, sheets with targets, regions, laureates.

Each model checks its own fields; cross-references between files are checked by the loader.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.indicators import Audience as AudienceCode
from contracts.indicators import Target

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
LevelCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9+-]{0,39}$")]
InseeCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
Version = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}\.[0-9]{2}-[0-9]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Level(_Frozen):
    """A canonical education level that report cells use (`bac+5`, `formation-continue`...)."""

    code: LevelCode
    label: Text


class Audience(_Frozen):
    """An audience tag a report cell may carry (`students`, `teachers`...)."""

    code: AudienceCode
    label: Text


class LevelBucket(_Frozen):
    """A column of a sheet's own level breakdown, as a set of canonical levels."""

    label: Text
    levels: tuple[LevelCode, ...] = Field(min_length=1)


class Sheet(_Frozen):
    """A thematic sheet (fiche thématique) with its quantified targets."""

    id: Slug
    name: Text
    start: date
    level_buckets: list[LevelBucket]
    targets: list[Target]
    source_lines: Text
    reading: Text


class Region(_Frozen):
    """A French region (2016 boundaries) with its legal population; lat/lon of its prefecture."""

    insee_code: InseeCode
    iso_code: Annotated[str, StringConstraints(pattern=r"^FR-[A-Z0-9]{2,3}$")]
    name: Text
    population: int = Field(gt=0)
    population_year: int = Field(ge=1990, le=2100)
    source: Text
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Laureate(_Frozen):
    """A funded project named in the programme document.

    `regions` is empty only when the document names no region (a national project):
    such a laureate then covers no region for funded coverage.
    """

    id: Slug
    sheet: Slug
    wave: Text
    name: Text
    lead: Text
    place: Text | None = None
    regions: tuple[InseeCode, ...] = ()
    committed_trained: Count | None = None
    committed_sensitised: Count | None = None
    funding_eur: Count | None = None
    source_lines: Text


class Catalog(_Frozen):
    """The whole validated reference catalog (build it with `load_catalog`)."""

    version: Version
    population_vintage: Text
    levels: dict[str, Level]
    audiences: dict[str, Audience]
    sheets: dict[str, Sheet]
    regions: dict[str, Region]
    laureates: list[Laureate]

    @property
    def total_population(self) -> int:
        return sum(region.population for region in self.regions.values())


class LevelsFile(_Frozen):
    version: Version
    levels: list[Level] = Field(min_length=1)
    audiences: list[Audience] = Field(min_length=1)


class SheetsFile(_Frozen):
    version: Version
    sheets: list[Sheet] = Field(min_length=1)


class LaureatesFile(_Frozen):
    version: Version
    laureates: list[Laureate]
