"""The HTTP payloads of the subscriptions and deliveries API."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints
from sqlalchemy import Row

from contracts.projects import SheetId
from contracts.reports import RegionCode
from contracts.text import Text
from services.alerting.domain import (
    AlertKind,
    AlertState,
    Channel,
    DeliveryStatus,
    Filters,
    Severity,
)
from services.alerting.queries import AlertCursor, Delivery, Subscription
from services.runtime.errors import FieldError, Unprocessable

_PLAIN = r"[^@\s<>,;\x00-\x1f\x7f-\x9f]+"
EMAIL = rf"^{_PLAIN}@{_PLAIN}\.{_PLAIN}$"  # one plain address: no header injection
WebhookUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$")]
"""Lower-case `http://` or `https://`, no spaces or control characters; `channels.py` then
checks where it leads."""


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FiltersIn(_In):
    """Empty lists match everything; each non-empty list must match."""

    sheets: list[SheetId] = Field(default=[], max_length=20)
    projects: list[UUID] = Field(default=[], max_length=500)
    regions: list[RegionCode] = Field(default=[], max_length=18)
    kinds: list[AlertKind] = Field(default=[], max_length=len(AlertKind))
    min_severity: Severity = Severity.INFO


class WebhookIn(_In):
    # The tags of a Channel, as plain strings: pydantic's message for an unknown tag would
    # otherwise list the members' reprs.
    type: Literal["webhook"]
    url: WebhookUrl = Field(max_length=2000, examples=["https://example.org/cma-hook"])
    secret: Text | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="HMAC key of `X-CMA-Signature`; generated (and returned once) when absent.",
    )


class EmailIn(_In):
    type: Literal["email"]
    address: str = Field(max_length=320, pattern=EMAIL)


class SubscriptionIn(_In):
    name: Text = Field(min_length=1, max_length=200)
    channel: Annotated[WebhookIn | EmailIn, Field(discriminator="type")]
    filters: FiltersIn = FiltersIn()
    repeat_interval_seconds: int = Field(
        default=4 * 3600, ge=60, le=30 * 86400, description="Re-send a still-firing alert after."
    )


class SubscriptionPatch(_In):
    """The fields that change, each given whole; absent (or null) ones stay as they are."""

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    channel: Annotated[WebhookIn | EmailIn | None, Field(discriminator="type")] = Field(
        default=None,
        description="A new webhook without a `secret` keeps the old one, or gets a new one "
        "(returned once) if it was an e-mail.",
    )
    filters: FiltersIn | None = None
    repeat_interval_seconds: int | None = Field(default=None, ge=60, le=30 * 86400)
    paused: StrictBool | None = Field(  # strict: `0` or `"no"` are mistakes, not false
        default=None,
        description="Paused: told nothing, its pending notifications cancelled. Resumed: told "
        "at once the alerts firing then.",
    )


class WebhookOut(BaseModel):
    type: Literal[Channel.WEBHOOK]
    url: str


class EmailOut(BaseModel):
    type: Literal[Channel.EMAIL]
    address: str


class FiltersOut(BaseModel):
    """As given, each list sorted; empty lists match everything."""

    sheets: list[str]
    projects: list[UUID]
    regions: list[str]
    kinds: list[AlertKind]
    min_severity: Severity

    @classmethod
    def of(cls, f: Filters) -> FiltersOut:
        return cls(
            sheets=sorted(f.sheets),
            projects=sorted(f.projects, key=str),
            regions=sorted(f.regions),
            kinds=[AlertKind(k) for k in sorted(f.kinds)],
            min_severity=f.min_severity,
        )


class SubscriptionOut(BaseModel):
    subscription_id: UUID
    name: str
    owner_project_id: UUID | None = Field(description="null: created by programme staff")
    channel: Annotated[
        WebhookOut | EmailOut,
        Field(discriminator="type", description="`url` or `address`; never the secret"),
    ]
    filters: FiltersOut
    repeat_interval_seconds: int
    created_at: datetime
    paused: bool
    created_by: str | None = Field(
        description="Who created it: `staff`, `name <email>` or `project:<id>`"
    )

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionOut:
        channel = (
            WebhookOut(type=Channel.WEBHOOK, url=sub.target)
            if sub.channel is Channel.WEBHOOK
            else EmailOut(type=Channel.EMAIL, address=sub.target)
        )
        return cls(
            subscription_id=sub.subscription_id,
            name=sub.name,
            owner_project_id=sub.owner_project_id,
            channel=channel,
            filters=FiltersOut.of(sub.filters),
            repeat_interval_seconds=int(sub.repeat.total_seconds()),
            created_at=sub.created_at,
            paused=sub.paused,
            created_by=sub.created_by,
        )


class SubscriptionCreated(SubscriptionOut):
    secret: str | None = Field(description="The webhook's HMAC key, shown only in this answer.")

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionCreated:
        return cls(**dict(SubscriptionOut.of(sub)), secret=sub.secret)


class SubscriptionUpdated(SubscriptionOut):
    secret: str | None = Field(
        description="A webhook key generated by this change (shown only here), else null."
    )

    @classmethod
    def of_new(cls, sub: Subscription, new_secret: str | None) -> SubscriptionUpdated:
        return cls(**dict(SubscriptionOut.of(sub)), secret=new_secret)


class SecretOut(BaseModel):
    subscription_id: UUID
    secret: str = Field(description="The webhook's new HMAC key, shown only in this answer.")


class AlertOut(BaseModel):
    """An alert as the delivery carries it (as it was when queued)."""

    fingerprint: str
    status: AlertState
    kind: AlertKind
    severity: Severity
    summary: str


class DeliveryOut(BaseModel):
    delivery_id: UUID
    subscription_id: UUID
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None = Field(description="null unless pending")
    alerts: list[AlertOut]

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls.model_validate(d, from_attributes=True)


DetailValue = str | int | float | bool | None


class AlertView(BaseModel):
    """An alert as it stands now."""

    fingerprint: str
    status: AlertState
    kind: AlertKind
    severity: Severity
    project_id: UUID
    project_name: str
    sheet: str
    regions: list[str]
    subject: str = Field(description="The milestone id or the report period.")
    summary: str
    started_at: datetime
    resolved_at: datetime | None
    details: dict[str, DetailValue]

    @classmethod
    def of(cls, row: Row[Any]) -> AlertView:
        return cls(
            fingerprint=row.fingerprint,
            status=row.state,
            kind=row.kind,
            severity=row.severity,
            project_id=row.project_id,
            project_name=row.project_name,
            sheet=row.sheet,
            regions=list(row.regions),
            subject=row.subject,
            summary=row.summary,
            started_at=row.started_at,
            resolved_at=row.resolved_at,
            details=row.details,
        )


class AlertPage(BaseModel):
    alerts: list[AlertView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")


def encode_cursor(cursor: AlertCursor) -> str:
    raw = json.dumps([cursor.started_at.isoformat(), cursor.fingerprint]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> AlertCursor:
    """Raises Unprocessable (`cursor`) for anything `encode_cursor` did not make."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        started_at, fingerprint = json.loads(raw)
        at = datetime.fromisoformat(started_at)
        if at.tzinfo is None or not isinstance(fingerprint, str):
            raise ValueError(text)
    except (ValueError, TypeError) as exc:
        problem = FieldError(("query", "cursor"), "not a cursor this API returned")
        raise Unprocessable([problem]) from exc
    return AlertCursor(at, fingerprint)
