"""The HTTP payloads of the subscriptions and deliveries API."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.projects import SheetId
from contracts.reports import RegionCode
from contracts.text import Text
from services.alerting.domain import AlertKind, Filters, Severity
from services.alerting.queries import Subscription

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

    def subscription(self, owner: UUID | None, now: datetime) -> Subscription:
        f = self.filters
        filters = Filters(
            frozenset(f.sheets),
            frozenset(f.projects),
            frozenset(f.regions),
            frozenset(k.value for k in f.kinds),
            f.min_severity,
        )
        if isinstance(self.channel, WebhookIn):
            target, secret = self.channel.url, self.channel.secret or secrets.token_urlsafe(32)
        else:
            target, secret = self.channel.address, None
        return Subscription(
            uuid.uuid4(),
            self.name,
            owner,
            self.channel.type,
            target,
            secret,
            filters,
            timedelta(seconds=self.repeat_interval_seconds),
            now,
        )


class SubscriptionOut(BaseModel):
    subscription_id: UUID
    name: str
    owner_project_id: UUID | None = Field(description="null: created by programme staff")
    channel: dict[str, str] = Field(description="`type` and `url` or `address`; never the secret")
    filters: dict[str, Any]
    repeat_interval_seconds: int
    created_at: datetime

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionOut:
        f = sub.filters
        key = "url" if sub.channel == "webhook" else "address"
        filters = {"sheets": sorted(f.sheets), "projects": sorted(str(p) for p in f.projects)}
        filters |= {"regions": sorted(f.regions), "kinds": sorted(f.kinds)}
        return cls(
            subscription_id=sub.subscription_id,
            name=sub.name,
            owner_project_id=sub.owner_project_id,
            channel={"type": sub.channel, key: sub.target},
            filters=filters | {"min_severity": f.min_severity.value},
            repeat_interval_seconds=int(sub.repeat.total_seconds()),
            created_at=sub.created_at,
        )


class SubscriptionCreated(SubscriptionOut):
    secret: str | None = Field(description="The webhook's HMAC key, shown only in this answer.")

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionCreated:
        return cls(**dict(SubscriptionOut.of(sub)), secret=sub.secret)


class DeliveryOut(BaseModel):
    delivery_id: UUID
    subscription_id: UUID
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    alerts: list[dict[str, Any]] = Field(description="fingerprint, status, kind, summary each")

    @classmethod
    def of(cls, row: dict[str, Any]) -> DeliveryOut:
        keep = ("fingerprint", "status", "kind", "severity", "summary")
        pending = row["status"] == "pending"
        return cls(
            **{k: row[k] for k in cls.model_fields if k in row and k != "alerts"},
            next_attempt_at=row["due_at"] if pending else None,
            alerts=[{k: a.get(k) for k in keep} for a in row["alerts"]],
        )
