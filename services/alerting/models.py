"""Alerting's tables, in its own `alerting` schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from services.alerting.domain import DeliveryStatus
from services.runtime.db import processed_events_table
from services.runtime.token_events import staff_tokens_table

metadata = MetaData(schema="alerting")

# Our copy of `project.registered`: authenticates project tokens without intake's tables.
projects = Table(
    "projects",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("sheet", String(40), nullable=False),
    Column("regions", ARRAY(String(2)), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
)

# `owner_project_id` is null for staff. The webhook secret is kept in clear: signing needs it.
# A paused subscription is told nothing; a deleted one (`deleted_at`) stays, so that its
# delivery log does too.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("subscription_id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("owner_project_id", Uuid, index=True),
    Column("channel", String(10), nullable=False),  # a Channel
    Column("target", String(2000), nullable=False),  # the URL or the e-mail address
    Column("secret", String(200)),
    Column("sheets", ARRAY(String(40)), nullable=False),
    Column("projects", ARRAY(Uuid), nullable=False),
    Column("regions", ARRAY(String(2)), nullable=False),
    Column("kinds", ARRAY(String(40)), nullable=False),
    Column("min_severity", String(10), nullable=False),
    Column("repeat_interval_seconds", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("paused", Boolean, nullable=False, server_default="false"),
    Column("deleted_at", DateTime(timezone=True)),
    Column("created_by", String(400)),  # the caller's label; null before it was recorded
)

# One row per fingerprint; `source_at` is the time of the last event applied to it.
alerts = Table(
    "alerts",
    metadata,
    Column("fingerprint", String(200), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("state", String(10), nullable=False),  # an AlertState
    Column("project_id", Uuid, nullable=False),
    Column("subject", String(64), nullable=False),
    Column("project_name", String(200), nullable=False),
    Column("sheet", String(40), nullable=False),
    Column("regions", ARRAY(String(2)), nullable=False),
    Column("summary", Text, nullable=False),
    Column("details", JSONB, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("source_at", DateTime(timezone=True), nullable=False),
)
Index("alerts_by_state", alerts.c.state, alerts.c.kind, alerts.c.sheet)

# What each subscription was last told about each alert (Alertmanager's notification log).
notification_log = Table(
    "notification_log",
    metadata,
    Column(
        "subscription_id",
        Uuid,
        ForeignKey("alerting.subscriptions.subscription_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("fingerprint", String(200), primary_key=True),
    Column("state", String(10), nullable=False),
    Column("notified_at", DateTime(timezone=True), nullable=False),
)

# One notification to one subscription, with its alerts; the delivery loop sends it.
# `due_at` (the database's clock): the end of the group wait, then of each retry's backoff.
# `attempts` counts attempts begun: each claim adds one. `claimed_by` names the instance that
# made the last claim; `claimed_until` is its lease, cleared once the outcome is recorded.
deliveries = Table(
    "deliveries",
    metadata,
    Column("delivery_id", Uuid, primary_key=True),
    # Creation order: a subscription's deliveries are sent one at a time in this order, so a
    # receiver never hears an alert resolved before it heard it firing.
    Column("seq", BigInteger, Identity(), nullable=False),
    Column(
        "subscription_id",
        Uuid,
        ForeignKey("alerting.subscriptions.subscription_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", String(10), nullable=False),  # a DeliveryStatus
    Column("alerts", JSONB, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True)),
    Column("claimed_by", String(200)),
    Column("claimed_until", DateTime(timezone=True)),
)
Index(
    "deliveries_due",
    deliveries.c.due_at,
    postgresql_where=deliveries.c.status == DeliveryStatus.PENDING.value,
)
Index("deliveries_by_subscription", deliveries.c.subscription_id, deliveries.c.created_at)

processed_events = processed_events_table(metadata)

staff_tokens = staff_tokens_table(metadata)  # named staff tokens (docs/security.md, Tokens)
