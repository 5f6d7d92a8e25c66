"""Kafka topics: versioned names, partition counts, and the key every event is sent with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    description: str
    key: str = "project_id"
    """The envelope field events are keyed by (`event_key`)."""
    # Events are the record a consumer is rebuilt from: kept forever unless said otherwise.
    retention_ms: int = -1


PROJECTS = Topic(
    "cma.projects.v1",
    6,
    "Funded projects registered, amended and closed (project.registered, .amended, .closed).",
)
REPORTS = Topic(
    "cma.reports.v1",
    12,
    "Indicator reports: each a full revision of one period (indicator_report.submitted), "
    "and programme officers' reviews of them (report.reviewed).",
)
MILESTONES = Topic("cma.milestones.v1", 6, "Milestones declared, rescheduled and completed.")
PROGRESS = Topic(
    "cma.progress.v1",
    6,
    "A project's totals after a change (project.totals_changed), by indicator.",
)
STATUS = Topic(
    "cma.status.v1",
    6,
    "What subscribers are alerted on: milestone status changes and overdue reports, by "
    "milestone; alert conditions (condition.changed) by project.",
)
ACCESS = Topic(
    "cma.access.v1",
    6,  # as many as the projects topic: consumers of both scale as far
    "Named staff tokens issued and revoked (staff_token.*), by token.",
    key="token_id",
)
DEAD_LETTERS = Topic(
    "cma.deadletter.v1",
    3,
    "Messages a consumer gave up on, with the error in headers.",
    retention_ms=30 * 24 * 3600 * 1000,  # time enough to look at them and re-drive
)

ALL: tuple[Topic, ...] = (PROJECTS, REPORTS, MILESTONES, PROGRESS, STATUS, ACCESS, DEAD_LETTERS)


def event_key(subject_id: object) -> bytes:
    """Every event is keyed by its subject (its project; a staff token on `ACCESS`), so one
    subject's events stay in order."""
    return str(subject_id).encode()
