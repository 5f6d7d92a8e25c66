"""4. Milestones: lagging and overdue milestones, overdue semester reports, alerts firing."""

from __future__ import annotations

from dashboards.generator.catalog import (
    MILESTONE_STATUS,
    SHEET_NAMES,
    SHEETS,
    STATUS_NAMES,
    sheet_legends,
)
from dashboards.generator.grafana import (
    GREEN,
    NONZERO_BAD,
    NONZERO_WARN,
    Json,
    custom_variable,
    dashboard,
    date_annotation,
    override,
    panel,
    query,
    row,
    table_of,
    thresholds,
    zero_while_up,
)

SEL = 'sheet=~"$sheet"'
LATE = thresholds(("orange", None), ("red", 0), ("dark-red", 90))
ALERT_KINDS = {
    "milestone_at_risk": "Jalon à risque",
    "milestone_overdue": "Jalon en retard",
    "report_overdue": "Rapport en retard",
}


def _count(status: str) -> str:
    return zero_while_up(
        f'sum(max by (sheet, status) (cma_milestone_milestones{{status="{status}", {SEL}}}))',
        "milestone",
    )


def _stat(title: str, description: str, expr: str, steps: Json = NONZERO_BAD) -> Json:
    return panel(
        "stat", title, description, [query(expr, instant=True)], w=4, decimals=0, steps=steps
    )


def _in_days(value: str, info: str, by: str, key: str, names: str) -> str:
    """A per-item duration in days, with its names and dates taken from the `_info` twin: the
    values are keyed by identifiers only (a rename keeps the series)."""
    return (
        f"max by ({by}) ({value}{{{SEL}}}) / 86400\n"
        f"  * on ({key}) group_left ({names}) max by ({key}, {names}) ({info}{{{SEL}}})"
    )


def _due_date_ms(seconds_past: str) -> str:
    """The date a `…_seconds` family (time past a date, in whole days) counts from, in
    milliseconds, floored to the day: one annotation per date."""
    return f"floor((time() - {seconds_past}) / 86400) * 86400 * 1000"


def deadlines(sel: str) -> list[Json]:
    """Annotations at the due dates of the milestones at risk or overdue and the deadlines of
    the semester reports overdue, named from their `_info` twins (`sel`: the sheet(s))."""
    key = "sheet, project_id, milestone"
    report = "sheet, project_id, period"
    return [
        date_annotation(
            "Échéances des jalons",
            _due_date_ms(f"max by ({key}, status) (cma_milestone_lagging_seconds{{{sel}}})")
            + f"\n  * on ({key}) group_left (project, title) "
            f"max by ({key}, project, title) (cma_milestone_lagging_info{{{sel}}})",
            "Jalon : {{title}}",
            "{{project}} ({{status}})",
            "orange",
        ),
        date_annotation(
            "Échéances des rapports en retard",
            _due_date_ms(f"max by ({report}) (cma_milestone_overdue_report_seconds{{{sel}}})")
            + f"\n  * on ({report}) group_left (project) "
            f"max by ({report}, project) (cma_milestone_overdue_report_info{{{sel}}})",
            "Rapport {{period}} attendu",
            "{{project}}",
            "red",
        ),
    ]


