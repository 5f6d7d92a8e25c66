"""1. Programme overview: the programme's totals, then one row per sheet with each quantified
target's progress beside the value expected at today's date. The blocks are shared with the
sheet drill-down."""

from __future__ import annotations

from dashboards.generator.catalog import FORECAST_NAMES, SHEET_NAMES, SHEETS, TARGET_NAMES
from dashboards.generator.grafana import (
    AGAINST_EXPECTED,
    NEUTRAL,
    NONZERO_WARN,
    Json,
    custom_variable,
    dashboard,
    link,
    override,
    panel,
    query,
    row,
    table_of,
    thresholds,
    zero_while_up,
)

GAP = thresholds(("red", None), ("orange", -0.1), ("green", 0))
GAUGE_CELL = {"type": "gauge", "mode": "basic", "valueDisplayMode": "text"}
TABLE = {"align": "auto", "cellOptions": {"type": "auto"}, "filterable": False}


def percent_cell(column: str) -> Json:
    return override(column, ("unit", "percentunit"), ("decimals", 1))


def progress_cell(column: str) -> Json:
    """A 0-100 % gauge inside a table cell, in one colour: the verdict is the next column's,
    against the share expected today (a fixed 25 %/75 % would call a target red in its first
    semester and green when it is behind near its horizon)."""
    percent = percent_cell(column)
    percent["properties"] += [
        {"id": "min", "value": 0},
        {"id": "max", "value": 1},
        {"id": "thresholds", "value": NEUTRAL},
        {"id": "custom.cellOptions", "value": GAUGE_CELL},
    ]
    return percent


def against_expected_cell(column: str) -> Json:
    """Progress over the share expected today: red below 90 % of it, green from 100 %."""
    percent = percent_cell(column)
    percent["properties"] += [
        {"id": "thresholds", "value": AGAINST_EXPECTED},
        {"id": "custom.cellOptions", "value": {"type": "color-background", "mode": "basic"}},
    ]
    return percent


def against_expected(progress: str, expected: str) -> str:
    """`progress / expected` where something is expected yet (no division by a zero share)."""
    return f"{progress} / ({expected} > 0)"


SHEET_LINK = "/d/cma-sheet?var-sheet="


def _stat(title: str, description: str, expr: str, unit: str = "short", **kw: object) -> Json:
    decimals = 1 if unit == "percentunit" else 0
    return panel(
        "stat",
        title,
        description,
        [query(expr, instant=True)],
        w=3,
        unit=unit,
        decimals=decimals,
        **kw,
    )


def figures(sel: str) -> list[Json]:
    """The headline stats; `sel` restricts to one sheet (`sheet="$sheet"`) or is empty."""
    s = f"{sel}, " if sel else ""
    only = f"{{{sel}}}" if sel else ""
    per = "sheet" if sel else "programme"
    return [
        _stat(
            "Personnes formées",
            "Formés ou certifiés déclarés dans les derniers rapports (dernières révisions).",
            zero_while_up(f'sum(cma:sheet_people:sum{{{s}kind="trained"}})', "indicator"),
        ),
        _stat(
            "Personnes sensibilisées",
            "Sensibilisés ou acculturés déclarés.",
            zero_while_up(f'sum(cma:sheet_people:sum{{{s}kind="sensitised"}})', "indicator"),
        ),
        _stat(
            "dont en alternance",
            "Formés en alternance (comptés parmi les formés).",
            zero_while_up(f'sum(cma:sheet_people:sum{{{s}kind="alternance"}})', "indicator"),
        ),
        _stat(
            "Part des femmes",
            "Part des femmes parmi les formés dont le sexe est renseigné.",
            f'cma:{per}_women_share:ratio{{{s}kind="trained"}}',
            "percentunit",
        ),
        _stat(
            "Part en alternance",
            "Formés en alternance / formés.",
            f"cma:{per}_alternance_share:ratio{only}",
            "percentunit",
        ),
        _stat(
            "Projets financés",
            "Projets lauréats actifs.",
            zero_while_up(f"sum(cma:sheet_projects:count{only})", "indicator"),
        ),
        _stat(
            "Financement",
            "Aide France 2030 des projets actifs.",
            zero_while_up(f"sum(cma:sheet_funding:euros{only})", "indicator"),
            "currencyEUR",
        ),
        _stat(
            "Cibles sous la trajectoire",
            "Cibles chiffrées dont l'avancement est inférieur "
            "à la trajectoire linéaire de plus de la tolérance (10 % par défaut).",
            zero_while_up(f"sum(cma:sheet_targets_behind:count{only})", "indicator"),
            steps=NONZERO_WARN,
        ),
    ]


