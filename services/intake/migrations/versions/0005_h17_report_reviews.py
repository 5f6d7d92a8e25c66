"""report reviews: each revision's review state, who decided it, when, and why

Revision ID: 0005_h17
Revises: 0004_h13p
Create Date: 2026-11-30 17:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_h17"
down_revision: str | Sequence[str] | None = "0004_h13p"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "reports",
        sa.Column(
            "review_status", sa.String(length=10), server_default="submitted", nullable=False
        ),
        schema="intake",
    )
    op.add_column("reports", sa.Column("reviewed_by", sa.String(length=100)), schema="intake")
    op.add_column("reports", sa.Column("reviewed_at", sa.DateTime(timezone=True)), schema="intake")
    op.add_column("reports", sa.Column("review_comment", sa.Text()), schema="intake")
    op.create_index(
        "reports_review_queue",
        "reports",
        ["review_status", "submitted_at"],
        schema="intake",
    )


def downgrade() -> None:
    op.drop_index("reports_review_queue", table_name="reports", schema="intake")
    for column in ("review_comment", "reviewed_at", "reviewed_by", "review_status"):
        op.drop_column("reports", column, schema="intake")