def milestones() -> Json:
    lagging = {
        "sheet": "Fiche",
        "project": "Projet",
        "milestone": "Jalon",
        "title": "Intitulé",
        "due_date": "Échéance",
        "status": "Statut",
        "Value": "Jours de retard",
    }
    reports = {
        "sheet": "Fiche",
        "project": "Projet",
        "period": "Semestre",
        "deadline": "Date limite",
        "Value": "Jours de retard",
    }
    by_days = {"id": "sortBy", "options": {"sort": [{"field": "Jours de retard", "desc": True}]}}
    panels = [
        row("Jalons et rapports"),
        _stat("Jalons en retard", "Échéance dépassée, jalon non atteint.", _count("overdue")),
        _stat(
            "Jalons à risque",
            "Échéance proche (30 jours par défaut) et, pour un jalon chiffré, avancement sous "
            "la trajectoire.",
            _count("at_risk"),
            NONZERO_WARN,
        ),
        _stat("Jalons atteints", "Atteints à l'échéance.", _count("met"), GREEN),
        _stat(
            "Jalons atteints en retard",
            "Atteints après l'échéance.",
            _count("met_late"),
            GREEN,
        ),
        _stat(
            "Rapports en retard",
            "Semestres clos non déclarés après le délai de grâce (60 jours par défaut).",
            zero_while_up(
                f"sum(max by (sheet) (cma_milestone_overdue_reports{{{SEL}}}))", "milestone"
            ),
        ),
        _stat(
            "Alertes en cours",
            "Alertes actives du service d'alerte (jalons et rapports), toutes fiches choisies.",
            zero_while_up(
                f"sum(max by (kind, sheet) (cma_alerting_alerts_firing{{{SEL}}}))", "alerting"
            ),
            NONZERO_WARN,
        ),
        panel(
            "table",
            "Jalons en retard ou à risque",
            "Chaque jalon en retard ou à risque : projet, fiche, échéance et jours de retard "
            "(négatif : jours restants avant l'échéance).",
            [
                query(
                    _in_days(
                        "cma_milestone_lagging_seconds",
                        "cma_milestone_lagging_info",
                        "sheet, project_id, milestone, status",
                        "sheet, project_id, milestone",
                        "project, title, due_date",
                    ),
                    table=True,
                )
            ],
            w=24,
            h=10,
            unit="suffix: j",
            decimals=0,
            steps=LATE,
            transformations=[*table_of(lagging, hide=("Time", "project_id")), by_days],
            overrides=[
                override("Fiche", ("mappings", [SHEET_NAMES])),
                override(
                    "Statut",
                    ("mappings", [STATUS_NAMES]),
                    ("custom.cellOptions", {"type": "color-text"}),
                ),
                override("Jours de retard", ("custom.cellOptions", {"type": "color-background"})),
            ],
        ),
        panel(
            "table",
            "Rapports semestriels en retard",
            "Chaque semestre clos non déclaré : projet, fiche, date limite (fin du semestre + "
            "délai de grâce) et jours de retard.",
            [
                query(
                    _in_days(
                        "cma_milestone_overdue_report_seconds",
                        "cma_milestone_overdue_report_info",
                        "sheet, project_id, period",
                        "sheet, project_id, period",
                        "project, deadline",
                    ),
                    table=True,
                )
            ],
            w=24,
            h=10,
            unit="suffix: j",
            decimals=0,
            steps=LATE,
            transformations=[*table_of(reports, hide=("Time", "project_id")), by_days],
            overrides=[override("Fiche", ("mappings", [SHEET_NAMES]))],
        ),
        row("Par fiche"),
        panel(
            "table",
            "Jalons par fiche et statut",
            "Nombre de jalons de chaque statut, fiche par fiche.",
            [query(f"max by (sheet, status) (cma_milestone_milestones{{{SEL}}})", table=True)],
            w=12,
            h=9,
            decimals=0,
            transformations=[
                {
                    "id": "groupingToMatrix",
                    "options": {
                        "columnField": "status",
                        "rowField": "sheet",
                        "valueField": "Value",
                    },
                }
            ],
            overrides=[
                override("sheet\\status", ("displayName", "Fiche"), ("mappings", [SHEET_NAMES])),
                *[override(k, ("displayName", v)) for k, v in MILESTONE_STATUS.items()],
            ],
        ),
        panel(
            "timeseries",
            "Jalons en retard, à risque et rapports en retard",
            "Évolution dans le temps, fiches choisies.",
            [
                query(
                    "sum by (status) (max by (sheet, status) "
                    f'(cma_milestone_milestones{{status=~"overdue|at_risk", {SEL}}}))',
                    "{{status}}",
                ),
                query(
                    f"sum(max by (sheet) (cma_milestone_overdue_reports{{{SEL}}}))",
                    "rapports en retard",
                ),
            ],
            w=12,
            h=9,
            decimals=0,
            overrides=[
                override(k, ("displayName", MILESTONE_STATUS[k])) for k in ("overdue", "at_risk")
            ],
        ),
        panel(
            "bargauge",
            "Alertes en cours par type et fiche",
            "Alertes actives (service d'alerte), par type.",
            [
                query(
                    f"sum by (kind) (max by (kind, sheet) (cma_alerting_alerts_firing{{{SEL}}}))",
                    "{{kind}}",
                    instant=True,
                )
            ],
            w=12,
            h=6,
            decimals=0,
            steps=NONZERO_WARN,
            overrides=[override(k, ("displayName", v)) for k, v in ALERT_KINDS.items()],
        ),
        panel(
            "bargauge",
            "Rapports en retard par fiche",
            "Semestres clos non déclarés, par fiche.",
            [
                query(
                    f"max by (sheet) (cma_milestone_overdue_reports{{{SEL}}})",
                    "{{sheet}}",
                    instant=True,
                )
            ],
            w=12,
            h=6,
            decimals=0,
            steps=NONZERO_BAD,
            overrides=sheet_legends(),
        ),
    ]
    return dashboard(
        "cma-milestones",
        "CMA : jalons et rapports",
        "Jalons en retard ou à risque et rapports semestriels en retard, projet par projet.",
        panels,
        variables=[custom_variable("sheet", "Fiche", SHEETS, multi=True)],
        annotations=deadlines(SEL),
    )
