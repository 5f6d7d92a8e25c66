"""Sending one notification: a signed webhook (httpx) or an e-mail (stdlib smtplib in a
thread; aiosmtplib is not a dependency). Failures say whether a retry may help."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import smtplib
import socket
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import httpx

from services.alerting import render
from services.alerting.domain import Channel
from services.alerting.queries import Subscription
from services.alerting.render import AlertItem
from services.alerting.signing import UnsubscribeLinks, sign
from services.runtime.settings import Settings


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # embeds an IPv4 address in its last 32 bits
DNS_TIMEOUT_SECONDS = 5.0


class UnresolvedHost(ValueError):
    """The webhook's host does not resolve (now): may be transient, unlike a refusal."""


def public_address(address: str) -> bool:
    """False for private, loopback, link-local, multicast, reserved or unspecified targets,
    and for IPv6 forms that carry such an IPv4 address (mapped, compatible, translated,
    NAT64, 6to4, Teredo) or that are deprecated (site-local)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if int(ip) >> 32 in (0, 0xFFFF_0000) or ip.is_site_local:  # ::/96, ::ffff:0:0:0/96
            return False
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        if ip in NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
        if not all(public_address(str(v4)) for v4 in embedded if v4 is not None):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


@dataclass(frozen=True)
class WebhookTarget:
    """Where to connect: the URL with its host replaced by the address that was checked (so a
    DNS answer that changes after the check cannot redirect the request), plus the `Host`
    header and TLS server name of the original host."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, Any]


async def check_webhook_url(url: str, settings: Settings) -> WebhookTarget:
    """Raises ValueError for a URL we must not call. Checked at subscription and again before
    each attempt, since DNS may have changed; the attempt then connects to the address
    checked. URLs are parsed once, by httpx, so the check and the call cannot disagree."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"invalid webhook URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("webhook URL must be http(s)://host/…")
    if parsed.scheme == "http" and settings.environment == "production":
        raise ValueError("webhook URL must use https")
    if settings.webhook_allow_private:
        return WebhookTarget(parsed, {}, {})
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        async with asyncio.timeout(DNS_TIMEOUT_SECONDS):
            infos = await asyncio.get_running_loop().getaddrinfo(
                parsed.host, port, type=socket.SOCK_STREAM
            )
    except (OSError, TimeoutError, UnicodeError, ValueError) as exc:
        raise UnresolvedHost(f"webhook host does not resolve: {exc or 'timeout'}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(public_address(a) for a in addresses):
        raise ValueError("webhook URL resolves to a private, loopback or link-local address")
    host = parsed.netloc.decode("ascii")
    extensions = (
        {"sni_hostname": parsed.raw_host.decode("ascii")} if parsed.scheme == "https" else {}
    )
    return WebhookTarget(parsed.copy_with(host=addresses[0]), {"Host": host}, extensions)


class Channels:
    def __init__(
        self, settings: Settings, http: httpx.AsyncClient, links: UnsubscribeLinks
    ) -> None:
        self.settings, self.http, self.links = settings, http, links

    async def send(self, sub: Subscription, delivery_id: str, alerts: list[AlertItem]) -> None:
        if sub.channel is Channel.WEBHOOK:
            await self._webhook(sub, delivery_id, alerts)
        else:
            message = self._email(sub, delivery_id, alerts)
            await asyncio.to_thread(self._smtp_send, message)

    async def _webhook(self, sub: Subscription, delivery_id: str, alerts: list[AlertItem]) -> None:
        try:
            target = await check_webhook_url(sub.target, self.settings)
        except ValueError as exc:
            retryable = isinstance(exc, UnresolvedHost)
            raise DeliveryFailed(str(exc), retryable=retryable) from exc
        body = json.dumps(
            render.webhook_body(delivery_id, str(sub.subscription_id), sub.name, alerts),
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        timestamp = str(int(time.time()))  # the receiver's wall clock judges freshness
        headers = {
            **target.headers,
            "Content-Type": "application/json",
            "User-Agent": "cma-alerting/1",
            "X-CMA-Delivery": delivery_id,
            "X-CMA-Timestamp": timestamp,
            "X-CMA-Signature": sign(sub.secret or "", timestamp, body),
        }
        try:
            response = await self.http.post(
                target.url, content=body, headers=headers, extensions=target.extensions
            )
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"timeout: {type(exc).__name__}", retryable=True) from exc
        except httpx.TransportError as exc:
            message = f"connection: {type(exc).__name__}: {exc}"
            raise DeliveryFailed(message, retryable=True) from exc
        if response.status_code >= 300:
            retryable = response.status_code >= 500 or response.status_code in (408, 429)
            raise DeliveryFailed(f"HTTP {response.status_code}", retryable=retryable)

    def _email(self, sub: Subscription, delivery_id: str, alerts: list[AlertItem]) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = render.subject(alerts)
        message["From"] = self.settings.smtp_sender
        message["To"] = sub.target
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="cma.alerting")
        message["X-CMA-Delivery"] = delivery_id
        # RFC 8058 one-click: the mail client POSTs `List-Unsubscribe=One-Click` to the link.
        unsubscribe = self.links.url(sub.subscription_id)
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(render.text_body(sub.name, alerts, unsubscribe))
        message.add_alternative(render.html_body(sub.name, alerts, unsubscribe), subtype="html")
        return message

    def _smtp_send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.delivery_timeout_seconds) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_username and s.smtp_password:
                    smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:  # 4xx: try later; 5xx: refused for good
            raise DeliveryFailed(f"SMTP {exc.smtp_code}", retryable=exc.smtp_code < 500) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed("SMTP recipient refused", retryable=False) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP: {type(exc).__name__}: {exc}", retryable=True) from exc
