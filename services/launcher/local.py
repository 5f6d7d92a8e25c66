"""`cma run`: the whole platform on one machine with no Docker. Embedded parts for what the
environment does not name, migrations, one child process per service, a table of what listens
where; Ctrl-C or SIGTERM stops everything in the reverse order of starting.

Services start in the registry's order, then the portal, each as
`python -m services.command serve <name>`
(the launcher runs the command, it never imports it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import httpx
from pydantic import ValidationError
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError

from services.launcher.demo import DemoError, post_demo
from services.launcher.describe import describe_run
from services.launcher.embedded import (
    EmbeddedKafka,
    EmbeddedPostgres,
    LocalExtraMissing,
    load_local_extra,
    port_is_free,
)
from services.runtime import registry
from services.runtime.migrations import upgrade_all
from services.runtime.settings import Settings

KAFKA_PORT = 9092
Process = subprocess.Popen[bytes]


class RunError(Exception):
    """The platform cannot start or keep running; the message says what to change."""


class Signals:
    """SIGINT and SIGTERM raise KeyboardInterrupt, except while a part is `held()` (started, not
    yet registered for stopping): the signal then waits until it is registered."""

    def __init__(self) -> None:
        self.holding = self.pending = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._received)

    def _received(self, signum: int, frame: FrameType | None) -> None:
        if not self.holding:
            raise KeyboardInterrupt
        self.pending = True

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.pending:
            raise KeyboardInterrupt

    def ignore(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)


def _given(variable: str) -> bool:
    return bool(os.environ.get(variable, "").strip())


NAMES = tuple(spec.name for spec in registry.PROCESSES)
"""The services, then the portal."""


def _port_in_use(settings: Settings, name: str) -> RunError:
    port, variable = settings.port(name), registry.process(name).port_variable
    return RunError(f"port {port} ({name}) is already in use: set {variable} to a free port")


def _check_port(settings: Settings, name: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.http_host, settings.port(name)))
        except OSError:
            raise _port_in_use(settings, name) from None


def _embedded_parts(stack: contextlib.ExitStack, signals: Signals, state: Path) -> dict[str, str]:
    """Starts what the environment does not name; returns the CMA_* values it chose."""
    chosen: dict[str, str] = {}
    if not _given("CMA_DATABASE_URL"):
        with signals.held():
            postgres = EmbeddedPostgres(state / "postgres")
            stack.callback(postgres.stop)
        chosen["CMA_DATABASE_URL"] = asyncio.run(postgres.create_database("cma"))
    if not _given("CMA_KAFKA_BOOTSTRAP"):
        port = KAFKA_PORT if port_is_free(KAFKA_PORT) else None
        kafka = EmbeddedKafka(port=port, log_file=state / "tansu.log")
        with signals.held():
            stack.callback(kafka.stop)
            kafka.start()
        chosen |= {"CMA_KAFKA_BOOTSTRAP": kafka.bootstrap, "CMA_KAFKA_IDEMPOTENCE": "false"}
    if not _given("CMA_STAFF_TOKENS"):
        chosen["CMA_STAFF_TOKENS"] = secrets.token_urlsafe(24)
    if not _given("CMA_ALERTING_LINK_SECRET"):  # every alerting process must share it
        chosen["CMA_ALERTING_LINK_SECRET"] = secrets.token_urlsafe(32)
    return chosen


def _stop_all(processes: list[Process], seconds: float = 10.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + seconds
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(settings: Settings, name: str, url: str, process: Process, log: Path) -> None:
    deadline = time.monotonic() + 60
    while (code := process.poll()) is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RunError(f"{name}: no healthy answer at {url}/healthz in 60 s; see {log}")
        time.sleep(0.2)
    if "address already in use" in log.read_text(errors="replace"):
        raise _port_in_use(settings, name)
    raise RunError(f"{name} exited with code {code} while starting; see {log}")


def _migrate(settings: Settings) -> None:
    """Migrations are the first contact with the database: a wrong or unreachable
    CMA_DATABASE_URL is said here in one line, not as a traceback."""
    try:
        upgrade_all(settings.database_url)
    except (OSError, DBAPIError) as exc:
        where = make_url(settings.database_url).render_as_string(hide_password=True)
        reason = exc.orig if isinstance(exc, DBAPIError) else exc
        raise RunError(
            f"cannot use the database {where}: {reason}; check CMA_DATABASE_URL"
        ) from None


def run(state_dir: Path, *, demo: bool) -> int:
    state = state_dir.resolve()
    (state / "logs").mkdir(parents=True, exist_ok=True)
    signals, stack, processes = Signals(), contextlib.ExitStack(), list[Process]()
    try:
        # Before anything starts: the `local` extra, if an embedded part is needed.
        load_local_extra(
            postgres=not _given("CMA_DATABASE_URL"), broker=not _given("CMA_KAFKA_BOOTSTRAP")
        )
        for name in NAMES:
            _check_port(Settings(), name)
        chosen = _embedded_parts(stack, signals, state)
        os.environ.update(chosen)  # the children inherit the resolved CMA_* values
        settings = Settings()
        print("Applying migrations…", flush=True)
        _migrate(settings)
        stack.callback(_stop_all, processes)
        host = "127.0.0.1" if settings.http_host in ("", "0.0.0.0") else settings.http_host
        urls = {name: f"http://{host}:{settings.port(name)}" for name in NAMES}
        logs = {name: state / "logs" / f"{name}.log" for name in NAMES}
        for name in NAMES:
            command = [sys.executable, "-m", "services.command", "serve", name]
            with signals.held(), logs[name].open("ab") as out:
                processes.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT))
        for name, process in zip(NAMES, processes, strict=True):
            _wait_healthy(settings, name, urls[name], process, logs[name])
        print(describe_run(settings, urls, chosen, state), flush=True)
        if demo:
            staff = settings.staff_tokens[0].get_secret_value()
            try:
                summary = post_demo(
                    urls["intake"], urls["indicator"], staff, state, alerting_url=urls["alerting"]
                )
                print(summary, flush=True)
            except (DemoError, httpx.HTTPError) as exc:  # the platform itself is up: keep it
                print(f"Demo data: failed: {exc}", file=sys.stderr, flush=True)
        print("\nCtrl-C stops everything.", flush=True)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        gone = [name for name, p in zip(NAMES, processes, strict=True) if p.poll() is not None]
        raise RunError(f"{', '.join(gone)} stopped unexpectedly; see the logs in {state / 'logs'}")
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    except (RunError, LocalExtraMissing, ValidationError) as exc:
        print(f"cma run: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signals.ignore()
        stack.close()
