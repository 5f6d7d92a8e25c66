"""subscription lifecycle

A subscription can be paused (told nothing until resumed) and deleted while its delivery log
stays (`deleted_at` rather than a row removed with its deliveries).

Revision ID: 0003_h13a
Revises: 0002
Create Date: 2026-11-30 17:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003_h13a"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "subscriptions",
        sa.Column("paused", sa.Boolean(), server_default="false", nullable=False),
        schema="alerting",
    )
    op.add_column(
        "subscriptions",
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        schema="alerting",
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("subscriptions", "deleted_at", schema="alerting")
    op.drop_column("subscriptions", "paused", schema="alerting")