def targets_table(sheet: str, *, linked: bool = False) -> Json:
    """Each quantified target: progress beside the value expected at today's date, coloured
    against it, and the forecast at the current pace (docs/insight.md). `linked`: the panel
    opens the sheet's drill-down."""
    sel = f'{{sheet="{sheet}"}}'
    forecast = f'{{sheet="{sheet}", reading!="approved"}}'
    names = {
        "target": "Cible",
        "Value #A": "Réalisé",
        "Value #B": "Objectif",
        "Value #C": "Attendu à date",
        "Value #D": "Avancement",
        "Value #E": "Attendu (part)",
        "Value #G": "Avancement / attendu",
        "Value #F": "Écart à la trajectoire",
        "status": "Prévision",
        "Value #I": "Rythme par semestre",
        "Value #J": "Semestres de retard prévus",
    }
    return panel(
        "table",
        "Cibles chiffrées : avancement, trajectoire attendue à date et prévision",
        "Pour chaque cible de la fiche : personnes correspondant au sélecteur de la cible, "
        "objectif, valeur attendue aujourd'hui sur la trajectoire linéaire (du début de la "
        "cible à son horizon), avancement rapporté à la part attendue (rouge sous 90 %, vert "
        "à partir de 100 %), écart en points (négatif = en retard), et prévision au rythme "
        "des derniers semestres déclarés.",
        [
            query(f"max by (target) (cma:target_actual:people{sel})", table=True),
            query(f"max by (target) (cma:target_value:people{sel})", table=True),
            query(f"max by (target) (cma:target_expected:people{sel})", table=True),
            query(f"max by (target) (cma:target_progress:ratio{sel})", table=True),
            query(f"max by (target) (cma:target_expected:ratio{sel})", table=True),
            query(f"max by (target) (cma:target_trajectory_gap:ratio{sel})", table=True),
            query(
                against_expected(
                    f"max by (target) (cma:target_progress:ratio{sel})",
                    f"max by (target) (cma:target_expected:ratio{sel})",
                ),
                table=True,
            ),
            query(
                f"max by (target, status) (cma_indicator_target_forecast{forecast}) == 1",
                table=True,
            ),
            query(
                f"max by (target) (cma_indicator_target_pace_per_semester{forecast})", table=True
            ),
            query(f"max by (target) (cma_indicator_target_semesters_late{forecast})", table=True),
        ],
        w=24,
        h=8,
        decimals=0,
        custom=TABLE,
        transformations=table_of(names, hide=("Time", "Value #H")),
        overrides=[
            override("Cible", ("mappings", [TARGET_NAMES]), ("custom.width", 360)),
            progress_cell("Avancement"),
            percent_cell("Attendu (part)"),
            against_expected_cell("Avancement / attendu"),
            override(
                "Écart à la trajectoire",
                ("unit", "percentunit"),
                ("decimals", 1),
                ("thresholds", GAP),
                ("custom.cellOptions", {"type": "color-text"}),
            ),
            override(
                "Prévision",
                ("mappings", [FORECAST_NAMES]),
                ("custom.cellOptions", {"type": "color-text"}),
            ),
        ],
        links=[link("Détail de la fiche", f"{SHEET_LINK}{sheet}")] if linked else None,
    )


def sheets_table() -> Json:
    names = {
        "sheet": "Fiche",
        "Value #A": "Formés",
        "Value #B": "Sensibilisés",
        "Value #C": "dont alternance",
        "Value #D": "Part des femmes",
        "Value #E": "Part en alternance",
        "Value #F": "Projets",
        "Value #G": "Financement",
        "Value #H": "Cibles en retard",
        "Value #I": "Prévues hors délai",
        "Value #J": "Projets à jour",
    }
    return panel(
        "table",
        "Synthèse par fiche",
        "Une ligne par fiche thématique ; cliquer sur une fiche ouvre son détail. Prévues "
        "hors délai : cibles qu'au rythme actuel la fiche n'atteindra pas à l'horizon. "
        "Projets à jour : part des projets actifs sans semestre clos non déclaré.",
        [
            query('sum by (sheet) (cma:sheet_people:sum{kind="trained"})', table=True),
            query('sum by (sheet) (cma:sheet_people:sum{kind="sensitised"})', table=True),
            query('sum by (sheet) (cma:sheet_people:sum{kind="alternance"})', table=True),
            query('sum by (sheet) (cma:sheet_women_share:ratio{kind="trained"})', table=True),
            query("max by (sheet) (cma:sheet_alternance_share:ratio)", table=True),
            query("max by (sheet) (cma:sheet_projects:count)", table=True),
            query("max by (sheet) (cma:sheet_funding:euros)", table=True),
            query("max by (sheet) (cma:sheet_targets_behind:count)", table=True),
            query(
                "sum by (sheet) (max by (sheet, target, status) (cma_indicator_target_forecast"
                '{status=~"late|unreachable", reading!="approved"}))',
                table=True,
            ),
            query(
                'max by (sheet) (cma_indicator_projects_by_staleness{semesters_behind="0"})\n'
                "  / sum by (sheet) (max by (sheet, semesters_behind) "
                "(cma_indicator_projects_by_staleness))",
                table=True,
            ),
        ],
        w=24,
        h=8,
        decimals=0,
        custom=TABLE,
        transformations=table_of(names),
        overrides=[
            override(
                "Fiche",
                ("mappings", [SHEET_NAMES]),
                (
                    "links",
                    [link("Détail de la fiche ${__value.text}", SHEET_LINK + "${__value.raw}")],
                ),
            ),
            override(
                "(Part.*|Projets à jour)", ("unit", "percentunit"), ("decimals", 1), regex=True
            ),
            override(
                "Prévues hors délai",
                ("thresholds", NONZERO_WARN),
                ("custom.cellOptions", {"type": "color-text"}),
            ),
            override("Financement", ("unit", "currencyEUR")),
            override(
                "Cibles en retard",
                ("thresholds", NONZERO_WARN),
                ("custom.cellOptions", {"type": "color-text"}),
            ),
        ],
    )


def overview() -> Json:
    sheets = custom_variable("sheet", "Fiche", SHEETS, multi=True)
    panels = [
        row("Programme : toutes fiches"),
        *figures(""),
        sheets_table(),
        row("Fiche : $sheet", repeat="sheet"),
        *figures('sheet="$sheet"'),
        targets_table("$sheet", linked=True),
    ]
    return dashboard(
        "cma-overview",
        "CMA : vue d'ensemble du programme",
        "France 2030, AMI Compétences et métiers d'avenir : où en est chaque fiche vers ses "
        "cibles chiffrées, et combien de personnes formées, sensibilisées, en alternance.",
        panels,
        variables=[sheets],
    )
