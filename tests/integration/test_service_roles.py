"""One database role per service (services/runtime/roles.py), on a real PostgreSQL: after
`cma migrate`'s confinement a service's role reads and writes its own schema's rows, and is
refused another service's tables, DDL, and a schema of its own."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from services.runtime.registry import SERVICES
from services.runtime.roles import confine_service_roles
from tests.support.clock import FakeClock
from tests.support.data import cell, report_body
from tests.support.database import database_for_tests, fetch, plain_url
from tests.support.platform import (
    EmbeddedKafka,
    cma_command,
    running_platform,
    settings_for_tests,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password="role-password").render_as_string(False)


@pytest.fixture
async def confined() -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A migrated database and, for every service, its own role confined to its schema."""
    suffix = uuid.uuid4().hex[:6]
    async with database_for_tests() as owner_url:
        urls = {spec.name: as_role(owner_url, f"cma_t{suffix}_{spec.name}") for spec in SERVICES}
        await confine_service_roles(owner_url, urls)
        try:
            yield owner_url, urls
        finally:
            for url in urls.values():  # roles are the cluster's: remove them and their grants
                role = make_url(url).username
                await fetch(owner_url, f'DROP OWNED BY "{role}"')
                await fetch(owner_url, f'DROP ROLE "{role}"')


async def run_as(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def test_a_service_role_cannot_read_another_services_table(
    confined: tuple[str, dict[str, str]],
) -> None:
    _, urls = confined
    mine, other = SERVICES[0], SERVICES[1]
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await run_as(urls[mine.name], f'SELECT * FROM "{other.schema}".alembic_version')
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await run_as(urls[other.name], f'SELECT * FROM "{mine.schema}".outbox')


async def test_a_service_role_reads_and_writes_its_own_rows(
    confined: tuple[str, dict[str, str]],
) -> None:
    _, urls = confined
    for spec in SERVICES:
        [version] = await run_as(urls[spec.name], f'SELECT * FROM "{spec.schema}".alembic_version')
        assert version["version_num"]
    spec = SERVICES[0]  # its outbox relay holds a lease
    await run_as(
        urls[spec.name],
        f"INSERT INTO \"{spec.schema}\".leases (name, holder, until) VALUES ('t', 'h', now())",
    )
    rows = await run_as(urls[spec.name], f'DELETE FROM "{spec.schema}".leases RETURNING name')
    assert [r["name"] for r in rows] == ["t"]


async def test_a_service_role_cannot_change_the_schema_or_make_one(
    confined: tuple[str, dict[str, str]],
) -> None:
    _, urls = confined
    spec = SERVICES[0]
    for ddl in (
        f'CREATE TABLE "{spec.schema}".intruder (x int)',
        f'DROP TABLE "{spec.schema}".leases',
        "CREATE SCHEMA intruder",
        "CREATE TABLE public.intruder (x int)",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await run_as(urls[spec.name], ddl)


async def test_a_table_a_later_migration_adds_is_granted_to_its_service_only(
    confined: tuple[str, dict[str, str]],
) -> None:
    owner_url, urls = confined
    mine, other = SERVICES[0], SERVICES[1]
    await fetch(owner_url, f'CREATE TABLE "{mine.schema}".added_later (x int)')
    await run_as(urls[mine.name], f'INSERT INTO "{mine.schema}".added_later VALUES (1)')
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await run_as(urls[other.name], f'SELECT * FROM "{mine.schema}".added_later')


async def test_confining_again_changes_nothing_and_the_owner_is_refused_as_a_service_role(
    confined: tuple[str, dict[str, str]],
) -> None:
    owner_url, urls = confined
    assert await confine_service_roles(owner_url, urls) == [
        make_url(u).username for u in urls.values()
    ]
    with pytest.raises(ValueError, match="role of its own"):
        await confine_service_roles(owner_url, {SERVICES[0].name: owner_url})


async def test_every_service_runs_on_its_own_role_alone(
    confined: tuple[str, dict[str, str]], kafka: EmbeddedKafka, clock: FakeClock
) -> None:
    """The owner's URL points nowhere: registration, a report, its totals in indicator and
    milestone's tick all go through the services' own roles."""
    _, urls = confined
    nowhere = "postgresql+asyncpg://nobody@127.0.0.1:1/nothing"
    settings = settings_for_tests(nowhere, kafka.bootstrap, database_urls=urls)
    async with running_platform(settings, clock) as platform:
        project = await platform.register()
        answer = await platform.intake.post(
            f"/v1/projects/{project.project_id}/reports",
            headers=project.headers,
            json=report_body("2025-S1", cell(count=40)),
        )
        assert answer.status_code == 201, answer.text

        async def trained() -> int | None:
            r = await platform.indicator.get(
                f"/v1/projects/{project.project_id}/progress", headers=platform.staff
            )
            return r.json()["totals"]["trained"] if r.status_code == 200 else None

        assert await eventually(trained, lambda n: n == 40) == 40
        await platform.ticker.tick()


async def test_cma_migrate_confines_the_roles_its_environment_names() -> None:
    """`cma migrate` as compose and the Kubernetes Job run it: the owner's URL and one URL per
    service; the roles it creates then reach their own schema and no other."""
    suffix = uuid.uuid4().hex[:6]
    async with database_for_tests() as owner_url:
        urls = {spec.name: as_role(owner_url, f"cma_m{suffix}_{spec.name}") for spec in SERVICES}
        environment = os.environ | {"CMA_DATABASE_URL": owner_url}
        environment |= {f"CMA_{name.upper()}_DATABASE_URL": url for name, url in urls.items()}
        try:
            done = await asyncio.to_thread(
                subprocess.run,
                [*cma_command(), "migrate", "--wait", "5"],
                env=environment,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert "roles confined to their service's schema" in done.stdout
            mine, other = SERVICES[0], SERVICES[1]
            await run_as(urls[mine.name], f'SELECT * FROM "{mine.schema}".alembic_version')
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await run_as(urls[mine.name], f'SELECT * FROM "{other.schema}".alembic_version')
        finally:
            for url in urls.values():
                role = make_url(url).username
                await fetch(owner_url, f'DROP OWNED BY "{role}"')
                await fetch(owner_url, f'DROP ROLE IF EXISTS "{role}"')
