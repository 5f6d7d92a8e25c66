"""Alerting's pure rules: which alerts an event fires or resolves, who wants them, and when a
subscriber is told, in the manner of Prometheus Alertmanager."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from contracts.events import (
    ConditionChanged,
    ConditionKind,
    MilestoneStatus,
    MilestoneStatusChanged,
    ProjectContext,
    ReportOverdue,
    ReportOverdueCleared,
)


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class AlertKind(StrEnum):
    MILESTONE_AT_RISK = "milestone_at_risk"
    MILESTONE_OVERDUE = "milestone_overdue"
    REPORT_OVERDUE = "report_overdue"
    # Conditions evaluated by indicator and intake (docs/insight.md), one per ConditionKind.
    COMMITMENT_BEHIND = ConditionKind.COMMITMENT_BEHIND.value
    TARGET_BEHIND = ConditionKind.TARGET_BEHIND.value
    PROJECT_STALE = ConditionKind.PROJECT_STALE.value
    REPORT_ANOMALY = ConditionKind.REPORT_ANOMALY.value
    REPORT_RETURNED = ConditionKind.REPORT_RETURNED.value


class AlertState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class DeliveryStatus(StrEnum):
    """Pending until sent (retries included), then delivered, or dead once attempts are
    exhausted or the receiver refused it for good; cancelled when its subscription was paused
    or deleted before it was sent."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"


RECENTLY_RESOLVED = timedelta(days=7)
"""How long a resolved alert stays listed by `GET /v1/alerts` (the service's clock)."""


SEVERITY = {
    AlertKind.MILESTONE_AT_RISK: Severity.WARNING,
    AlertKind.MILESTONE_OVERDUE: Severity.CRITICAL,
    AlertKind.REPORT_OVERDUE: Severity.WARNING,
    AlertKind.COMMITMENT_BEHIND: Severity.WARNING,
    AlertKind.TARGET_BEHIND: Severity.CRITICAL,
    AlertKind.PROJECT_STALE: Severity.WARNING,
    AlertKind.REPORT_ANOMALY: Severity.INFO,
    AlertKind.REPORT_RETURNED: Severity.WARNING,
}
_MILESTONE_KIND = {
    MilestoneStatus.AT_RISK: AlertKind.MILESTONE_AT_RISK,
    MilestoneStatus.OVERDUE: AlertKind.MILESTONE_OVERDUE,
}
_WORDS = {AlertKind.MILESTONE_AT_RISK: "à risque", AlertKind.MILESTONE_OVERDUE: "en retard"}


def fingerprint(kind: AlertKind, project_id: UUID, subject: str) -> str:
    """One alert per kind, project and milestone (or report period)."""
    return f"{kind}/{project_id}/{subject}"


@dataclass(frozen=True)
class AlertChange:
    """What an event asks of one alert: fire it or resolve it."""

    kind: AlertKind
    state: AlertState
    project_id: UUID
    subject: str  # the milestone id or the report period
    project: ProjectContext
    summary: str
    at: datetime  # when the source event happened: an older one never overrides a newer
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.kind, self.project_id, self.subject)

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.kind]


Source = MilestoneStatusChanged | ReportOverdue | ReportOverdueCleared | ConditionChanged


def alert_changes(event: object) -> list[AlertChange]:
    """The alert changes an event asks for, resolutions first; other events change none."""
    if isinstance(event, MilestoneStatusChanged):
        return _milestone_changes(event)
    if isinstance(event, ReportOverdue | ReportOverdueCleared):
        p = event.payload
        firing = isinstance(event, ReportOverdue)
        details = {"period": p.period}
        if isinstance(event, ReportOverdue):
            details["deadline"] = str(event.payload.deadline)
        summary = f"Rapport {p.period} de {p.project.name} en retard"
        state = AlertState.FIRING if firing else AlertState.RESOLVED
        return [_change(event, AlertKind.REPORT_OVERDUE, state, p.period, summary, details)]
    if isinstance(event, ConditionChanged):
        c = event.payload
        state = AlertState.FIRING if c.firing else AlertState.RESOLVED
        return [_change(event, AlertKind(c.kind.value), state, c.subject, c.summary, c.details)]
    return []


def _milestone_changes(event: MilestoneStatusChanged) -> list[AlertChange]:
    """A milestone fires at most one of its kinds (at_risk → overdue resolves at_risk);
    met, met_late or pending resolve both."""
    p = event.payload
    wanted = _MILESTONE_KIND.get(p.status)
    details = {"milestone_id": p.milestone_id, "title": p.title, "due_date": str(p.due_date)}
    details |= {"status": p.status.value, "previous": p.previous.value}
    return [
        _change(
            event,
            kind,
            AlertState.FIRING if kind is wanted else AlertState.RESOLVED,
            p.milestone_id,
            f"Jalon « {p.title} » de {p.project.name} {_WORDS[kind]} (échéance {p.due_date})",
            details,
        )
        for kind in sorted(_MILESTONE_KIND.values(), key=lambda k: k is wanted)
    ]


def _change(
    event: Source, kind: AlertKind, state: AlertState, subject: str, summary: str, details: Any
) -> AlertChange:
    project = event.payload.project
    return AlertChange(
        kind, state, event.project_id, subject, project, summary, event.occurred_at, details
    )


def next_state(current: AlertState | None, wanted: AlertState) -> AlertState | None:
    """The transition to store, or None: firing twice or resolving what never fired is a no-op."""
    if wanted is AlertState.FIRING:
        return None if current is AlertState.FIRING else AlertState.FIRING
    return AlertState.RESOLVED if current is AlertState.FIRING else None


@dataclass(frozen=True)
class Filters:
    """Empty sets match everything; every non-empty set must match."""

    sheets: frozenset[str] = frozenset()
    projects: frozenset[UUID] = frozenset()
    regions: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    min_severity: Severity = Severity.INFO

    def matches(self, kind: str, project_id: UUID, sheet: str, regions: tuple[str, ...]) -> bool:
        return (
            (not self.sheets or sheet in self.sheets)
            and (not self.projects or project_id in self.projects)
            and (not self.regions or not self.regions.isdisjoint(regions))
            and (not self.kinds or kind in self.kinds)
            and SEVERITY[AlertKind(kind)].rank >= self.min_severity.rank
        )


def should_notify(
    told: AlertState | None,
    told_at: datetime | None,
    state: AlertState,
    now: datetime,
    repeat: timedelta,
) -> bool:
    """Firing: told once, again only after `repeat` while it still fires. Resolved: told once,
    and only to a subscriber that was told it fired."""
    if state is AlertState.RESOLVED:
        return told is AlertState.FIRING
    return told is not AlertState.FIRING or told_at is None or now - told_at >= repeat
