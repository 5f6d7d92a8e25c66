"""national totals kept per reading

`totals` and `approved_totals`: each reading's cells of registered projects summed by
(sheet, kind, level, region, sex, audience, period), kept by the handlers in the cells'
transaction so the national reads stop grouping every cell (docs/performance.md, B8).
Filled here from the cells already stored, as the GROUP BY the reads ran.

Revision ID: 0009_h18
Revises: 0008_h13t
Create Date: 2026-11-30 21:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_h18"
down_revision: str | Sequence[str] | None = "0008_h13t"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ("sheet", "kind", "level", "region", "sex", "audience", "period")
_TABLES = {"totals": "cells", "approved_totals": "approved_cells"}


def upgrade() -> None:
    for totals, cells in _TABLES.items():
        op.create_table(
            totals,
            sa.Column("sheet", sa.String(length=40), nullable=False),
            sa.Column("kind", sa.String(length=12), nullable=False),
            sa.Column("level", sa.String(length=20), nullable=False),
            sa.Column("region", sa.String(length=2), nullable=False),
            sa.Column("sex", sa.String(length=1), nullable=False),
            sa.Column("audience", sa.String(length=40), nullable=False),
            sa.Column("period", sa.String(length=7), nullable=False),
            sa.Column("count", sa.BigInteger(), nullable=False),
            sa.Column("cells", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint(*_KEY),
            schema="indicator",
        )
        # The GROUP BY `IndicatorQueries.tallies` ran at each request before.
        op.execute(f"""
            insert into indicator.{totals} ({", ".join(_KEY)}, count, cells)
            select p.sheet, c.kind, c.level, c.region, c.sex, c.audience, c.period,
                sum(c.count), count(*)
            from indicator.{cells} c join indicator.projects p on p.project_id = c.project_id
            where p.active
            group by p.sheet, c.kind, c.level, c.region, c.sex, c.audience, c.period""")


def downgrade() -> None:
    for totals in _TABLES:
        op.drop_table(totals, schema="indicator")
