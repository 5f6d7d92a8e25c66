"""project closure

A closed project has its open milestones cancelled and no report due after it closed.

Revision ID: 0003_h13p
Revises: 0002
Create Date: 2026-11-30 17:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003_h13p"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("projects", sa.Column("closed_on", sa.Date(), nullable=True), schema="milestone")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("projects", "closed_on", schema="milestone")
