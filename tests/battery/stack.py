"""The platform as separate processes (so they can be SIGKILLed) over an embedded PostgreSQL
the battery can stop, and an embedded broker it can kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.launcher.embedded import EmbeddedKafka, EmbeddedPostgres, free_port
from services.runtime.registry import service as registered
from tests.support.platform import STAFF_TOKEN


@dataclass
class Service:
    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    postgres: EmbeddedPostgres
    database_url: str
    kafka: EmbeddedKafka
    logs: Path
    services: dict[str, Service] = field(default_factory=dict)

    def env(self, service: Service) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("CMA_")} | {
            "CMA_ENVIRONMENT": "test",
            "CMA_DATABASE_URL": self.database_url,
            "CMA_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "CMA_KAFKA_IDEMPOTENCE": "false",
            "CMA_STAFF_TOKENS": STAFF_TOKEN,
            "CMA_CONSUMER_SESSION_TIMEOUT_MS": "3000",  # a killed member is replaced within 3 s
            "CMA_RATE_LIMIT_PER_MINUTE": "100000",  # the driver is not what is under test
            "CMA_RATE_LIMIT_BURST": "10000",
            registered(service.name.split("-")[0]).port_variable: str(service.port),
        }

    def start(self, name: str) -> Service:
        """Starts `name` (`intake`, `indicator`, or `indicator-2` for a second member of the
        same consumer groups) and waits until it answers /healthz."""
        service = self.services.get(name) or Service(name, free_port(), self.logs / f"{name}.log")
        self.services[name] = service
        with service.log.open("ab") as out:
            service.process = subprocess.Popen(
                [sys.executable, "-m", "services.command", "serve", name.split("-")[0]],
                env=self.env(service),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            if service.process.poll() is not None:
                raise RuntimeError(f"{name} exited: {service.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{service.url}/healthz", timeout=1).status_code == 200:
                    return service
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not healthy: {service.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hook runs, no offset or transaction is finished cleanly."""
        process = self.services[name].process
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop(self, name: str) -> None:
        process = self.services[name].process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self) -> None:
        for name in self.services:
            self.stop(name)
