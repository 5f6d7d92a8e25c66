"""Grafana JSON building blocks: queries, panels, rows laid out left to right, dashboards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Json = dict[str, Any]

DATASOURCE_UID = "cma-prometheus"  # deploy/grafana/provisioning/datasources/prometheus.yml
DATASOURCE: Json = {"type": "prometheus", "uid": DATASOURCE_UID}
SCHEMA_VERSION = 39  # Grafana 10.4 / 11


def query(expr: str, legend: str = "", *, table: bool = False, instant: bool = False) -> Json:
    """A Prometheus query; `table` = one instant value per series, as table rows."""
    q: Json = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend or "__auto"}
    if table or instant:
        q |= {"instant": True, "range": False, "format": "table" if table else "time_series"}
    else:
        q |= {"instant": False, "range": True}
    return q


def zero_while_up(expr: str, *jobs: str) -> str:
    """`expr`, or 0 when it has no series while every one of `jobs` has a replica Prometheus
    scrapes: a count with nothing to count reads 0, but a service that is down reads "no data",
    never a reassuring zero (unlike `or vector(0)`). `expr` must carry no labels (a `sum`)."""
    alive = f'min(max by (job) (up{{job=~"{"|".join(jobs)}"}})) == 1'
    return f"{expr} or 0 * ({alive})"


def thresholds(*steps: tuple[str, float | None]) -> Json:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


GREEN = thresholds(("green", None))
NEUTRAL = thresholds(("blue", None))
"""A share shown without a verdict: whether 40 % is good depends on the share expected today."""
AGAINST_EXPECTED = thresholds(("red", None), ("orange", 0.9), ("green", 1))
"""Progress divided by the share expected today: red below 90 % of it, green from 100 %."""
NONZERO_BAD = thresholds(("green", None), ("red", 1))
NONZERO_WARN = thresholds(("green", None), ("orange", 1))


def value_map(values: dict[str, str], colors: dict[str, str] | None = None) -> Json:
    colors = colors or {}
    return {
        "type": "value",
        "options": {
            k: {"text": v, "index": i} | ({"color": colors[k]} if k in colors else {})
            for i, (k, v) in enumerate(values.items())
        },
    }


def override(field: str, *props: tuple[str, Any], regex: bool = False) -> Json:
    matcher = {"id": "byRegexp" if regex else "byName", "options": field}
    return {"matcher": matcher, "properties": [{"id": k, "value": v} for k, v in props]}


def panel(
    kind: str,
    title: str,
    description: str,
    queries: list[Json],
    *,
    w: int = 6,
    h: int = 4,
    unit: str = "short",
    decimals: int | None = None,
    steps: Json = GREEN,
    mappings: list[Json] | None = None,
    overrides: list[Json] | None = None,
    options: Json | None = None,
    transformations: list[Json] | None = None,
    custom: Json | None = None,
    min_max: tuple[float, float] | None = None,
    links: list[Json] | None = None,
) -> Json:
    defaults: Json = {
        "unit": unit,
        "thresholds": steps,
        "mappings": mappings or [],
        "color": {"mode": "thresholds"},
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    if min_max is not None:
        defaults["min"], defaults["max"] = min_max
    if custom is not None:
        defaults["custom"] = custom
    elif kind == "timeseries":
        defaults["color"] = {"mode": "palette-classic"}
        defaults["custom"] = {"drawStyle": "line", "lineWidth": 2, "fillOpacity": 10}
    built: Json = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"w": w, "h": h},
        "targets": [q | {"refId": chr(ord("A") + i)} for i, q in enumerate(queries)],
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options if options is not None else _default_options(kind),
        "transformations": transformations or [],
    }
    if links:
        built["links"] = links
    return built


def _default_options(kind: str) -> Json:
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if kind == "stat":
        return {"reduceOptions": reduce, "colorMode": "value", "graphMode": "none"}
    if kind == "bargauge":
        return {
            "reduceOptions": reduce,
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
        }
    if kind == "timeseries":
        return {
            "legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    if kind == "table":
        return {"showHeader": True, "cellHeight": "sm"}
    return {}


def row(title: str, repeat: str | None = None) -> Json:
    r: Json = {"type": "row", "title": title, "collapsed": False, "panels": []}
    if repeat:
        r["repeat"] = repeat
    return r


def table_of(names: dict[str, str], hide: tuple[str, ...] = ("Time",)) -> list[Json]:
    """Merge instant table queries into one table; keep and rename the columns in `names`'
    order (label names, or `Value #A`... for the queries' values)."""
    return [
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {
                "excludeByName": dict.fromkeys(hide, True),
                "indexByName": {k: i for i, k in enumerate(names)},
                "renameByName": names,
            },
        },
    ]


