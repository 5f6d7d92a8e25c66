"""Milestone's tables, in its own `milestone` schema."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from services.runtime.db import leases_table, outbox_table, processed_events_table
from services.runtime.token_events import staff_tokens_table

metadata = MetaData(schema="milestone")

projects = Table(
    "projects",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("sheet", String(40), nullable=False),
    Column("regions", ARRAY(String(2)), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("closed_on", Date),  # open milestones cancelled, no report due after it
)

# A milestone may be declared before its project's registration arrives (another topic):
# it waits, unevaluated, until the project is known.
milestones = Table(
    "milestones",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("milestone_id", String(64), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("criterion", JSONB),  # a Target: quantitative milestone; null: a deliverable
    Column("completed_on", Date),
    Column("status", String(10), nullable=False, server_default="pending"),
    Column("transitions", Integer, nullable=False, server_default="0"),
)
Index(
    "milestones_open_by_due_date",
    milestones.c.due_date,
    postgresql_where=milestones.c.status.in_(("pending", "at_risk")),
)

transitions = Table(
    "transitions",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("milestone_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("previous", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# The latest totals indicator announced for a project, and when they were observed.
totals = Table(
    "totals",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("totals", JSONB, nullable=False),
    Column("observed_at", DateTime(timezone=True), nullable=False),
)

reported_periods = Table(
    "reported_periods",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("period", String(7), primary_key=True),
)

overdue_reports = Table(
    "overdue_reports",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("deadline", Date, nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("cleared_at", DateTime(timezone=True)),
)

processed_events = processed_events_table(metadata)
outbox = outbox_table(metadata)
leases = leases_table(metadata)  # the outbox relay's, among the replicas

staff_tokens = staff_tokens_table(metadata)  # named staff tokens (docs/security.md, Tokens)
