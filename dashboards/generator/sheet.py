"""2. Sheet drill-down (`$sheet`): targets, people by level, region, sex and semester, the
trend, and each project's commitments and progress."""

from __future__ import annotations

from dashboards.generator.catalog import KINDS, READINGS, SHEETS, STALENESS
from dashboards.generator.grafana import (
    Json,
    custom_variable,
    dashboard,
    override,
    panel,
    query,
    row,
    table_of,
    thresholds,
)
from dashboards.generator.milestones import deadlines
from dashboards.generator.programme import (
    TABLE,
    against_expected,
    against_expected_cell,
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


FRESH = thresholds(("red", None), ("orange", 0.5), ("green", 0.8))
"""Share of projects with no closed semester unreported: below half, the figures are old."""


def trajectory(sheet: str) -> Json:
    """Each target's people against the people expected on its linear trajectory, over the
    dashboard's period (6 months: a semester; Prometheus keeps 90 days by default)."""
    sel = f'{{sheet="{sheet}"}}'
    return panel(
        "timeseries",
        "Trajectoire : réalisé et attendu par cible",
        "Pour chaque cible chiffrée, personnes déclarées (trait plein) et personnes attendues "
        "à chaque date sur la trajectoire linéaire (pointillés). Les repères verticaux sont "
        "les échéances des jalons à risque ou en retard et des rapports semestriels en retard.",
        [
            query(f"max by (target) (cma:target_actual:people{sel})", "{{target}} : réalisé"),
            query(f"max by (target) (cma:target_expected:people{sel})", "{{target}} : attendu"),
        ],
        w=24,
        h=9,
        decimals=0,
        overrides=[
            override(
                ".* : attendu",
                ("custom.lineStyle", {"fill": "dash", "dash": [10, 10]}),
                ("custom.fillOpacity", 0),
                regex=True,
            )
        ],
    )


def freshness(sheet: str) -> list[Json]:
    """How recent the sheet's figures are: projects by closed semesters left unreported."""
    sel = f'sheet="{sheet}"'
    share = (
        f'max(cma_indicator_projects_by_staleness{{{sel}, semesters_behind="0"}})\n'
        f"  / sum(max by (semesters_behind) (cma_indicator_projects_by_staleness{{{sel}}}))"
    )
    return [
        panel(
            "stat",
            "Projets à jour",
            "Part des projets actifs de la fiche dont aucun semestre clos n'attend de rapport : "
            "les chiffres de la fiche sont à jour pour eux.",
            [query(share, instant=True)],
            w=6,
            h=7,
            unit="percentunit",
            decimals=0,
            steps=FRESH,
        ),
        panel(
            "bargauge",
            "Fraîcheur des données : projets par semestres sans rapport",
            "Projets actifs selon le nombre de semestres clos non déclarés depuis leur dernier "
            "rapport (données telles que déclarées).",
            [
                query(
                    f"max by (semesters_behind) (cma_indicator_projects_by_staleness{{{sel}}})",
                    "{{semesters_behind}}",
                    instant=True,
                )
            ],
            w=18,
            h=7,
            decimals=0,
            overrides=[
                override(k, ("displayName", v), ("color", {"mode": "fixed", "fixedColor": c}))
                for (k, v), c in zip(
                    STALENESS.items(), ("green", "yellow", "orange", "red"), strict=True
                )
            ],
        ),
    ]


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
        "Value #E": "Avancement / attendu",
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
        trajectory("$sheet"),
        row("Fraîcheur des données"),
        *freshness("$sheet"),
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
            "quantifié d'un projet actif : réalisé, valeur engagée, avancement, part "
            "attendue à date sur sa trajectoire, et avancement rapporté à cette part (rouge "
            "sous 90 %, vert à partir de 100 %).",
            [
                query(
                    f"max by (project_id, project, commitment) (cma_indicator_commitment_{m}{sel})",
                    table=True,
                )
                for m in ("actual", "value", "progress_ratio", "expected_ratio")
            ]
            + [
                query(
                    against_expected(
                        f"max by (project_id, project, commitment) "
                        f"(cma_indicator_commitment_progress_ratio{sel})",
                        f"max by (project_id, project, commitment) "
                        f"(cma_indicator_commitment_expected_ratio{sel})",
                    ),
                    table=True,
                )
            ],
            w=24,
            h=9,
            decimals=0,
            custom=TABLE,
            transformations=[
                *table_of(projects, hide=("Time", "project_id")),
                {"id": "sortBy", "options": {"sort": [{"field": "Avancement", "desc": False}]}},
            ],
            overrides=[
                progress_cell("Avancement"),
                percent_cell("Attendu à date"),
                against_expected_cell("Avancement / attendu"),
            ],
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
        annotations=deadlines('sheet="$sheet"'),
    )
