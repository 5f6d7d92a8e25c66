"""The migrations build exactly the tables the models declare."""

from __future__ import annotations

from importlib import import_module

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from services.runtime import registry
from services.runtime.db import make_engine


def differences(conn: Connection, metadata: MetaData) -> list[object]:
    context = MigrationContext.configure(
        conn,
        opts={
            "include_schemas": True,
            "include_name": lambda name, type_, _: (
                name == metadata.schema if type_ == "schema" else name != "alembic_version"
            ),
        },
    )
    return compare_metadata(context, metadata)


async def test_every_service_schema_matches_its_models_after_migrating(database_url: str) -> None:
    engine = make_engine(database_url)
    async with engine.connect() as conn:
        for spec in registry.SERVICES:
            metadata = import_module(f"services.{spec.name}.models").metadata
            assert metadata.schema == spec.schema
            assert await conn.run_sync(differences, metadata) == [], spec.name
    await engine.dispose()
