"""A real Prometheus, with the project's scrape configuration and rules, scrapes the running
platform (the four services, demo data posted through the API): every dashboard query returns
data and every rule evaluates without error."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dashboards.generator.grafana import expressions, substitute
from services.launcher.demo import post_demo
from services.runtime import registry
from tests.conftest import require_tool
from tests.contract.test_dashboards import BOARDS, SAMPLES
from tests.support.data import cell, report_body
from tests.support.platform import STAFF_TOKEN, Platform, free_port
from tests.support.waiting import NeverHappened, eventually

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
# Queries that may rightly return nothing on a healthy platform, and why.
MAY_BE_EMPTY = {
    "sum by (destination) (rate(faststream_published_messages_exceptions_total[1m]))": (
        "FastStream creates a series only when a publish fails"
    ),
}


def prometheus_config(targets: dict[str, str]) -> dict[str, Any]:
    """The project's configuration, with the test's ports, 1 s intervals and absolute rule
    paths."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    # Scrapes read the database: give them room on a loaded machine.
    config["global"] |= {"scrape_interval": "3s", "scrape_timeout": "3s"}
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(PROMETHEUS / f) for f in config["rule_files"]]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


@contextlib.asynccontextmanager
async def running_prometheus(targets: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    directory = Path(tempfile.mkdtemp(prefix="cma-prometheus-"))
    (directory / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config(targets)))
    port = free_port()
    log = (directory / "prometheus.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        require_tool("prometheus"),
        f"--config.file={directory / 'prometheus.yml'}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as api:

            async def ready() -> int:
                assert process.returncode is None, (directory / "prometheus.log").read_text()
                return (await api.get("/-/ready")).status_code

            await eventually(
                ready, 200, within=20, every=0.1, ignoring=(httpx.TransportError,), what="ready"
            )
            yield api
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


async def instant(api: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
    answer = (await api.get("/api/v1/query", params={"query": expr})).json()
    assert answer["status"] == "success", f"{expr}: {answer}"
    return list(answer["data"]["result"])


async def eventually_data(api: httpx.AsyncClient, expr: str, within: float) -> bool:
    """Whether `expr` comes to return data within `within` seconds."""
    try:
        await eventually(lambda: instant(api, expr), bool, within=within, every=0.5)
    except NeverHappened:
        return False
    return True


async def post_data(platform: Platform) -> None:
    """The demo laureates and their reports, plus a project late on everything (an overdue
    milestone and overdue reports), then one milestone tick."""
    platform.clock.now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    urls = platform.url("intake"), platform.url("indicator")
    state = Path(tempfile.mkdtemp(prefix="cma-demo-"))
    await asyncio.to_thread(post_demo, *urls, STAFF_TOKEN, state)
    shutil.rmtree(state)
    late = await platform.register()
    report = report_body("2025-S1", cell(), cell(kind="sensitised", count=5, sex="F"))
    answer = await platform.intake.post(
        f"/v1/projects/{late.project_id}/reports", headers=late.headers, json=report
    )
    assert answer.status_code == 201, answer.text

    async def known() -> str:
        return (await platform.milestone.get("/metrics")).text

    await eventually(known, lambda text: 'status="overdue"' in text, within=20)
    await platform.ticker.tick()


async def test_every_dashboard_query_returns_data_and_every_rule_evaluates(
    platform: Platform,
) -> None:
    await post_data(platform)
    await platform.start("alerting")
    targets = {name: platform.url(name).removeprefix("http://") for name in registry.NAMES}
    async with running_prometheus(targets) as api:
        # Every job scraped successfully (a scrape may time out now and then on a loaded
        # machine: the indicator's and milestone's read the database).
        for expr in ("count_over_time(up[1m]) >= 3", f"count(up == 1) == {len(targets)}"):
            await eventually(
                lambda expr=expr: instant(api, expr), bool, within=45, every=0.5, what=expr
            )
        scraped = await instant(api, "max_over_time(up[1m]) == 1")
        assert {r["metric"]["job"] for r in scraped} == set(targets)

        queries = [(w, substitute(e, SAMPLES)) for b in BOARDS.values() for w, e in expressions(b)]
        empty = [
            f"{where}: {expr}"
            for where, expr in queries
            if expr not in MAY_BE_EMPTY and not await eventually_data(api, expr, within=15)
        ]
        assert not empty, "panels without data:\n" + "\n".join(empty)

        groups = (await api.get("/api/v1/rules")).json()["data"]["groups"]
        broken = [
            f"{g['name']} / {r['name']}: {r.get('lastError')}"
            for g in groups
            for r in g["rules"]
            if r["health"] != "ok"
        ]
        assert not broken, "\n".join(broken)
        files = [yaml.safe_load(f.read_text()) for f in (PROMETHEUS / "rules").glob("*.yml")]
        assert {g["name"] for g in groups} == {g["name"] for f in files for g in f["groups"]}
