"""`cma run --demo` on a machine with nothing else: embedded PostgreSQL and broker, the demo
laureates through the API, the document's AI coverage, and a clean stop on Ctrl-C."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from services.launcher.embedded import free_port
from services.runtime.registry import SERVICES

pytestmark = pytest.mark.integration

STAFF_TOKEN = "e2e-staff-token-0123456789abcdef"
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
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

    def eventually(self, read: Callable[[], Any], ok: Callable[[Any], bool], within: float) -> Any:
        """Polls `read()` until `ok` holds, as long as `cma run` is still running."""
        deadline, value = time.monotonic() + within, None
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                value = read()
                if ok(value):
                    return value
            time.sleep(0.25)
        raise AssertionError(f"still {value!r}\n{self.report()}")

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


def _status(url: str) -> int:
    return httpx.get(url).status_code


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
    for spec in SERVICES:
        ports[spec.name] = next(p for p in iter(free_port, None) if p not in ports.values())
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("CMA_")}
        | {spec.port_variable: str(ports[spec.name]) for spec in SERVICES}
        | {"CMA_STAFF_TOKENS": STAFF_TOKEN}
    )
    script = Path(sys.executable).parent / "cma"  # the console script, as a user runs it
    command = [str(script)] if script.exists() else [sys.executable, "-m", "services.command"]
    output = state_dir.parent / f"{state_dir.name}.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [*command, "run", "--demo", "--state-dir", str(state_dir)],
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


def test_cma_run_demo_shows_the_documents_ai_coverage_and_stops_cleanly(cma_run: CmaRun) -> None:
    for url in cma_run.urls.values():
        cma_run.eventually(functools.partial(_status, f"{url}/healthz"), lambda c: c == 200, 120)
    indicator, milestone = cma_run.urls["indicator"], cma_run.urls["milestone"]

    coverage = cma_run.eventually(
        lambda: httpx.get(f"{indicator}/v1/coverage?sheet=ia", headers=STAFF).json(),
        lambda body: body.get("uncovered") == IA_UNCOVERED,
        60,
    )
    assert abs(coverage["uncovered_population_share"] - 0.34) <= 0.01
    cma_run.eventually(
        lambda: httpx.get(f"{indicator}/v1/progress?sheet=ia", headers=STAFF).json(),
        lambda body: any(target["actual"] > 0 for target in body["targets"]),
        60,
    )
    cma_run.eventually(  # the demo's milestones reach the milestone service
        lambda: httpx.get(f"{milestone}/v1/milestones", headers=STAFF).json(),
        lambda body: len(body.get("milestones", [])) > 0,
        60,
    )
    children = cma_run.descendants()
    assert any("tansu" in child.name() for child in children), cma_run.report()

    cma_run.process.send_signal(signal.SIGINT)
    try:
        code = cma_run.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"cma run still running 30 s after SIGINT\n{cma_run.report()}")
    assert code == 0, cma_run.report()
    assert _described(cma_run.leftovers()) == [], cma_run.report()
