"""Webhook signatures (receivers verify them with the same few lines, docs/alerting.md) and
the signed one-click unsubscribe links of e-mails."""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 over `"{timestamp}.{body}"` with the subscription's secret.
    Signing the timestamp too lets a receiver refuse replays of old deliveries."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signature_valid(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class UnsubscribeLinks:
    """The one-click unsubscribe links of e-mails (RFC 8058): `{base}/unsubscribe/{id}/{sig}`,
    where `sig` is an HMAC-SHA256 of the subscription id keyed with a server secret
    (`CMA_ALERTING_LINK_SECRET`). Anyone holding the link may pause that subscription, and no
    other: a link cannot be made for another id without the secret."""

    def __init__(self, base_url: str, secret: str) -> None:
        self.base_url, self.secret = base_url.rstrip("/"), secret.encode()

    def signature(self, subscription_id: UUID) -> str:
        mac = hmac.new(self.secret, b"unsubscribe/" + str(subscription_id).encode(), "sha256")
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def url(self, subscription_id: UUID) -> str:
        return f"{self.base_url}/unsubscribe/{subscription_id}/{self.signature(subscription_id)}"

    def valid(self, subscription_id: UUID, signature: str) -> bool:
        # As bytes: compare_digest refuses non-ASCII str, and a link may have been mangled.
        return hmac.compare_digest(self.signature(subscription_id).encode(), signature.encode())
