"""B1's report path in one process, without sockets: CPU per report through intake's whole
ASGI app (middlewares, routing, auth, validation, the transaction), and what the HTTP
request metrics add to it.

    python -m bench.intake_inprocess [--reports 1000] [--runs 5] [--profile FILE]

Two apps on one scratch database (CMA_BENCH_DATABASE_URL's server or an embedded
PostgreSQL): intake as deployed, and the same without its `HttpMetrics` middleware. Each run
posts `--reports` 40-cell reports (B1's bodies, round 20 projects) through each app in turn,
one after the other, and reads `time.process_time`: this process's CPU per report, whatever
else the machine runs (the httpx client's share is in both arms). `--profile` writes
cProfile stats of one more run of the deployed app.
"""

from __future__ import annotations

import argparse
import cProfile
import random
import secrets
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import Message, Receive, Scope, Send

from bench.intake_load import project_body, report_body
from bench.support import run_benchmark, scratch_database, summary
from services.intake.app import create_app
from services.runtime.http_metrics import HttpMetrics
from services.runtime.settings import Settings

PROJECTS = 20
REPORTS = "/v1/projects/{project_id}/reports"


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")


async def post_reports(app: FastAPI, targets: list[tuple[str, str, str]], reports: int) -> float:
    """CPU seconds per report for `reports` posts through `app`."""
    async with client(app) as http:
        started = time.process_time()
        for i in range(reports):
            path, token, body = targets[i % len(targets)]
            r = await http.post(
                path,
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            if r.status_code != 201:
                raise RuntimeError(f"{r.status_code}: {r.text}")
        return (time.process_time() - started) / reports


async def middleware_alone(app: FastAPI, path: str, calls: int) -> float:
    """CPU seconds per request that `HttpMetrics` adds around an application answering at
    once: its own cost, free of the noise of a whole request's."""

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def nothing(_: Message) -> None:
        return None

    async def no_body() -> Message:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "POST", "path": path, "app": app, "headers": []}
    route = SimpleNamespace(path=REPORTS)  # what FastAPI's routing leaves in the scope
    measured = HttpMetrics(answer, "bench", CollectorRegistry())
    spent = []
    for wrapped in (answer, measured, answer, measured):
        started = time.process_time()
        for _ in range(calls):
            # A fresh scope each time, as routing leaves its route there.
            await wrapped(dict(scope, route=route), no_body, nothing)
        spent.append((time.process_time() - started) / calls)
    return (spent[1] + spent[3] - spent[0] - spent[2]) / 2


async def main(reports: int, runs: int, profile: Path | None = None) -> None:
    async with scratch_database() as url:
        staff = secrets.token_urlsafe(24)
        settings = Settings(
            database_url=url,
            kafka_bootstrap="127.0.0.1:9",  # never reached: no lifespan, no relay
            staff_tokens=staff,
            rate_limit_per_minute=10_000_000,
            rate_limit_burst=100_000,
        )
        deployed, bare = create_app(settings), create_app(settings)
        bare.user_middleware = [m for m in bare.user_middleware if m.cls is not HttpMetrics]
        rng, targets = random.Random(2030), []
        async with client(deployed) as http:
            for i in range(PROJECTS):
                body = project_body(i)
                created = (
                    (
                        await http.post(
                            "/v1/projects", json=body, headers={"Authorization": f"Bearer {staff}"}
                        )
                    )
                    .raise_for_status()
                    .json()
                )
                path = f"/v1/projects/{created['project_id']}/reports"
                targets.append((path, created["api_token"], report_body(body["regions"], rng)))
        await post_reports(deployed, targets, 50)  # warm both: caches, prepared statements
        await post_reports(bare, targets, 50)
        with_metrics, without = [], []
        for _ in range(runs):
            without.append(await post_reports(bare, targets, reports) * 1000)
            with_metrics.append(await post_reports(deployed, targets, reports) * 1000)
        print(summary("CPU per report without HTTP metrics", without, "ms"))
        print(summary("CPU per report with HTTP metrics   ", with_metrics, "ms"))
        ratios = [w / b for w, b in zip(with_metrics, without, strict=True)]
        print(summary("with / without", ratios, "×"))
        alone = [await middleware_alone(deployed, targets[0][0], 20_000) * 1e6 for _ in range(3)]
        print(summary("HttpMetrics alone, CPU per request", alone, "µs"))
        if profile is not None:
            profiler = cProfile.Profile()
            profiler.enable()
            await post_reports(deployed, targets, reports)
            profiler.disable()
            profiler.dump_stats(profile)
        for app in (deployed, bare):
            await app.state.broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", type=Path, help="cProfile stats of one more run")
    args = parser.parse_args()
    run_benchmark(main(args.reports, args.runs, args.profile))
