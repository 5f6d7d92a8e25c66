"""deploy/prometheus and deploy/alertmanager: the scrape configuration and the rules are valid
for Prometheus, the rule unit tests pass, every alert carries a runbook line and a runbook
section that exists, and Alertmanager's configuration is valid and routes each team's alerts
to its receiver."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from services.runtime.registry import SERVICES
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


def promtool(*args: str | Path, cwd: Path = PROMETHEUS) -> str:
    done = subprocess.run(
        [require_tool("promtool"), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"promtool {' '.join(map(str, args))}:\n{done.stdout}{done.stderr}"
    return done.stdout


def alerts() -> list[dict[str, object]]:
    return [
        rule
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def test_the_scrape_configuration_is_valid_and_scrapes_every_service_on_its_compose_name() -> None:
    out = promtool("check", "config", "prometheus.yml")
    assert f"{len(RULES)} rule files found" in out
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: [t for sc in job["static_configs"] for t in sc["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets == {s.name: [f"{s.name}:{s.default_port}"] for s in SERVICES}


def test_every_rule_file_is_valid() -> None:
    promtool("check", "rules", *RULES)


def test_the_rule_unit_tests_pass() -> None:
    assert RULE_TESTS
    promtool("test", "rules", *RULE_TESTS)


def test_every_alert_has_a_severity_a_summary_and_a_runbook_section_that_exists() -> None:
    doc = (ROOT / "docs" / "metrics.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")
        for title in re.findall(r"^#+ (.+)$", doc, re.M)
    }
    assert alerts()
    for rule in alerts():
        name, annotations = rule["alert"], rule["annotations"]
        assert isinstance(annotations, dict)
        assert rule["labels"]["severity"] in {"warning", "critical"}, name  # type: ignore[index]
        assert annotations["summary"] and annotations["runbook"], name
        assert "\n" not in annotations["runbook"], f"{name}: one runbook line"
        assert annotations["runbook_url"] == f"docs/metrics.md#{str(name).lower()}", name
        assert str(name).lower() in anchors, f"docs/metrics.md has no section {name}"


def test_the_on_call_table_of_operations_md_says_what_to_do_for_every_alert() -> None:
    """docs/operations.md, "On call": one row per alert, its team, and its runbook link."""
    doc = (ROOT / "docs" / "operations.md").read_text()
    rows = {
        name: (link, team)
        for name, link, team in re.findall(
            r"^\| \[(\w+)\]\(metrics\.md#(\w+)\) \| (\w+)", doc, re.M
        )
    }
    assert set(rows) == {rule["alert"] for rule in alerts()}
    for rule in alerts():
        name = str(rule["alert"])
        assert rows[name] == (name.lower(), rule["labels"]["team"]), name  # type: ignore[index]


def test_every_alert_is_proved_to_fire_by_a_rule_unit_test() -> None:
    tested = {
        case["alertname"]
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert {rule["alert"] for rule in alerts()} <= tested


def amtool(*args: str) -> str:
    done = subprocess.run(
        [require_tool("amtool"), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"amtool {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def test_the_alertmanager_configuration_is_valid() -> None:
    out = amtool("check-config", str(ALERTMANAGER))
    assert "SUCCESS" in out
    assert "2 receivers" in out and "1 inhibit rules" in out


def test_every_alert_reaches_a_receiver_with_a_webhook_or_an_e_mail() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["platform"]["webhook_configs"] and receivers["platform"]["email_configs"]
    assert receivers["programme"]["email_configs"]
    for rule in alerts():
        labels = rule["labels"]
        assert isinstance(labels, dict)
        matched = amtool(
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER}",
            f"alertname={rule['alert']}",
            *(f"{k}={v}" for k, v in labels.items()),
        ).split()
        assert matched == [labels["team"]], rule["alert"]


def test_a_service_that_is_down_holds_back_the_stale_data_warnings_of_that_service() -> None:
    """Inhibition compares `job`, so each stale-data warning names the service whose silence
    it reports: while CmaServiceDown fires for that service, the on-call is paged once."""
    [inhibit] = yaml.safe_load(ALERTMANAGER.read_text())["inhibit_rules"]
    assert inhibit["source_matchers"] == ['alertname="CmaServiceDown"']
    assert inhibit["target_matchers"] == ['severity="warning"']
    assert inhibit["equal"] == ["job"]
    stale = yaml.safe_load((PROMETHEUS / "rules" / "stale.yml").read_text())["groups"]
    warnings = [r for g in stale for r in g["rules"] if r["labels"]["severity"] == "warning"]
    assert warnings
    for rule in warnings:
        assert rule["labels"].get("job") or "by (job" in rule["expr"], rule["alert"]
