"""alert conditions evaluated by the indicator

Revision ID: 0005_h16
Revises: 0004
Create Date: 2026-11-30 17:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_h16"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conditions",
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("summary", sa.String(length=400), nullable=False),
        sa.Column("project", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("transitions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint"),
        schema="indicator",
    )


def downgrade() -> None:
    op.drop_table("conditions", schema="indicator")