def layout(panels: list[Json]) -> list[Json]:
    """Places panels left to right in a 24-column grid; a row starts a new line."""
    x = y = line_h = 0
    for i, p in enumerate(panels, start=1):
        p["id"] = i
        if p["type"] == "row":
            y, x, line_h = y + line_h, 0, 0
            p["gridPos"] = {"x": 0, "y": y, "w": 24, "h": 1}
            y += 1
            continue
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            y, x, line_h = y + line_h, 0, 0
        p["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        x, line_h = x + w, max(line_h, h)
    return panels


def custom_variable(
    name: str,
    label: str,
    options: dict[str, str],
    *,
    current: str | None = None,
    multi: bool = False,
) -> Json:
    """A fixed list (`text : value` pairs); `multi` adds "All" and makes it the default."""
    values = list(options)
    chosen = current or values[0]
    if multi:
        current_json: Json = {"text": ["All"], "value": ["$__all"]}
    else:
        current_json = {"text": options[chosen], "value": chosen}
    return {
        "type": "custom",
        "name": name,
        "label": label,
        "query": ", ".join(f"{text} : {value}" for value, text in options.items()),
        "options": [
            {"text": text, "value": value, "selected": not multi and value == chosen}
            for value, text in options.items()
        ],
        "current": current_json,
        "multi": multi,
        "includeAll": multi,
        "hide": 0,
    }


def link(title: str, url: str) -> Json:
    """A data link (a table cell, a panel's corner): `url` may use `${__value.raw}` and keeps
    the dashboard's time range."""
    joiner = "&" if "?" in url else "?"
    return {"title": title, "url": f"{url}{joiner}${{__url_time_range}}", "targetBlank": False}


def date_annotation(name: str, expr: str, title: str, text: str, color: str) -> Json:
    """Marks on every time series of a dashboard, placed at the date `expr`'s value holds
    (milliseconds since the epoch, floored to the day so that each date is one mark)."""
    return {
        "name": name,
        "datasource": DATASOURCE,
        "enable": True,
        "iconColor": color,
        "expr": expr,
        "step": "1h",
        "useValueForTime": True,
        "titleFormat": title,
        "textFormat": text,
        "tagKeys": "sheet",
    }


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[Json],
    *,
    variables: list[Json] | None = None,
    annotations: list[Json] | None = None,
    time_from: str = "now-30d",
    refresh: str = "1m",
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["cma", "france-2030"],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": refresh,
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": variables or []},
        "annotations": {"list": annotations or []},
        "links": [
            {
                "type": "dashboards",
                "tags": ["cma"],
                "asDropdown": True,
                "title": "Tableaux CMA",
                "includeVars": False,
                "keepTime": True,
            }
        ],
        "panels": layout(panels),
    }


def expressions(board: Json) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel query and annotation query of a dashboard."""
    for p in board["panels"]:
        for t in p.get("targets", []):
            yield f"{board['uid']} / #{p['id']} {p['title']} / {t['refId']}", t["expr"]
    for a in board["annotations"]["list"]:
        yield f"{board['uid']} / annotation {a['name']}", a["expr"]


VARIABLE = re.compile(r"\$\{?(\w+)\}?")


def substitute(expr: str, values: dict[str, str]) -> str:
    """Replaces Grafana variables (`$sheet`, `${sheet}`, `$__rate_interval`) by sample values;
    a variable without a value raises KeyError."""
    return VARIABLE.sub(lambda m: values[m.group(1)], expr)
