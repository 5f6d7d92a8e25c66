"""delivery claims

A delivery is claimed by a short committed update (who, until when) instead of a row lock
held while it is sent.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "deliveries",
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        schema="alerting",
    )
    op.add_column(
        "deliveries",
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        schema="alerting",
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("deliveries", "claimed_until", schema="alerting")
    op.drop_column("deliveries", "claimed_by", schema="alerting")
