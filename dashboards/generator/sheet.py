"""2. Sheet drill-down (`$sheet`): targets, people by level, region, sex and semester, the
trend, and each project's commitments and progress."""

from __future__ import annotations

from dashboards.generator.catalog import KINDS, READINGS, SHEETS
from dashboards.generator.grafana import (
    Json,
    custom_variable,
    dashboard,
    override,
    panel,
    query,
    row,
    table_of,
)
from dashboards.generator.programme import (
    TABLE,
    figures,
    percent_cell,
    progress_cell,
    targets_table,
)


def bars(title: str, description: str, expr: str, legend: str, **kw: object) -> Json:
    return panel(
        "bargauge",
        title,
        description,
        [query(expr, legend, instant=True)],
        w=8,
        h=9,
        decimals=0,
        **kw,  # type: ignore[arg-type]
    )


def drill_down() -> Json:
    one = 'sheet="$sheet"'
    read = f'{one}, reading="$reading"'  # the indicator's families; the recorded ones have none
    by_kind = f'{read}, kind="$kind"'
    projects = {
        "project": "Projet",
        "commitment": "Engagement",
        "Value #A": "Réalisé",
        "Value #B": "Engagé",
        "Value #C": "Avancement",
        "Value #D": "Attendu à date",
    }
    people = {
        "project": "Projet",
        "Value #A": "Formés",
        "Value #B": "Sensibilisés",
        "Value #C": "dont alternance",
    }
    sel = f"{{{read}}}"
    panels = [
        row("Synthèse"),
        *figures(one),
        targets_table("$sheet"),
        row("Répartition des personnes ($kind)"),
        bars(
            "Par niveau",
            "Personnes déclarées par niveau canonique.",
            f"max by (level) (cma_indicator_people_by_level{{{by_kind}}})",
            "{{level}}",
        ),
        bars(
            "Par région",
            "Personnes déclarées par région (où la formation a eu lieu).",
            f"max by (region) (cma_indicator_people_by_region{{{by_kind}}})"
            " * on (region) group_left (region_name) cma:region_location:info",
            "{{region_name}}",
        ),
        bars(
            "Par sexe",
            "Personnes déclarées par sexe.",
            f"label_replace(max by (sex) (cma_indicator_people_by_sex{{{by_kind}}}), "
            '"sex", "non renseigné", "sex", "")',
            "{{sex}}",
            overrides=[
                override("F", ("displayName", "Femmes")),
                override("M", ("displayName", "Hommes")),
            ],
        ),
        panel(
            "barchart",
            "Par semestre déclaré",
            "Personnes déclarées pour chaque semestre (dernière révision de chaque rapport).",
            [query(f"max by (period) (cma_indicator_people_by_period{{{by_kind}}})", table=True)],
            w=12,
            h=8,
            decimals=0,
            transformations=table_of({"period": "Semestre", "Value": "Personnes"}),
            options={
                "xField": "Semestre",
                "orientation": "vertical",
                "showValue": "auto",
                "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom"},
            },
        ),
        panel(
            "timeseries",
            "Évolution des totaux",
            "Totaux de la fiche au fil des rapports reçus.",
            [query(f"max by (kind) (cma_indicator_people{sel})", "{{kind}}")],
            w=12,
            h=8,
            decimals=0,
            overrides=[override(k, ("displayName", v)) for k, v in KINDS.items()],
        ),
        row("Projets de la fiche"),
        panel(
            "table",
            "Engagements des projets et avancement",
            "Chaque engagement "
            "quantifié d'un projet actif : réalisé, valeur engagée, avancement et part "
            "attendue à date sur sa trajectoire.",
            [
                query(
                    f"max by (project_id, project, commitment) (cma_indicator_commitment_{m}{sel})",
                    table=True,
                )
                for m in ("actual", "value", "progress_ratio", "expected_ratio")
            ],
            w=24,
            h=9,
            decimals=0,
            custom=TABLE,
            transformations=[
                *table_of(projects, hide=("Time", "project_id")),
                {"id": "sortBy", "options": {"sort": [{"field": "Avancement", "desc": False}]}},
            ],
            overrides=[progress_cell("Avancement"), percent_cell("Attendu à date")],
        ),
        panel(
            "table",
            "Personnes déclarées par projet",
            "Totaux par projet actif.",
            [
                query(
                    f"max by (project_id, project) (cma_indicator_project_people{{{read}, "
                    f'kind="{k}"}})',
                    table=True,
                )
                for k in KINDS
            ],
            w=24,
            h=8,
            decimals=0,
            custom=TABLE,
            transformations=table_of(people, hide=("Time", "project_id")),
        ),
    ]
    return dashboard(
        "cma-sheet",
        "CMA : détail d'une fiche",
        "Une fiche thématique en détail : cibles, répartition par niveau, région, sexe et "
        "semestre, engagements et avancement de chacun de ses projets.",
        panels,
        variables=[
            custom_variable("sheet", "Fiche", SHEETS, current="ia"),
            custom_variable("kind", "Personnes", KINDS),
            custom_variable("reading", "Lecture", READINGS),
        ],
    )
