"""Intake's tables, in its own `intake` schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from services.runtime.db import leases_table, outbox_table
from services.runtime.token_events import staff_tokens_table

metadata = MetaData(schema="intake")

projects = Table(
    "projects",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("sheet", String(40), nullable=False),
    Column("wave", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("lead", String(200), nullable=False),
    Column("regions", ARRAY(String(2)), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("funding_eur", BigInteger),
    Column("commitments", JSONB, nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("registered_by", String(400)),  # the caller's label; null before it was recorded
    Column("status", String(10), nullable=False, server_default="active"),
    Column("closed_on", Date),
    Column("closed_by", String(400)),
    Column("closed_at", DateTime(timezone=True)),
    Column("closure_reason", Text),
)
# The project list pages through projects in registration order.
Index("projects_by_creation", projects.c.created_at, projects.c.project_id)

# Each amendment as it was made: who, when, why, and what changed (`AmendmentChanges`).
amendments = Table(
    "amendments",
    metadata,
    Column("project_id", Uuid, ForeignKey("projects.project_id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("amended_by", String(400), nullable=False),
    Column("amended_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("changes", JSONB, nullable=False),
)

milestones = Table(
    "milestones",
    metadata,
    Column("project_id", Uuid, ForeignKey("projects.project_id"), primary_key=True),
    Column("milestone_id", String(64), primary_key=True),
    Column("spec", JSONB, nullable=False),
    Column("completed_on", Date),
    Column("evidence", Text),
)

# One row per (project, period): the last revision handed out. The upsert that bumps it also
# serialises concurrent submissions for the same period.
periods = Table(
    "periods",
    metadata,
    Column("project_id", Uuid, ForeignKey("projects.project_id"), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("revision", Integer, nullable=False),
)

reports = Table(
    "reports",
    metadata,
    Column("report_id", Uuid, primary_key=True),
    Column("project_id", Uuid, ForeignKey("projects.project_id"), nullable=False),
    Column("period", String(7), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("idempotency_key", String(200)),
    Column("request_sha256", String(64), nullable=False),
    Column("submitted_by", String(400), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text),
    Column("cells", JSONB, nullable=False),
    # Checks on arrival (services/intake/anomalies.py): [{rule, message}], [] when none.
    Column("warnings", JSONB, nullable=False, server_default="[]"),
    # What those checks compare a later report with (anomalies.PeriodFigures), kept so that
    # they need not decode every period's cells.
    Column("total_count", BigInteger, nullable=False),
    Column("trained_count", BigInteger, nullable=False),
    Column("sex_split", Boolean, nullable=False),
    # Review by a programme officer (docs/review.md): `submitted` until decided.
    Column("review_status", String(10), nullable=False, server_default="submitted"),
    Column("reviewed_by", String(100)),
    Column("reviewed_at", DateTime(timezone=True)),
    Column("review_comment", Text),
    UniqueConstraint("project_id", "period", "revision"),
    UniqueConstraint("project_id", "idempotency_key"),
    Index("reports_review_queue", "review_status", "submitted_at"),
)

# Arrival rules silenced per project (false positives): not checked on its reports any more.
silenced_checks = Table(
    "silenced_checks",
    metadata,
    Column("project_id", Uuid, ForeignKey("projects.project_id"), primary_key=True),
    Column("rule", String(40), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("silenced_by", String(100), nullable=False),
    Column("silenced_at", DateTime(timezone=True), nullable=False),
)

outbox = outbox_table(metadata)
leases = leases_table(metadata)  # the outbox relay's, among the replicas

staff_tokens = staff_tokens_table(metadata)  # the record of named staff tokens (docs/security.md)
