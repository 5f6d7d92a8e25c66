"""What a notification says: the webhook's JSON body and the e-mail's subject, text and HTML.
A notification with no alert is a test (`POST /v1/subscriptions/{id}/test`): its webhook
`status` is `test`."""

from __future__ import annotations

import html
from typing import Any, TypedDict

from sqlalchemy import Row

from services.alerting.domain import AlertState, Severity

SCHEMA_VERSION = "1"


class AlertItem(TypedDict):
    """One alert as a delivery stores it (a snapshot: later changes do not rewrite it) and as
    the webhook's `alerts` list and the e-mail show it. JSON: enums as their values."""

    fingerprint: str
    status: str  # an AlertState
    kind: str  # an AlertKind
    severity: str  # a Severity
    project_id: str
    project_name: str
    sheet: str
    regions: list[str]
    subject: str
    summary: str
    starts_at: str
    ends_at: str | None
    details: dict[str, Any]


def alert_item(alert: Row[Any]) -> AlertItem:
    """One alert row of `alerts`, as a delivery carries it."""
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


def status_of(alerts: list[AlertItem]) -> AlertState:
    """`firing` when any alert of the group still fires, as Alertmanager does."""
    firing = any(a["status"] == AlertState.FIRING for a in alerts)
    return AlertState.FIRING if firing else AlertState.RESOLVED


TEST = "test"


def webhook_body(
    delivery_id: str, subscription_id: str, name: str, alerts: list[AlertItem]
) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "delivery_id": delivery_id,
        "subscription_id": subscription_id,
        "subscription": name,
        "status": status_of(alerts).value if alerts else TEST,
        "alerts": alerts,
    }


# What a person reads is French; the kinds stay codes (they are the subscriptions' filters).
STATUS_WORDS = {AlertState.FIRING: "EN COURS", AlertState.RESOLVED: "RÉSOLUE"}
SEVERITY_WORDS = {
    Severity.INFO: "info",
    Severity.WARNING: "avertissement",
    Severity.CRITICAL: "critique",
}


def subject(alerts: list[AlertItem]) -> str:
    if not alerts:
        return "[CMA] TEST : notification d’essai"
    head = f"[CMA] {STATUS_WORDS[status_of(alerts)]}"
    if len(alerts) == 1:
        return f"{head} : {alerts[0]['summary']}"
    kinds = ", ".join(sorted({a["kind"] for a in alerts}))
    return f"{head} : {len(alerts)} alertes ({kinds})"


def _status(a: AlertItem) -> str:
    return STATUS_WORDS[AlertState(a["status"])]


def _severity(a: AlertItem) -> str:
    return SEVERITY_WORDS[Severity(a["severity"])]


def _line(a: AlertItem) -> str:
    return f"[{_status(a)}] {_severity(a)} {a['kind']} : {a['summary']}"


def _count(alerts: list[AlertItem]) -> str:
    return f"{len(alerts)} alerte{'s' if len(alerts) > 1 else ''}"


def _test_line(name: str) -> str:
    return f"Notification d’essai de l’abonnement « {name} » : ce canal reçoit bien les alertes."


def _unsubscribe_line(url: str) -> str:
    return f"Ne plus recevoir ces alertes (suspendre l’abonnement) : {url}"


def text_body(name: str, alerts: list[AlertItem], unsubscribe_url: str) -> str:
    lines = [f"Abonnement « {name} » : {_count(alerts)}.", ""] if alerts else [_test_line(name)]
    for a in alerts:
        lines.append(_line(a))
        since = f"depuis {a['starts_at']}" + (
            f", résolue le {a['ends_at']}" if a["ends_at"] else ""
        )
        lines.append(f"  projet {a['project_name']} ({a['sheet']}), {since}")
    lines += ["", "-- ", _unsubscribe_line(unsubscribe_url)]
    return "\n".join(lines) + "\n"


def html_body(name: str, alerts: list[AlertItem], unsubscribe_url: str) -> str:
    link = html.escape(unsubscribe_url)
    footer = (
        f'<hr><p><small><a href="{link}">Ne plus recevoir ces alertes</a> '
        "(suspendre l’abonnement)</small></p>"
    )
    if not alerts:
        return f"<html><body><p>{html.escape(_test_line(name))}</p>{footer}</body></html>"
    rows = "".join(
        f"<li><strong>{html.escape(_status(a))}</strong> {_severity(a)} "
        f"<code>{html.escape(a['kind'])}</code> : "
        f"{html.escape(a['summary'])} <small>({html.escape(a['project_name'])}, "
        f"{html.escape(a['sheet'])})</small></li>"
        for a in alerts
    )
    return (
        f"<html><body><p>Abonnement « {html.escape(name)} » : {_count(alerts)}.</p>"
        f"<ul>{rows}</ul>{footer}</body></html>"
    )


def unsubscribe_page(name: str, *, paused: bool, done: bool) -> str:
    """The page of an e-mail's unsubscribe link: a button that POSTs to the same address
    (mail clients fetch links on their own: a GET must change nothing), then the outcome."""
    title = "Abonnement suspendu" if done else "Ne plus recevoir ces alertes"
    if done:
        body = (
            f"<p>L’abonnement « {html.escape(name)} » est suspendu : il ne vous enverra plus "
            "d’alertes. Son propriétaire peut le réactiver par l’API "
            '(<code>PATCH /v1/subscriptions/{id}</code> avec <code>"paused": false</code>).</p>'
        )
    else:
        state = " Il est déjà suspendu." if paused else ""
        body = (
            f"<p>Suspendre l’abonnement « {html.escape(name)} » ? Vous ne recevrez plus ses "
            f"alertes jusqu’à ce qu’il soit réactivé.{state}</p>"
            '<form method="post"><button type="submit">Suspendre l’abonnement</button></form>'
        )
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    )
