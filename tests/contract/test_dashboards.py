"""dashboards/: generated from the catalog, provisioned with one datasource uid, every query
parses (promtool) and names only metrics that the running services export or that a recording
rule records."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.generator.__main__ import rendered
from dashboards.generator.grafana import VARIABLE, expressions, substitute, zero_while_up
from services.runtime import registry
from tests.conftest import require_tool
from tests.support.platform import Platform
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
BOARDS = {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "dashboards").glob("*.json"))}
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
SAMPLES = {
    "sheet": "cloud",
    "kind": "trained",
    "coverage": "funded",
    "reading": "as_reported",
    "__rate_interval": "1m",
}
GRAFANA_BUILTINS = {"__rate_interval"}

PROMQL_WORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
    "atan2",
    "group_left",
    "group_right",
}
CLAUSE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (strings, label matchers, ranges,
    grouping clauses and function names removed; what remains are metric names)."""
    text = re.sub(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = CLAUSE.sub(" ", text)
    return {m for m in IDENTIFIER.findall(text) if m.lower() not in PROMQL_WORDS}


def rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def all_queries() -> list[tuple[str, str]]:
    """(where, PromQL with sample variable values) for every dashboard query."""
    return [(w, substitute(e, SAMPLES)) for board in BOARDS.values() for w, e in expressions(board)]


def datasources(node: Any) -> list[Any]:
    if isinstance(node, dict):
        found = [node["datasource"]] if "datasource" in node else []
        return found + [d for v in node.values() for d in datasources(v)]
    if isinstance(node, list):
        return [d for v in node for d in datasources(v)]
    return []


def test_the_extractor_finds_metric_names_and_nothing_else() -> None:
    expr = (
        'sum by (job) (rate(a_total{x="b c"}[5m])) / on (job) group_left (name) '
        "max without (i) (c:d:e) or vector(0) * 1e3 > bool 2 - on (x) group_right f"
    )
    assert metric_names(expr) == {"a_total", "c:d:e", "f"}


CONSTANT_ZERO = re.compile(r"\bor\s+(on\s*\(\s*\)\s*)?vector\s*\(\s*0\s*\)")


def test_no_query_turns_a_service_that_is_down_into_a_zero() -> None:
    """`x or vector(0)` reads 0 while the service behind `x` is down ("Jalons en retard: 0"
    while milestone is away): a zero needs the service up (`zero_while_up`), else no data."""
    assert CONSTANT_ZERO.search("sum(x) or on() vector(0)")
    found = [f"{where}: {expr}" for where, expr in all_queries() if CONSTANT_ZERO.search(expr)]
    found += [rule["expr"] for rule in rules() if CONSTANT_ZERO.search(rule["expr"])]
    assert not found, "\n".join(found)


def test_a_zero_while_up_reads_no_data_while_its_service_is_down(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    expr = zero_while_up("sum(absent_metric)", "milestone", "alerting")
    tests = {
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'up{job="milestone", instance="a"}', "values": "1 1 0"},
                    {"series": 'up{job="milestone", instance="b"}', "values": "0 1 0"},
                    {"series": 'up{job="alerting", instance="c"}', "values": "1 1 1"},
                ],
                "promql_expr_test": [
                    {
                        "expr": expr,
                        "eval_time": "0m",
                        "exp_samples": [{"labels": "{}", "value": 0}],
                    },
                    {
                        "expr": expr,
                        "eval_time": "1m",
                        "exp_samples": [{"labels": "{}", "value": 0}],
                    },
                    {"expr": expr, "eval_time": "2m", "exp_samples": []},
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(tests))
    run = subprocess.run(
        [promtool, "test", "rules", str(tmp_path / "test.yml")], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_dashboards_and_region_rules_are_what_the_generator_writes_from_the_catalog() -> None:
    stale = [p.relative_to(ROOT) for p, text in rendered().items() if p.read_text() != text]
    assert not stale, f"out of date, run `python -m dashboards.generator`: {stale}"


def test_the_five_dashboards_are_provisioned_from_the_folder_compose_mounts() -> None:
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "cma.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert {b["uid"] for b in BOARDS.values()} == {
        "cma-overview",
        "cma-sheet",
        "cma-coverage",
        "cma-milestones",
        "cma-platform",
    }
    for board in BOARDS.values():
        for panel in board["panels"]:
            assert panel["title"], board["uid"]
            assert panel["type"] == "row" or panel["description"], (board["uid"], panel["title"])


def test_every_panel_and_query_reads_the_one_provisioned_datasource() -> None:
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    (source,) = provisioned["datasources"]
    expected = {"type": source["type"], "uid": source["uid"]}
    for name, board in BOARDS.items():
        used = datasources(board["panels"])
        assert used and all(d == expected for d in used), name


def test_every_variable_a_query_uses_is_defined_on_its_dashboard() -> None:
    for board in BOARDS.values():
        defined = {v["name"] for v in board["templating"]["list"]} | GRAFANA_BUILTINS
        for where, expr in expressions(board):
            assert set(VARIABLE.findall(expr)) <= defined, where
        for panel in board["panels"]:
            assert panel.get("repeat") in defined | {None}, panel["title"]


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    """Each query becomes a recording rule in its own group, named after its panel, so
    `promtool check rules` names the panel of any query Prometheus cannot parse."""
    groups = [
        {"name": where, "rules": [{"record": "cma_dashboard_check", "expr": expr}]}
        for where, expr in all_queries()
    ]
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": groups}, allow_unicode=True))
    done = subprocess.run(
        [require_tool("promtool"), "check", "rules", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def exported_names(exposition: str) -> set[str]:
    """Sample names in a /metrics page, plus families declared with no sample yet."""
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            suffixes = ("_bucket", "_count", "_sum") if kind == "histogram" else ()
            names |= {name, *(name + s for s in suffixes)}
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


@pytest.mark.integration
async def test_dashboards_and_rules_name_only_metrics_the_services_export(
    platform: Platform,
) -> None:
    await platform.start("alerting")
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    named = [
        (where, name)
        for where, expr in [
            *all_queries(),
            *((r.get("record", r.get("alert")), r["expr"]) for r in rules()),
        ]
        for name in metric_names(expr)
    ]

    async def unknown() -> list[str]:
        pages = [(await platform.client(name).get("/metrics")).text for name in registry.NAMES]
        exported = set().union(*map(exported_names, pages)) | {"up"}
        return sorted({f"{w}: {n}" for w, n in named if n not in exported | recorded})

    # A family may appear only once its service has reached the broker: wait for them all,
    # and fail naming those that never came.
    await eventually(unknown, [], within=15, what="named but not exported nor recorded")


def panels_titled(board: str, start: str) -> list[dict[str, Any]]:
    return [p for p in BOARDS[board]["panels"] if p["title"].startswith(start)]


def test_the_overview_opens_a_sheet_s_drill_down_from_its_row_and_its_targets() -> None:
    [summary] = panels_titled("overview", "Synthèse par fiche")
    [sheet_column] = [
        o for o in summary["fieldConfig"]["overrides"] if o["matcher"]["options"] == "Fiche"
    ]
    [links] = [p["value"] for p in sheet_column["properties"] if p["id"] == "links"]
    assert links[0]["url"].startswith("/d/cma-sheet?var-sheet=${__value.raw}&")
    [targets] = panels_titled("overview", "Cibles chiffrées")
    assert targets["links"][0]["url"].startswith("/d/cma-sheet?var-sheet=$sheet&")


def test_progress_is_judged_against_the_share_expected_today_not_fixed_steps() -> None:
    """A gauge red below 25 % would call every target red in its first semester: the gauges
    carry no verdict, a column of progress over the expected share does."""
    for board in ("overview", "sheet"):
        for p in panels_titled(board, "Cibles chiffrées"):
            by_column = {
                o["matcher"]["options"]: {x["id"]: x["value"] for x in o["properties"]}
                for o in p["fieldConfig"]["overrides"]
            }
            assert len(by_column["Avancement"]["thresholds"]["steps"]) == 1
            steps = by_column["Avancement / attendu"]["thresholds"]["steps"]
            assert [s["value"] for s in steps] == [None, 0.9, 1]
            exprs = [t["expr"] for t in p["targets"]]
            assert any("cma_indicator_target_forecast" in e for e in exprs)


def test_the_sheet_shows_its_trajectory_freshness_and_deadlines() -> None:
    sheet = BOARDS["sheet"]
    exprs = [e for _, e in expressions(sheet)]
    assert any("cma:target_expected:people" in e for e in exprs)
    assert any("cma_indicator_projects_by_staleness" in e for e in exprs)
    annotations = {a["name"]: a for a in sheet["annotations"]["list"]}
    assert set(annotations) == {"Échéances des jalons", "Échéances des rapports en retard"}
    assert all(a["useValueForTime"] for a in annotations.values())
    assert BOARDS["milestones"]["annotations"]["list"]
