"""`cma run --demo` on a machine with nothing else: embedded PostgreSQL and broker, the demo
laureates through the API, the document's AI coverage, and a clean stop on Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from services.runtime import registry
from tests.support.platform import (
    STAFF,
    STAFF_TOKEN,
    cma_command,
    free_port,
    process_environment,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

IA_UNCOVERED = ["01", "02", "03", "04", "06", "24", "27", "32", "44", "52", "94"]


@dataclass
class CmaRun:
    process: subprocess.Popen[bytes]
    state_dir: Path
    output: Path
    urls: dict[str, str]  # by service
    seen: list[psutil.Process] = field(default_factory=list)

    def report(self) -> str:
        return f"cma run exit code {self.process.poll()}; its output:\n{self.output.read_text()}"

    async def shows(self, url: str, ok: Callable[[Any], bool], within: float) -> Any:
        """Polls GET `url` (as staff) until `ok` holds of its JSON answer, as long as `cma run`
        is still running; its output is in the failure."""

        async def read() -> Any:
            assert self.process.poll() is None, "cma run stopped"
            async with httpx.AsyncClient(headers=STAFF, timeout=10) as client:
                r = await client.get(url)
                return r.json() if r.status_code == 200 else r.status_code

        try:
            return await eventually(
                read, ok, within=within, every=0.25, ignoring=(httpx.HTTPError,), what=url
            )
        except AssertionError as failed:
            raise AssertionError(f"{failed}\n{self.report()}") from None

    def descendants(self) -> list[psutil.Process]:
        found: list[psutil.Process] = psutil.Process(self.process.pid).children(recursive=True)
        self.seen += found
        return found

    def leftovers(self) -> list[psutil.Process]:
        """Its children still alive, and anything running from its state dir (the embedded
        PostgreSQL is no child: pg_ctl detaches it)."""
        _, alive = psutil.wait_procs(self.seen, timeout=5)
        found = {p.pid: p for p in alive}
        for process in psutil.process_iter(["cmdline"]):
            if str(self.state_dir) in " ".join(process.info["cmdline"] or ()):
                found[process.pid] = process
        return [p for p in found.values() if _alive(p)]


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _described(processes: list[psutil.Process]) -> list[str]:
    described = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            described.append(f"{process.pid}: {' '.join(process.cmdline())}")
    return described


@pytest.fixture
def cma_run() -> Iterator[CmaRun]:
    # Not pytest's tmp_path (0700): the embedded PostgreSQL runs as an unprivileged user.
    state_dir = Path(tempfile.mkdtemp(prefix="cma-e2e-run-")).resolve()
    ports: dict[str, int] = {}
    for spec in registry.PROCESSES:
        ports[spec.name] = next(p for p in iter(free_port, None) if p not in ports.values())
    env = process_environment(staff_tokens=(STAFF_TOKEN,)) | {
        spec.port_variable: str(ports[spec.name]) for spec in registry.PROCESSES
    }
    output = state_dir.parent / f"{state_dir.name}.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [*cma_command(), "run", "--demo", "--state-dir", str(state_dir)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    run = CmaRun(process, state_dir, output, urls)
    yield run
    if process.poll() is None:  # the test failed before stopping it
        run.descendants()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for leftover in run.leftovers():
        with contextlib.suppress(psutil.NoSuchProcess):
            leftover.kill()
    shutil.rmtree(state_dir, ignore_errors=True)
    output.unlink(missing_ok=True)


async def test_cma_run_demo_shows_the_documents_ai_coverage_and_stops_cleanly(
    cma_run: CmaRun,
) -> None:
    for url in cma_run.urls.values():
        await cma_run.shows(
            f"{url}/healthz", lambda body: isinstance(body, dict) and body["status"] == "ok", 120
        )
    indicator, milestone = cma_run.urls["indicator"], cma_run.urls["milestone"]

    coverage = await cma_run.shows(
        f"{indicator}/v1/coverage?sheet=ia",
        lambda body: isinstance(body, dict) and body.get("uncovered") == IA_UNCOVERED,
        60,
    )
    assert abs(coverage["uncovered_population_share"] - 0.34) <= 0.01
    await cma_run.shows(
        f"{indicator}/v1/progress?sheet=ia",
        lambda body: isinstance(body, dict) and any(t["actual"] > 0 for t in body["targets"]),
        60,
    )
    await cma_run.shows(  # the demo's milestones reach the milestone service
        f"{milestone}/v1/milestones",
        lambda body: isinstance(body, dict) and len(body.get("milestones", [])) > 0,
        60,
    )
    children = cma_run.descendants()
    assert any("tansu" in child.name() for child in children), cma_run.report()
    # The portal's address is what `cma run` prints first.
    printed = cma_run.output.read_text().split("CMA platform running:\n", 1)[1]
    first = printed.splitlines()[0].split()
    assert first[:2] == ["portal", cma_run.urls[registry.PORTAL.name]], cma_run.report()

    cma_run.process.send_signal(signal.SIGINT)
    try:
        code = await asyncio.to_thread(cma_run.process.wait, 30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"cma run still running 30 s after SIGINT\n{cma_run.report()}")
    assert code == 0, cma_run.report()
    assert _described(cma_run.leftovers()) == [], cma_run.report()
