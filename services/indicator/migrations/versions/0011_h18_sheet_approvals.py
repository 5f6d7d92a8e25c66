"""the share approved kept per sheet

`sheet_approvals`: per sheet, active projects' people as reported, those of them in periods
whose latest revision is approved, and their cells, kept by the handlers in the periods'
transaction so `GET /v1/progress` stops joining every period to `approved_periods`
(docs/performance.md, B8). Filled here from the periods already stored, as that join did.

Revision ID: 0011_h18
Revises: 0010_h18
Create Date: 2026-11-30 23:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_h18"
down_revision: str | Sequence[str] | None = "0010_h18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sheet_approvals",
        sa.Column("sheet", sa.String(length=40), nullable=False),
        sa.Column("people", sa.BigInteger(), nullable=False),
        sa.Column("approved", sa.BigInteger(), nullable=False),
        sa.Column("cells", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sheet"),
        schema="indicator",
    )
    # The join `IndicatorQueries.approvals` ran at each request before; a sheet with cells.
    op.execute("""
        insert into indicator.sheet_approvals (sheet, people, approved, cells)
        select p.sheet, sum(r.people),
            coalesce(sum(r.people) filter (where a.revision = r.revision), 0), sum(r.cells)
        from indicator.periods r join indicator.projects p on p.project_id = r.project_id
        left join indicator.approved_periods a
            on a.project_id = r.project_id and a.period = r.period
        where p.active
        group by p.sheet
        having sum(r.cells) > 0""")


def downgrade() -> None:
    op.drop_table("sheet_approvals", schema="indicator")
