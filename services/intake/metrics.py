"""Intake's metrics: reports accepted, by format and by whether they were a replay. (The
outbox backlog gauge is the relay's own, from the runtime.)"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from services.intake.schemas import ReportFormat


class ReportMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self._accepted = Counter(
            "cma_intake_reports_accepted_total",
            "Reports accepted (2xx), by format and whether it was an idempotent replay.",
            ["format", "replayed"],
            registry=registry,
        )

    def accepted(self, report_format: ReportFormat, *, replayed: bool) -> None:
        self._accepted.labels(report_format.value, str(replayed).lower()).inc()
