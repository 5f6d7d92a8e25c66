"""Services as processes, started as a deployment starts them: `cma serve <name>`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from subprocess import STDOUT
from typing import Any, Self

import httpx

from tests.support.platform.parts import TEST_SETTINGS, free_port, spec_of
from tests.support.waiting import NeverHappened, eventually


def cma_command() -> list[str]:
    """`cma` as a user runs it: the console script beside this interpreter, else its entry
    point run by this interpreter."""
    script = Path(sys.executable).parent / "cma"
    if script.exists():
        return [str(script)]
    (entry,) = entry_points(group="console_scripts", name="cma")
    run = f"import sys; from {entry.module} import {entry.attr} as cma; sys.exit(cma())"
    return [sys.executable, "-c", run]


def process_environment(**settings: Any) -> dict[str, str]:
    """This environment without its `CMA_*` variables, plus `settings` as `CMA_*` ones."""

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, tuple | list):
            return ",".join(map(str, value))
        return str(value)

    kept = {k: v for k, v in os.environ.items() if not k.startswith("CMA_")}
    return kept | {f"CMA_{key.upper()}": text(value) for key, value in settings.items()}


@dataclass
class _Process:
    port: int
    log: Path
    running: asyncio.subprocess.Process | None = None
    frozen: bool = False

    def tail(self) -> str:
        return self.log.read_text()[-2000:]


class PlatformProcesses:
    """Services as processes over `database_url` and the broker at `bootstrap`, each logging
    to `logs/<name>.log`; `settings` (with the test settings) become `CMA_*` variables.

    A test may also freeze a service (SIGSTOP) and thaw it, and find which service a process
    id (in a lease holder's name, say) belongs to; a frozen service is thawed before it is
    stopped."""

    def __init__(self, database_url: str, bootstrap: str, logs: Path, **settings: Any) -> None:
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.logs = logs
        self.settings = TEST_SETTINGS | settings
        self._processes: dict[str, _Process] = {}

    async def start(self, name: str, within: float = 60) -> None:
        """Starts `name` (again, on the same port, after `kill` or `stop`) and waits until it
        answers /healthz."""
        process = self._processes.setdefault(name, _Process(free_port(), self.logs / f"{name}.log"))
        spec = spec_of(name)
        environment = process_environment(
            database_url=self.database_url, kafka_bootstrap=self.bootstrap, **self.settings
        ) | {spec.port_variable: str(process.port)}
        with process.log.open("ab") as out:
            running = await asyncio.create_subprocess_exec(
                *cma_command(), "serve", spec.name, env=environment, stdout=out, stderr=STDOUT
            )
        process.running, process.frozen = running, False

        async def health(client: httpx.AsyncClient) -> int:
            if running.returncode is not None:
                raise RuntimeError(f"{name} exited: {process.tail()}")
            return (await client.get(f"{self.url(name)}/healthz")).status_code

        async with httpx.AsyncClient(timeout=1) as client:
            try:
                await eventually(
                    lambda: health(client),
                    200,
                    within=within,
                    every=0.1,
                    ignoring=(httpx.HTTPError,),
                    what=f"{name} answers /healthz",
                )
            except NeverHappened as never:
                raise NeverHappened(f"{never}\n{process.tail()}", never.last) from None

    async def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hook runs, no offset or transaction is finished cleanly."""
        running = self._running(name)
        running.kill()
        await running.wait()

    async def stop(self, name: str) -> None:
        """SIGTERM, as an orchestrator stops a replica; SIGKILL after 20 s."""
        running = self._processes[name].running
        if running is not None and running.returncode is None:
            if self._processes[name].frozen:
                self.thaw(name)  # else SIGTERM waits, unhandled, for the SIGKILL
            running.terminate()
            try:
                async with asyncio.timeout(20):
                    await running.wait()
            except TimeoutError:
                await self.kill(name)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for name in self._processes:
            await self.stop(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._processes[name].port}"

    def log(self, name: str) -> Path:
        return self._processes[name].log

    def pid(self, name: str) -> int:
        """The process id of `name`'s current process."""
        return self._running(name).pid

    def name_of(self, pid: int) -> str:
        """The service whose current process is `pid`."""
        named = [n for n, p in self._processes.items() if p.running and p.running.pid == pid]
        if not named:
            raise LookupError(f"no service runs as process {pid}: {sorted(self._processes)}")
        return named[0]

    def send_signal(self, name: str, number: signal.Signals) -> None:
        self._running(name).send_signal(number)

    def freeze(self, name: str) -> None:
        """SIGSTOP: the process keeps its sockets, sessions and leases but runs nothing, as a
        paused VM or a frozen container would, until `thaw`."""
        self.send_signal(name, signal.SIGSTOP)
        self._processes[name].frozen = True

    def thaw(self, name: str) -> None:
        """SIGCONT: the frozen process runs on from where it was."""
        self.send_signal(name, signal.SIGCONT)
        self._processes[name].frozen = False

    def _running(self, name: str) -> asyncio.subprocess.Process:
        running = self._processes[name].running
        if running is None:
            raise LookupError(f"{name} was never started")
        return running
