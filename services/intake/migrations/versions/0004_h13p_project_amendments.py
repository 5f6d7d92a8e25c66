"""project status, closure and amendments

A project may now be amended (each amendment kept: who, when, why, what changed) and closed
(completed or abandoned, from a date).

Revision ID: 0004_h13p
Revises: 0003_h16
Create Date: 2026-11-30 17:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0004_h13p"
down_revision: str | Sequence[str] | None = "0003_h16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    for column in (
        sa.Column("status", sa.String(length=10), server_default="active", nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closure_reason", sa.Text(), nullable=True),
    ):
        op.add_column("projects", column, schema="intake")
    op.create_index(
        "projects_by_creation", "projects", ["created_at", "project_id"], schema="intake"
    )
    op.create_table(
        "amendments",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("amended_by", sa.String(length=200), nullable=False),
        sa.Column("amended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["intake.projects.project_id"]),
        sa.PrimaryKeyConstraint("project_id", "seq"),
        schema="intake",
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("amendments", schema="intake")
    op.drop_index("projects_by_creation", table_name="projects", schema="intake")
    for name in ("closure_reason", "closed_at", "closed_by", "closed_on", "status"):
        op.drop_column("projects", name, schema="intake")
