"""Alerting's pure rules: which alerts an event fires or resolves, who is told and when,
filters, backoff, webhook signatures and the webhook URL policy."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.events import MilestoneStatus, MilestoneStatusChanged, ProjectContext
from services.alerting.channels import check_webhook_url, public_address
from services.alerting.delivery import backoff_seconds
from services.alerting.domain import (
    AlertKind,
    AlertState,
    Filters,
    Severity,
    alert_changes,
    fingerprint,
    next_state,
    should_notify,
)
from services.alerting.signing import sign, signature_valid
from services.runtime.settings import Settings
from tests.support.events import milestone_changed, report_overdue, report_overdue_cleared

NOW = datetime(2025, 9, 1, 12, tzinfo=UTC)
PROJECT = uuid.UUID("00000000-0000-0000-0000-0000000000aa")
CONTEXT = ProjectContext(name="Nuage", sheet="cloud", regions=("84", "11"))
FIRING, RESOLVED = AlertState.FIRING, AlertState.RESOLVED


def milestone(status: MilestoneStatus, milestone_id: str = "m1") -> MilestoneStatusChanged:
    return milestone_changed(status, PROJECT, NOW, milestone_id=milestone_id, project=CONTEXT)


def test_overdue_fires_a_critical_alert_and_resolves_the_at_risk_one_first() -> None:
    changes = alert_changes(milestone(MilestoneStatus.OVERDUE))
    assert [(c.kind, c.state) for c in changes] == [
        (AlertKind.MILESTONE_AT_RISK, RESOLVED),
        (AlertKind.MILESTONE_OVERDUE, FIRING),
    ]
    assert changes[1].severity is Severity.CRITICAL
    assert changes[1].fingerprint == f"milestone_overdue/{PROJECT}/m1"
    assert "en retard" in changes[1].summary


def test_at_risk_fires_a_warning_and_met_resolves_both_milestone_alerts() -> None:
    at_risk = alert_changes(milestone(MilestoneStatus.AT_RISK))
    assert [(c.kind, c.state, c.severity) for c in at_risk][-1] == (
        AlertKind.MILESTONE_AT_RISK,
        FIRING,
        Severity.WARNING,
    )
    for status in (MilestoneStatus.MET, MilestoneStatus.MET_LATE, MilestoneStatus.PENDING):
        assert {c.state for c in alert_changes(milestone(status))} == {RESOLVED}


def test_report_overdue_is_keyed_by_project_and_period_and_cleared_resolves_it() -> None:
    fired = alert_changes(
        report_overdue(PROJECT, "2025-S1", date(2025, 8, 29), project=CONTEXT, at=NOW)
    )
    cleared = alert_changes(report_overdue_cleared(PROJECT, "2025-S1", project=CONTEXT, at=NOW))
    assert [(c.kind, c.state, c.severity) for c in fired] == [
        (AlertKind.REPORT_OVERDUE, FIRING, Severity.WARNING)
    ]
    assert [c.state for c in cleared] == [RESOLVED]
    assert fired[0].fingerprint == cleared[0].fingerprint == f"report_overdue/{PROJECT}/2025-S1"
    assert fired[0].details["deadline"] == "2025-08-29"


def test_one_alert_per_kind_project_and_milestone() -> None:
    other = uuid.uuid4()
    prints = {
        fingerprint(AlertKind.MILESTONE_OVERDUE, PROJECT, "m1"),
        fingerprint(AlertKind.MILESTONE_OVERDUE, PROJECT, "m2"),
        fingerprint(AlertKind.MILESTONE_OVERDUE, other, "m1"),
        fingerprint(AlertKind.MILESTONE_AT_RISK, PROJECT, "m1"),
    }
    assert len(prints) == 4
    assert alert_changes(object()) == []


def test_an_alert_fires_once_and_resolves_only_what_fired() -> None:
    assert next_state(None, FIRING) is FIRING
    assert next_state(FIRING, FIRING) is None
    assert next_state(FIRING, RESOLVED) is RESOLVED
    assert next_state(RESOLVED, RESOLVED) is None
    assert next_state(None, RESOLVED) is None
    assert next_state(RESOLVED, FIRING) is FIRING


def test_firing_is_told_once_then_again_only_after_the_repeat_interval() -> None:
    hour = timedelta(hours=1)
    assert should_notify(None, None, FIRING, NOW, hour)
    assert not should_notify(FIRING, NOW, FIRING, NOW + timedelta(minutes=59), hour)
    assert should_notify(FIRING, NOW, FIRING, NOW + hour, hour)
    assert should_notify(RESOLVED, NOW, FIRING, NOW + timedelta(seconds=1), hour)


def test_resolved_is_told_once_and_only_to_who_was_told_it_fired() -> None:
    hour = timedelta(hours=1)
    assert should_notify(FIRING, NOW, RESOLVED, NOW, hour)
    assert not should_notify(RESOLVED, NOW, RESOLVED, NOW + 2 * hour, hour)
    assert not should_notify(None, None, RESOLVED, NOW, hour)


def test_filters_match_on_every_non_empty_set_and_the_minimum_severity() -> None:
    def match(filters: Filters, kind: str = "milestone_at_risk", sheet: str = "cloud") -> bool:
        return filters.matches(kind, PROJECT, sheet, ("84", "11"))

    assert match(Filters())
    assert match(Filters(sheets=frozenset({"cloud", "ia"}), regions=frozenset({"11"})))
    assert not match(Filters(sheets=frozenset({"ia"})))
    assert not match(Filters(projects=frozenset({uuid.uuid4()})))
    assert match(Filters(projects=frozenset({PROJECT})))
    assert not match(Filters(regions=frozenset({"93"})))
    assert not match(Filters(kinds=frozenset({"report_overdue"})))
    critical = Filters(min_severity=Severity.CRITICAL)
    assert not match(critical) and match(critical, kind="milestone_overdue")


def test_backoff_doubles_with_jitter_in_its_upper_half_and_is_capped() -> None:
    assert [backoff_seconds(n, 1.0, 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert [backoff_seconds(n, 1.0, 0.999) for n in (1, 2)] == pytest.approx([1.0, 2.0], 1e-3)
    assert backoff_seconds(40, 1.0, 0.0, cap=60) == 30


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"alerts":[]}'
    expected = hmac.new(b"s3cret-s3cret-s3cret", b"1756728000." + body, hashlib.sha256)
    signature = sign("s3cret-s3cret-s3cret", "1756728000", body)
    assert signature == "sha256=" + expected.hexdigest()
    assert signature_valid("s3cret-s3cret-s3cret", "1756728000", body, signature)
    assert not signature_valid("s3cret-s3cret-s3cret", "1756728000", body + b" ", signature)
    assert not signature_valid("s3cret-s3cret-s3cret", "1756728001", body, signature)
    assert not signature_valid("another-secret-value", "1756728000", body, signature)


NOT_PUBLIC = "127.0.0.1 10.1.2.3 172.16.0.1 192.168.1.1 169.254.169.254 0.0.0.0 ::1 fe80::1"
NOT_PUBLIC += " fc00::1 ::ffff:127.0.0.1 ::ffff:10.0.0.1 224.0.0.1 100.64.0.1"


@pytest.mark.parametrize("address", NOT_PUBLIC.split())
def test_private_loopback_and_link_local_addresses_are_not_public(address: str) -> None:
    assert not public_address(address)


def test_global_addresses_are_public() -> None:
    assert public_address("93.184.216.34") and public_address("2606:4700:4700::1111")


async def test_webhook_urls_to_private_targets_are_refused_unless_allowed() -> None:
    strict = Settings(webhook_allow_private=False)
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "https://[::1]/"):
        with pytest.raises(ValueError, match="private"):
            await check_webhook_url(url, strict)
    for url in ("ftp://93.184.216.34/", "https:///nohost"):
        with pytest.raises(ValueError, match="http"):
            await check_webhook_url(url, strict)
    await check_webhook_url("https://93.184.216.34/hook", strict)
    await check_webhook_url("http://127.0.0.1:8080/hook", Settings(webhook_allow_private=True))
    production = Settings(
        environment="production",
        staff_tokens="x" * 16,
        alerting_link_secret="l" * 32,
        alerting_public_url="https://alertes.example.org",
    )
    with pytest.raises(ValueError, match="https"):
        await check_webhook_url("http://93.184.216.34/hook", production)
