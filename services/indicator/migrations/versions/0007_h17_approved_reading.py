"""the approved reading: each period's latest approved revision and its cells

Revision ID: 0007_h17
Revises: 0006_h13p
Create Date: 2026-11-30 17:20:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_h17"
down_revision: str | Sequence[str] | None = "0006_h13p"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approved_periods",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "period"),
        schema="indicator",
    )
    op.create_table(
        "approved_cells",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("audience", sa.String(length=40), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id", "period", "kind", "level", "region", "sex", "audience"
        ),
        schema="indicator",
    )


def downgrade() -> None:
    op.drop_table("approved_cells", schema="indicator")
    op.drop_table("approved_periods", schema="indicator")
