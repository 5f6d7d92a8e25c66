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
        # Every series exists at 0 from the start: `increase()` then counts the first report
        # after a restart, and "no report accepted" is a zero, not a missing series.
        for report_format in ReportFormat:
            for replayed in ("true", "false"):
                self._accepted.labels(report_format.value, replayed)

    def accepted(self, report_format: ReportFormat, *, replayed: bool) -> None:
        self._accepted.labels(report_format.value, str(replayed).lower()).inc()
