"""silenced checks: arrival rules a project's reports are no longer checked against

Revision ID: 0007_h16b
Revises: 0006_h13t
Create Date: 2026-11-30 17:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_h16b"
down_revision: str | Sequence[str] | None = "0006_h13t"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "silenced_checks",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("silenced_by", sa.String(length=100), nullable=False),
        sa.Column("silenced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["intake.projects.project_id"]),
        sa.PrimaryKeyConstraint("project_id", "rule"),
        schema="intake",
    )


def downgrade() -> None:
    op.drop_table("silenced_checks", schema="intake")
