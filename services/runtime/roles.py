"""One PostgreSQL role per service, confined to the service's schema.

The owner role (`CMA_DATABASE_URL`) creates the schemas and runs the migrations (`cma migrate`,
`cma replay`). A service given its own URL (`CMA_<SERVICE>_DATABASE_URL`) connects as that
URL's role, which `cma migrate` lets read and write the rows of its schema's tables and
nothing else: no CREATE on the database or any schema, no USAGE on another service's schema.
An SQL injection or a stolen password in one service then reaches one schema, not four."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from services.runtime.registry import service


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def grants(schema: str, role: str) -> tuple[str, ...]:
    """What `role` may do: use `schema`, read and write its tables' rows, draw its sequences,
    now and for the tables later migrations add (default privileges of the owner)."""
    s, r = _quoted(schema), _quoted(role)
    rows = "SELECT, INSERT, UPDATE, DELETE"
    return (
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"GRANT {rows} ON ALL TABLES IN SCHEMA {s} TO {r}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT {rows} ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {r}",
    )


async def _ensure_role(conn: AsyncConnection, role: str, password: str | None) -> bool:
    """Creates `role` (LOGIN, nothing else) unless it exists; True if it was created. Where
    roles are managed elsewhere (CloudNativePG's `managed.roles`, a DBA) it exists already
    and the owner needs no CREATEROLE."""
    exists = await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if exists:
        return False
    login = f" PASSWORD {_literal(password)}" if password else ""
    await conn.execute(
        text(f"CREATE ROLE {_quoted(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE{login}")
    )
    return True


async def confine_service_roles(owner_url: str, service_urls: Mapping[str, str]) -> list[str]:
    """For each service with its own URL: its role exists and holds the grants on its schema
    (run after the migrations, as the owner). Returns the roles, for the log."""
    owner = make_url(owner_url).username
    engine = create_async_engine(owner_url, pool_size=1)
    done: list[str] = []
    try:
        async with engine.begin() as conn:
            for name, url in service_urls.items():
                parsed = make_url(url)
                role = parsed.username
                if not role or role == owner:
                    raise ValueError(
                        f"CMA_{name.upper()}_DATABASE_URL must name a role of its own, "
                        "not the owner's (CMA_DATABASE_URL)"
                    )
                await _ensure_role(conn, role, parsed.password)
                for statement in grants(service(name).schema, role):
                    await conn.execute(text(statement))
                done.append(role)
    finally:
        await engine.dispose()
    return done
