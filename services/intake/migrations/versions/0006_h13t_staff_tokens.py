"""staff tokens

The record of named staff tokens; who registered a project (docs/security.md, Tokens).

Revision ID: 0006_h13t
Revises: 0005_h17
Create Date: 2026-11-30 17:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006_h13t"
down_revision: str | Sequence[str] | None = "0005_h17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LABELS = (  # (table, column, width before, nullable): who did it
    ("reports", "submitted_by", 100, False),
    ("amendments", "amended_by", 200, False),
    ("projects", "closed_by", 200, True),
)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "staff_tokens",
        sa.Column("token_id", sa.Uuid(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=400), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=400), nullable=True),
        sa.PrimaryKeyConstraint("token_id"),
        sa.UniqueConstraint("token_sha256"),
        schema="intake",
    )
    op.add_column("projects", sa.Column("registered_by", sa.String(length=400)), schema="intake")
    # A named staff member's label (`name <email>`, up to 357 characters) outgrows these.
    for table, column, width, nullable in _LABELS:
        op.alter_column(
            table,
            column,
            type_=sa.String(length=400),
            existing_type=sa.String(length=width),
            existing_nullable=nullable,
            schema="intake",
        )


def downgrade() -> None:
    """Downgrade schema."""
    for table, column, width, nullable in _LABELS:
        op.alter_column(
            table,
            column,
            type_=sa.String(length=width),
            existing_type=sa.String(length=400),
            existing_nullable=nullable,
            schema="intake",
        )
    op.drop_column("projects", "registered_by", schema="intake")
    op.drop_table("staff_tokens", schema="intake")
