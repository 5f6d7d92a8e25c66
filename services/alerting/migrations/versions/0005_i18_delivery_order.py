"""delivery order: a subscription's deliveries are sent one at a time, oldest first

Revision ID: 0005_i18
Revises: 0004_h13t
Create Date: 2026-11-30 22:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_i18"
down_revision: str | Sequence[str] | None = "0004_h13t"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "deliveries",
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False),
        schema="alerting",
    )
    # Rows already kept are numbered again in their creation order, as the sender takes them.
    op.execute(
        """
        UPDATE alerting.deliveries d SET seq = o.n
        FROM (SELECT delivery_id, row_number() OVER (ORDER BY created_at, delivery_id) AS n
              FROM alerting.deliveries) o
        WHERE o.delivery_id = d.delivery_id
        """
    )
    op.execute(
        "SELECT setval(pg_get_serial_sequence('alerting.deliveries', 'seq'),"
        " coalesce((SELECT max(seq) FROM alerting.deliveries), 0) + 1, false)"
    )


def downgrade() -> None:
    op.drop_column("deliveries", "seq", schema="alerting")
