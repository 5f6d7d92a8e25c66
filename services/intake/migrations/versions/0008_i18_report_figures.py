"""report figures: each revision's totals that the checks on arrival compare with

Kept beside the cells when a report is stored, so that a new report's checks read three
numbers per period instead of decoding every period's cells (docs/performance.md, B1).

Revision ID: 0008_i18
Revises: 0007_h16b
Create Date: 2026-11-30 20:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_i18"
down_revision: str | Sequence[str] | None = "0007_h16b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIGURES = ("total_count", "trained_count", "sex_split")


def upgrade() -> None:
    op.add_column("reports", sa.Column("total_count", sa.BigInteger()), schema="intake")
    op.add_column("reports", sa.Column("trained_count", sa.BigInteger()), schema="intake")
    op.add_column("reports", sa.Column("sex_split", sa.Boolean()), schema="intake")
    # The same figures as services.intake.anomalies.PeriodFigures.of, for the rows already kept.
    op.execute(
        """
        UPDATE intake.reports r SET
            total_count = f.total, trained_count = f.trained, sex_split = f.split
        FROM (
            SELECT r2.report_id,
                coalesce(sum((c->>'count')::bigint) FILTER (WHERE c->>'kind' <> 'alternance'), 0)
                    AS total,
                coalesce(sum((c->>'count')::bigint) FILTER (WHERE c->>'kind' = 'trained'), 0)
                    AS trained,
                coalesce(bool_or(c->>'kind' = 'trained' AND c->>'sex' IS NOT NULL), false)
                    AS split
            FROM intake.reports r2 LEFT JOIN LATERAL jsonb_array_elements(r2.cells) c ON true
            GROUP BY r2.report_id
        ) f
        WHERE f.report_id = r.report_id
        """
    )
    for column in FIGURES:
        op.alter_column("reports", column, nullable=False, schema="intake")


def downgrade() -> None:
    for column in FIGURES:
        op.drop_column("reports", column, schema="intake")
