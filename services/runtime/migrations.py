"""How a service's schema is migrated: one Alembic history per registered service, in its own
PostgreSQL schema with its own version table. `cma migrate` and `cma run` upgrade them all;
`cma replay` one; services never migrate at start-up."""

from __future__ import annotations

import asyncio
from importlib import import_module
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from services.runtime.registry import SERVICES


def alembic_config(service: str, database_url: str) -> Config:
    """The Alembic configuration of `services/<service>/migrations/`."""
    package = import_module(f"services.{service}")
    config = Config()
    config.set_main_option("script_location", str(Path(package.__path__[0]) / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url)
    config.attributes["service"] = service
    return config


def run_env(metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py` (online mode, async engine)."""
    schema = metadata.schema
    url = context.config.get_main_option("sqlalchemy.url")

    def run(conn: Connection) -> None:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=conn,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, _: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        if url is None:
            raise ValueError("alembic_config() sets sqlalchemy.url; this config has none")
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(run)
        await engine.dispose()

    asyncio.run(main())


def upgrade(database_url: str, service: str) -> None:
    """One service's schema to its latest revision."""
    command.upgrade(alembic_config(service, database_url), "head")


def upgrade_all(database_url: str) -> None:
    """Every registered service's schema to its latest revision."""
    for spec in SERVICES:
        upgrade(database_url, spec.name)


async def upgrade_async(database_url: str, service: str) -> None:
    """From inside an event loop: Alembic's env runs its own loop, so give it a thread."""
    await asyncio.to_thread(upgrade, database_url, service)


async def upgrade_all_async(database_url: str) -> None:
    """From inside an event loop: Alembic's env runs its own loop, so give it a thread."""
    await asyncio.to_thread(upgrade_all, database_url)
