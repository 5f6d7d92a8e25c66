"""What a notification says: the webhook's JSON body and the e-mail's subject, text and HTML."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import Row

SCHEMA_VERSION = "1"


def alert_item(alert: Row[Any]) -> dict[str, Any]:
    """One alert as stored in a delivery (a snapshot: later changes do not rewrite it)."""
    return {
        "fingerprint": alert.fingerprint,
        "status": alert.state,
        "kind": alert.kind,
        "severity": alert.severity,
        "project_id": str(alert.project_id),
        "project_name": alert.project_name,
        "sheet": alert.sheet,
        "regions": list(alert.regions),
        "subject": alert.subject,
        "summary": alert.summary,
        "starts_at": alert.started_at.isoformat(),
        "ends_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "details": alert.details,
    }


def status_of(alerts: list[dict[str, Any]]) -> str:
    """`firing` when any alert of the group still fires, as Alertmanager does."""
    return "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"


def webhook_body(
    delivery_id: str, subscription_id: str, name: str, alerts: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "delivery_id": delivery_id,
        "subscription_id": subscription_id,
        "subscription": name,
        "status": status_of(alerts),
        "alerts": alerts,
    }


def subject(alerts: list[dict[str, Any]]) -> str:
    head = f"[CMA] {status_of(alerts).upper()}"
    if len(alerts) == 1:
        return f"{head}: {alerts[0]['summary']}"
    return f"{head}: {len(alerts)} alerts ({', '.join(sorted({a['kind'] for a in alerts}))})"


def _line(a: dict[str, Any]) -> str:
    return f"[{a['status'].upper()}] {a['severity']} {a['kind']}: {a['summary']}"


def text_body(name: str, alerts: list[dict[str, Any]]) -> str:
    lines = [f"Subscription “{name}”: {len(alerts)} alert(s).", ""]
    for a in alerts:
        lines.append(_line(a))
        since = f"since {a['starts_at']}" + (f", resolved {a['ends_at']}" if a["ends_at"] else "")
        lines.append(f"  project {a['project_name']} ({a['sheet']}), {since}")
    return "\n".join(lines) + "\n"


def html_body(name: str, alerts: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<li><strong>{html.escape(a['status'].upper())}</strong> "
        f"{html.escape(a['severity'])} <code>{html.escape(a['kind'])}</code>: "
        f"{html.escape(a['summary'])} <small>({html.escape(a['project_name'])}, "
        f"{html.escape(a['sheet'])})</small></li>"
        for a in alerts
    )
    return (
        f"<html><body><p>Subscription “{html.escape(name)}”: {len(alerts)} alert(s).</p>"
        f"<ul>{rows}</ul></body></html>"
    )
