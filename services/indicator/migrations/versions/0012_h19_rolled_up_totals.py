"""national totals summed further, to what the national reads need

`sheet_totals` and `region_totals` (and their approved twins): each reading's kept totals
summed by (sheet, kind, level, audience, period), what `GET /v1/progress` reads, and by
(sheet, region), what `GET /v1/coverage` reads; kept by the handlers from the totals' own
deltas, so those reads stop grouping the ≤ 56,448 rows of `totals` at each request
(docs/performance.md, B8). Filled here from the kept totals, as that GROUP BY.

Revision ID: 0012_h19
Revises: 0011_h18
Create Date: 2026-12-01 05:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_h19"
down_revision: str | Sequence[str] | None = "0011_h18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = {
    "kind": sa.String(length=12),
    "level": sa.String(length=20),
    "region": sa.String(length=2),
    "audience": sa.String(length=40),
    "period": sa.String(length=7),
}
_BY = {"sheet_totals": ("kind", "level", "audience", "period"), "region_totals": ("region",)}
_READINGS = {"": "totals", "approved_": "approved_totals"}


def upgrade() -> None:
    for prefix, totals in _READINGS.items():
        for name, dimensions in _BY.items():
            op.create_table(
                prefix + name,
                sa.Column("sheet", sa.String(length=40), nullable=False),
                *(sa.Column(d, _COLUMNS[d], nullable=False) for d in dimensions),
                sa.Column("count", sa.BigInteger(), nullable=False),
                sa.Column("cells", sa.Integer(), nullable=False),
                sa.PrimaryKeyConstraint("sheet", *dimensions),
                schema="indicator",
            )
            key = ", ".join(("sheet", *dimensions))
            op.execute(f"""
                insert into indicator.{prefix}{name} ({key}, count, cells)
                select {key}, sum(count), sum(cells) from indicator.{totals}
                group by {key}""")


def downgrade() -> None:
    for prefix in _READINGS:
        for name in _BY:
            op.drop_table(prefix + name, schema="indicator")
