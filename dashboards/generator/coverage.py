"""3. Regional coverage: the 18 regions, funded and delivered, the uncovered population, a map.

The map is a Geomap of markers at each region's prefecture. Its coordinates come from the
catalog (`regions.csv`) through the `cma:region_location:info` recording rules, which the
query joins `on (region)`: no outline file, no other datasource."""

from __future__ import annotations

from dashboards.generator.catalog import COVERAGE, OVERSEAS, READINGS, SHEETS, sheet_legends
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
    value_map,
)

UNCOVERED = thresholds(("green", None), ("orange", 0.1), ("red", 0.25))
COVERED = value_map({"0": "non couverte", "1": "couverte"}, {"0": "red", "1": "green"})
LOCATION = "cma:region_location:info"
SEL = 'coverage="$coverage", sheet=~"$sheet", reading="$reading"'


def _covered(selector: str, labels: str = "region_name") -> str:
    return (
        f"max by (region) (cma_indicator_region_covered{{{selector}}})"
        f" * on (region) group_left ({labels}) {LOCATION}"
    )


def _map(title: str, regions: str, view: Json) -> Json:
    selector = SEL + (f', region=~"{regions}"' if regions else "")
    layer = {
        "type": "markers",
        "name": "Régions",
        "location": {"mode": "coords", "latitude": "latitude", "longitude": "longitude"},
        "tooltip": True,
        "config": {
            "showLegend": True,
            "style": {
                "size": {"fixed": 12},
                "color": {"field": "Value", "fixed": "green"},
                "opacity": 0.9,
                "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
                "text": {"mode": "field", "field": "region_name", "fixed": ""},
                "textConfig": {"fontSize": 11, "offsetX": 12, "textAlign": "left"},
            },
        },
    }
    return panel(
        "geomap",
        title,
        "Un marqueur par région, à la préfecture de région (coordonnées du catalogue) : vert "
        "si au moins une des fiches choisies couvre la région ($coverage), rouge sinon.",
        [query(_covered(selector, "region_name, latitude, longitude"), table=True)],
        w=12,
        h=13,
        decimals=0,
        steps=thresholds(("red", None), ("green", 1)),
        mappings=[COVERED],
        transformations=[
            {
                "id": "convertFieldType",
                "options": {
                    "conversions": [
                        {"targetField": "latitude", "destinationType": "number"},
                        {"targetField": "longitude", "destinationType": "number"},
                    ]
                },
            }
        ],
        options={
            "view": view,
            "controls": {"showZoom": True, "mouseWheelZoom": False, "showAttribution": True},
            "basemap": {"type": "default", "name": "Fond de carte", "config": {}},
            "layers": [layer],
            "tooltip": {"mode": "details"},
        },
    )


def coverage() -> Json:
    people = (
        'max by (sheet, region) (cma_indicator_people_by_region{kind="trained", sheet=~"$sheet", '
        'reading="$reading"})'
    )
    stats = [
        panel(
            "stat",
            f"Population hors couverture {label.split(' (')[0].lower()} (toutes fiches)",
            "Part de la population (INSEE, populations légales) vivant dans une région "
            "qu'aucun projet ne couvre, toutes fiches confondues.",
            [
                query(
                    "cma:uncovered_population_share:ratio"
                    f'{{sheet="all", coverage="{c}", reading="$reading"}}',
                    instant=True,
                )
            ],
            unit="percentunit",
            decimals=1,
            steps=UNCOVERED,
        )
        for c, label in COVERAGE.items()
    ] + [
        panel(
            "stat",
            f"Régions à couverture {label.split(' (')[0].lower()}",
            "Régions couvertes par au moins une des fiches choisies.",
            [
                query(
                    f'sum(max by (region) (cma_indicator_region_covered{{coverage="{c}", '
                    'sheet=~"$sheet", reading="$reading"}))',
                    instant=True,
                )
            ],
            unit="suffix: / 18",
            decimals=0,
            steps=thresholds(("red", None), ("orange", 9), ("green", 18)),
        )
        for c, label in COVERAGE.items()
    ]
    regions = {"region_name": "Région", "Value #A": "Financée", "Value #B": "Réalisée"}
    panels = [
        row("Population non couverte"),
        *stats,
        panel(
            "bargauge",
            "Population non couverte par fiche ($coverage)",
            "Part de la population dans les régions non couvertes, fiche par fiche.",
            [  # the family itself: the recorded rule keeps no `reading` for the selector
                query(
                    "max by (sheet) (cma_indicator_uncovered_population_share{" + SEL + "})",
                    "{{sheet}}",
                    instant=True,
                )
            ],
            w=24,
            h=7,
            unit="percentunit",
            decimals=1,
            steps=UNCOVERED,
            min_max=(0, 1),
            overrides=sheet_legends(),
        ),
        row("Carte ($coverage)"),
        _map("France métropolitaine", "", {"id": "coords", "lat": 46.6, "lon": 2.4, "zoom": 5}),
        _map("Outre-mer", "|".join(OVERSEAS), {"id": "fit", "allLayers": True, "zoom": 3}),
        row("Régions"),
        panel(
            "table",
            "Régions × fiches ($coverage)",
            "Chaque région (ligne) couverte ou non par chaque fiche (colonne).",
            [query(_covered(SEL).replace("max by (region)", "max by (region, sheet)"), table=True)],
            w=24,
            h=12,
            decimals=0,
            mappings=[COVERED],
            custom={"align": "center", "cellOptions": {"type": "color-text"}},
            steps=thresholds(("red", None), ("green", 1)),
            transformations=[
                {
                    "id": "groupingToMatrix",
                    "options": {
                        "columnField": "sheet",
                        "rowField": "region_name",
                        "valueField": "Value",
                    },
                }
            ],
            overrides=sheet_legends(),
        ),
        panel(
            "table",
            "Couverture et personnes formées par région",
            "Pour les fiches choisies : région couverte par un financement, par des "
            "formations déclarées, et formés déclarés dans la région.",
            [
                query(_covered('coverage="funded", sheet=~"$sheet"'), table=True),
                query(_covered('coverage="delivered", sheet=~"$sheet"'), table=True),
                query(
                    f"sum by (region) ({people}) * on (region) group_left (region_name) "
                    + LOCATION,
                    table=True,
                ),
            ],
            w=24,
            h=12,
            decimals=0,
            transformations=table_of(
                regions | {"Value #C": "Formés déclarés"}, hide=("Time", "region")
            ),
            overrides=[
                override(
                    "Financée",
                    ("mappings", [COVERED]),
                    ("custom.cellOptions", {"type": "color-text"}),
                    ("thresholds", thresholds(("red", None), ("green", 1))),
                ),
                override(
                    "Réalisée",
                    ("mappings", [COVERED]),
                    ("custom.cellOptions", {"type": "color-text"}),
                    ("thresholds", thresholds(("red", None), ("green", 1))),
                ),
            ],
        ),
    ]
    return dashboard(
        "cma-coverage",
        "CMA : couverture régionale",
        "Les 18 régions : couverture financée (un projet actif déclare la région) et "
        "réalisée (des formés y sont déclarés), population non couverte, carte.",
        panels,
        variables=[
            custom_variable("sheet", "Fiche", SHEETS, multi=True),
            custom_variable("coverage", "Couverture", COVERAGE),
            custom_variable("reading", "Lecture", READINGS),
        ],
    )
