"""The e-mails' unsubscribe links cannot be made without the server's secret; the settings
insist on one in production; what a test notification and the alerts' cursor look like."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.alerting import render
from services.alerting.queries import AlertCursor
from services.alerting.schemas import decode_cursor, encode_cursor
from services.alerting.signing import UnsubscribeLinks
from services.runtime.errors import Unprocessable
from services.runtime.settings import Settings

SUB = uuid.UUID("6f1c3a52-0b7e-4d7e-9a51-2f0e8c1d4b33")


def test_a_link_names_its_subscription_and_verifies_only_with_the_same_secret() -> None:
    links = UnsubscribeLinks("https://alertes.example.org/", "s" * 32)
    url = links.url(SUB)
    assert url.startswith(f"https://alertes.example.org/unsubscribe/{SUB}/")
    signature = url.rsplit("/", 1)[1]
    assert links.valid(SUB, signature)
    assert not UnsubscribeLinks("https://alertes.example.org", "t" * 32).valid(SUB, signature)
    assert not links.valid(uuid.uuid4(), signature)  # another subscription's id


@pytest.mark.parametrize(
    "mangle",
    [lambda s: s[:-1], lambda s: s + "A", lambda s: s.upper(), lambda s: "é" + s[1:], lambda s: ""],
)
def test_a_tampered_signature_is_refused_without_error(mangle: Callable[[str], str]) -> None:
    links = UnsubscribeLinks("https://alertes.example.org", "s" * 32)
    signature = links.signature(SUB)
    tampered = mangle(signature)
    assert tampered != signature and not links.valid(SUB, tampered)


def test_production_needs_a_long_link_secret_and_the_public_address() -> None:
    base = {"environment": "production", "staff_tokens": "x" * 16}
    with pytest.raises(ValidationError, match="CMA_ALERTING_LINK_SECRET"):
        Settings(**base, alerting_public_url="https://alertes.example.org")
    with pytest.raises(ValidationError, match="CMA_ALERTING_PUBLIC_URL"):
        Settings(**base, alerting_link_secret="l" * 32)
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(alerting_link_secret="l" * 31)
    Settings(**base, alerting_link_secret="l" * 32, alerting_public_url="https://a.example")


def test_a_test_notification_says_so_in_french_with_its_unsubscribe_link() -> None:
    link = "https://alertes.example.org/unsubscribe/x/y"
    assert render.subject([]) == "[CMA] TEST : notification d’essai"
    assert render.webhook_body("d", "s", "Nuage", [])["status"] == "test"
    text = render.text_body("Nuage", [], link)
    assert "Notification d’essai de l’abonnement « Nuage »" in text and link in text
    assert f'href="{link}"' in render.html_body("Nuage", [], link)


def test_the_unsubscribe_page_posts_to_itself_and_escapes_the_name() -> None:
    page = render.unsubscribe_page("<b>Nuage</b>", paused=False, done=False)
    assert '<form method="post">' in page and "&lt;b&gt;Nuage&lt;/b&gt;" in page
    assert "déjà suspendu" in render.unsubscribe_page("Nuage", paused=True, done=False)
    done = render.unsubscribe_page("Nuage", paused=True, done=True)
    assert "<form" not in done and "est suspendu" in done


def test_a_cursor_comes_back_as_it_went_and_anything_else_is_refused() -> None:
    cursor = AlertCursor(datetime(2025, 9, 1, 8, 30, tzinfo=UTC), "milestone_overdue/p/m1")
    assert decode_cursor(encode_cursor(cursor)) == cursor
    naive = encode_cursor(AlertCursor(datetime(2025, 9, 1), "f"))
    for garbage in ("", "not-a-cursor", "W10", "WzEsMl0", naive, "é"):
        with pytest.raises(Unprocessable):
            decode_cursor(garbage)


def _alert(status: str, kind: str, severity: str) -> render.AlertItem:
    return {
        "fingerprint": f"{kind}/p/s",
        "status": status,
        "kind": kind,
        "severity": severity,
        "project_id": str(SUB),
        "project_name": "Nuage",
        "sheet": "cloud",
        "regions": ["84"],
        "subject": "s",
        "summary": f"résumé {kind}",
        "starts_at": "2026-11-01T00:00:00+00:00",
        "ends_at": None if status == "firing" else "2026-11-02T00:00:00+00:00",
        "details": {},
    }


def test_an_alert_e_mail_speaks_french_and_fires_while_any_of_its_alerts_does() -> None:
    link = "https://alertes.example.org/unsubscribe/x/y"
    fired = _alert("firing", "milestone_overdue", "critical")
    resolved = _alert("resolved", "report_overdue", "warning")
    assert render.subject([resolved]) == "[CMA] RÉSOLUE : résumé report_overdue"
    both = render.subject([resolved, fired])
    assert both == "[CMA] EN COURS : 2 alertes (milestone_overdue, report_overdue)"
    text = render.text_body("Nuage", [fired, resolved], link)
    assert "Abonnement « Nuage » : 2 alertes." in text
    assert "[EN COURS] critique milestone_overdue : résumé milestone_overdue" in text
    assert "[RÉSOLUE] avertissement report_overdue" in text
    assert "résolue le 2026-11-02T00:00:00+00:00" in text
    page = render.html_body("Nuage", [fired], link)
    assert "Abonnement « Nuage » : 1 alerte.</p>" in page and "<strong>EN COURS</strong>" in page
