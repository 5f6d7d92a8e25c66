"""Migrations: one Alembic history per service, each in its own schema with its own version
table. `cma migrate` runs them all; services never migrate at start-up."""

from __future__ import annotations

import asyncio
from importlib import import_module
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

SERVICES = tuple(sorted(p.parent.name for p in Path(__file__).parents[1].glob("*/migrations")))
"""Every service with a `migrations/` folder owns a schema of the same name."""


def alembic_config(service: str, database_url: str) -> Config:
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
        engine = create_async_engine(url)  # type: ignore[arg-type]
        async with engine.begin() as conn:
            await conn.run_sync(run)
        await engine.dispose()

    asyncio.run(main())


def upgrade_all(database_url: str) -> None:
    for service in SERVICES:
        command.upgrade(alembic_config(service, database_url), "head")


async def upgrade_all_async(database_url: str) -> None:
    """From inside an event loop: Alembic's env runs its own loop, so give it a thread."""
    await asyncio.to_thread(upgrade_all, database_url)
