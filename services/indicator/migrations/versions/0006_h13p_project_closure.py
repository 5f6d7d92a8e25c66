"""project closure

A closed project stops counting as funded from the day it closed.

Revision ID: 0006_h13p
Revises: 0005_h16
Create Date: 2026-11-30 17:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006_h13p"
down_revision: str | Sequence[str] | None = "0005_h16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("projects", sa.Column("closed_on", sa.Date(), nullable=True), schema="indicator")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("projects", "closed_on", schema="indicator")
