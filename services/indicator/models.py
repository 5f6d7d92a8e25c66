"""Indicator's tables, in its own `indicator` schema: projects as registered, the latest
revision of each period, and that revision's cells. Totals are sums over `cells`; the national
ones are also kept, per reading, in `totals` and `approved_totals` (and summed further to what
the national reads need in `sheet_totals`, `region_totals` and their approved twins), and the
share approved per sheet in `sheet_approvals`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from services.runtime.db import leases_table, outbox_table, processed_events_table
from services.runtime.token_events import staff_tokens_table

metadata = MetaData(schema="indicator")

projects = Table(
    "projects",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("sheet", String(40), nullable=False, index=True),
    Column("wave", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("lead", String(200), nullable=False),
    Column("regions", ARRAY(String(2)), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("funding_eur", BigInteger),
    Column("commitments", JSONB, nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("closed_on", Date),  # not funded from this day; its figures still count
)

# The revision whose cells are in `cells`; an event with a revision not above it is ignored.
# `people` and `cells` are its cells' sum of counts and number, written with them: the share
# of people approved sums these rows, not every cell (docs/performance.md, B8).
periods = Table(
    "periods",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("report_id", Uuid, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("people", BigInteger, nullable=False),
    Column("cells", Integer, nullable=False),
)

# `sex` and `audience` hold "" when the report left them out, so the key stays total.
cells = Table(
    "cells",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("kind", String(12), primary_key=True),
    Column("level", String(20), primary_key=True),
    Column("region", String(2), primary_key=True),
    Column("sex", String(1), primary_key=True),
    Column("audience", String(40), primary_key=True),
    Column("count", BigInteger, nullable=False),
)
Index("cells_by_kind_level_region", cells.c.kind, cells.c.level, cells.c.region)

# The approved reading (docs/review.md): each period's latest approved revision and its cells,
# kept as `periods` and `cells` are for the reading as reported.
approved_periods = Table(
    "approved_periods",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("report_id", Uuid, nullable=False),
    Column("reviewed_at", DateTime(timezone=True), nullable=False),
)
approved_cells = Table(
    "approved_cells",
    metadata,
    *(Column(c.name, c.type, primary_key=c.primary_key, nullable=False) for c in cells.columns),
)


def _totals(name: str) -> Table:
    """A reading's cells of registered projects summed by every dimension (sheet from the
    project): the GROUP BY the national reads would otherwise run over every cell at each
    request (docs/performance.md, B8). Kept by the handlers in the cells' own transaction
    (services/indicator/kept_totals.py). A row exists iff at least one cell contributes
    (`cells` > 0), so the rows are exactly that GROUP BY's groups, zero counts included.
    Only active projects count, as in the reads over cells; `projects.active` is never set
    false (nor true again): whatever changes it one day must take the project's cells out of
    these tables (or put them back) in the same transaction."""
    return Table(
        name,
        metadata,
        Column("sheet", String(40), primary_key=True),
        # The cells' own dimensions, typed as there.
        *(
            Column(name, cells.c[name].type, primary_key=True)
            for name in ("kind", "level", "region", "sex", "audience", "period")
        ),
        Column("count", BigInteger, nullable=False),
        Column("cells", Integer, nullable=False),  # how many cells the count sums
    )


totals = _totals("totals")
approved_totals = _totals("approved_totals")


def _rolled_up(name: str, dimensions: tuple[str, ...]) -> Table:
    """A reading's kept totals summed further, by sheet and `dimensions`: exactly the rows one
    national read needs (`figures.SHEET_BY`, `figures.COVERAGE_BY`), so it reads them as kept
    instead of grouping the ≤ 56,448 rows of `totals` at each request (docs/performance.md,
    B8). Kept from the same deltas as the totals, in the same upsert and transaction
    (`kept_totals.rolled_up`); a row exists iff a cell contributes, as in `totals`."""
    return Table(
        name,
        metadata,
        Column("sheet", String(40), primary_key=True),
        *(Column(d, cells.c[d].type, primary_key=True) for d in dimensions),
        Column("count", BigInteger, nullable=False),
        Column("cells", Integer, nullable=False),
    )


_BY_SHEET = ("kind", "level", "audience", "period")
_BY_REGION = ("region",)
sheet_totals = _rolled_up("sheet_totals", _BY_SHEET)
approved_sheet_totals = _rolled_up("approved_sheet_totals", _BY_SHEET)
region_totals = _rolled_up("region_totals", _BY_REGION)
approved_region_totals = _rolled_up("approved_region_totals", _BY_REGION)

# Per sheet, active projects' people as reported (`periods.people`), those of them in periods
# whose latest revision is approved, and the cells they sum: the national share approved
# (`IndicatorQueries.approvals`), kept by the handlers in the periods' transaction
# (services/indicator/kept_approvals.py) instead of joining every period to `approved_periods`
# at each `GET /v1/progress` (docs/performance.md, B8). A row exists iff a cell contributes.
sheet_approvals = Table(
    "sheet_approvals",
    metadata,
    Column("sheet", String(40), primary_key=True),
    Column("people", BigInteger, nullable=False),
    Column("approved", BigInteger, nullable=False),
    Column("cells", Integer, nullable=False),
)

# Alert conditions as last evaluated (services/indicator/watch.py): a change of `firing` is
# one transition, numbered, and one `condition.changed` event.
conditions = Table(
    "conditions",
    metadata,
    Column("fingerprint", String(200), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("project_id", Uuid, nullable=False),
    Column("subject", String(120), nullable=False),
    Column("summary", String(400), nullable=False),
    Column("project", JSONB, nullable=False),
    Column("firing", Boolean, nullable=False),
    Column("transitions", Integer, nullable=False),
)

processed_events = processed_events_table(metadata)
outbox = outbox_table(metadata)
leases = leases_table(metadata)  # the outbox relay's, among the replicas

staff_tokens = staff_tokens_table(metadata)  # named staff tokens (docs/security.md, Tokens)
