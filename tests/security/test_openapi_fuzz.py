"""Schemathesis over each service's OpenAPI, over the real port: positive and negative data,
every built-in check, with a staff token and with a project token. Zero failures.

It runs as the `schemathesis` command (the same a developer runs by hand, see
docs/security.md) against the battery's platform, bounded per operation so the whole run
stays near a minute. The configuration it gets is `SCHEMATHESIS_TOML` below."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from services.runtime.registry import NAMES as SERVICES
from tests.security.conftest import SharedPlatform
from tests.support.platform import STAFF

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 30
SCHEMATHESIS_TOML = """
# Operations whose rules reach beyond what JSON Schema can say (a project's own regions, a
# period that has begun and overlaps the project, alternance <= trained, one cell per
# coordinates, a rescheduled milestone needs a reason, end after start, a webhook host that
# resolves publicly): schema-valid data may still be 422. 429 is the rate limit's answer.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

# Amending and closing change a project for good: ids captured from other answers (the
# battery's shared projects A and B) are kept out of them, or the fuzzer closes the projects
# the other security tests report to. Generated ids and bodies still reach every check.
[[operations]]
include-path-regex = "^/v1/projects/[^/]+(/close)?$"
include-method-regex = "^(PATCH|POST)$"
[operations.phases.examples.extra-data-sources]
responses = false
[operations.phases.fuzzing.extra-data-sources]
responses = false
"""
PROJECT_TOML = """
# A project's token, on its own project's paths.
[parameters]
"path.project_id" = "{project_id}"
"""
STAFF_ONLY = (
    "/v1/projects",
    "/v1/projects/{project_id}/milestones",
    "/v1/projects/{project_id}/silenced-checks/{rule}",
    "/v1/progress",
    "/v1/coverage",
    "/v1/staff-tokens",
    "/v1/staff-tokens/{token_id}",
)
REPLACES_THE_TOKEN = ("/v1/projects/{project_id}/token",)
"""Left out of the project token's run: its first success would end the run's token (the staff
run covers the operation)."""


def schemathesis_command() -> list[str]:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "schemathesis.cli"]


async def run_schemathesis(
    url: str, token: str, tmp: Path, project_id: str | None = None
) -> tuple[int, str]:
    """Staff: every operation, every phase. A project: the operations it may call, on its own
    project; the schema-shape (coverage) phase already ran for them with the staff token."""
    config = tmp / "schemathesis.toml"
    project = PROJECT_TOML.format(project_id=project_id) if project_id else ""
    config.write_text(SCHEMATHESIS_TOML + project)
    scope = ["--phases", "examples,coverage,fuzzing"]
    if project_id is not None:
        scope = ["--phases", "examples,fuzzing"]
        for path in STAFF_ONLY + REPLACES_THE_TOKEN:
            scope += ["--exclude-path", path]
    process = await asyncio.create_subprocess_exec(
        *schemathesis_command(),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{url}/openapi.json",
        *scope,
        "--checks",
        "all",
        "--mode",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "7",
        "--workers",
        "1",
        "--header",
        f"Authorization: Bearer {token}",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "20",
        "--generation-database",
        "none",
        "--report-dir",
        str(tmp / "report"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp,
    )
    output, _ = await process.communicate()
    (tmp / "output.txt").write_bytes(output)  # kept by pytest for a look after a run
    return process.returncode or 0, output.decode(errors="replace")


CALLERS = ("staff", "project")


@pytest.fixture(scope="module")
async def runs(
    platform: SharedPlatform, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[int, str]]:
    """Every (service, caller) run at once, one process each: Schemathesis' own worker
    threads trip a CPython 3.11 `ast` bug in Hypothesis, processes do not."""
    staff, project = STAFF["Authorization"].split()[1], platform.a.token
    jobs = {
        f"{service}-{caller}": run_schemathesis(
            platform.url(service),
            staff if caller == "staff" else project,
            tmp_path_factory.mktemp(f"schemathesis-{service}-{caller}"),
            None if caller == "staff" else platform.a.project_id,
        )
        for service in SERVICES
        for caller in CALLERS
    }
    results = await asyncio.gather(*jobs.values())
    return dict(zip(jobs, results, strict=True))


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("caller", CALLERS)
async def test_schemathesis_finds_no_failure(
    runs: dict[str, tuple[int, str]], service: str, caller: str
) -> None:
    code, output = runs[f"{service}-{caller}"]
    assert code == 0, output[-20000:]
