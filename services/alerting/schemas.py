"""The HTTP payloads of the subscriptions and deliveries API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
from services.alerting.queries import Delivery, Subscription

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
            created_by=sub.created_by,
            created_at=sub.created_at,
        )


class SubscriptionCreated(SubscriptionOut):
    secret: str | None = Field(description="The webhook's HMAC key, shown only in this answer.")

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionCreated:
        return cls(**dict(SubscriptionOut.of(sub)), secret=sub.secret)


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
