"""each as-reported period's people and number of cells

`periods.people` and `periods.cells`: the sum of counts and the number of the period's cells,
written with them by the handlers, so the share of people approved sums ≈ 14 rows per project
instead of joining every cell to `periods` and `approved_periods` (docs/performance.md, B8).
Filled here from the cells already stored.

Revision ID: 0010_h18
Revises: 0009_h18
Create Date: 2026-11-30 21:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_h18"
down_revision: str | Sequence[str] | None = "0009_h18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A default only to add the columns to the rows already there; the handlers write both.
    for name, kind in (("people", sa.BigInteger()), ("cells", sa.Integer())):
        op.add_column(
            "periods",
            sa.Column(name, kind, nullable=False, server_default="0"),
            schema="indicator",
        )
    op.execute("""
        update indicator.periods r set people = s.people, cells = s.cells
        from (select project_id, period, sum(count) as people, count(*) as cells
              from indicator.cells group by project_id, period) s
        where s.project_id = r.project_id and s.period = r.period""")
    for name in ("people", "cells"):
        op.alter_column("periods", name, server_default=None, schema="indicator")


def downgrade() -> None:
    for name in ("cells", "people"):
        op.drop_column("periods", name, schema="indicator")
