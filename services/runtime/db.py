"""Database engine and the tables every consumer or producer needs in its own schema."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

import asyncpg
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    func,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from services.runtime.settings import Settings


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    statement_timeout_ms: int | None = None,
    idle_in_transaction_timeout_ms: int | None = None,
) -> AsyncEngine:
    """A fixed pool: beyond `pool_size` a request waits for a connection. Overflow connections
    were opened and closed again under load, a PostgreSQL backend forked per request.

    No pre-ping: it costs a round trip per checkout. A connection the server dropped fails
    its statement instead, which the HTTP shell answers 503 + Retry-After and the consumer
    retries; SQLAlchemy then discards the pool's stale connections.

    The timeouts (None: the server's own) are set on each session: a process that stalls
    inside a transaction (frozen, or cut off by a half-open connection) loses its session
    after `idle_in_transaction_timeout_ms`, and its locks with it."""
    server_settings = {
        name: str(value)
        for name, value in (
            ("statement_timeout", statement_timeout_ms),
            ("idle_in_transaction_session_timeout", idle_in_transaction_timeout_ms),
        )
        if value is not None
    }
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        connect_args={"server_settings": server_settings} if server_settings else {},
    )


def service_engine(settings: Settings, service: str) -> AsyncEngine:
    """A service's engine, as its own role where it has one (`CMA_<SERVICE>_DATABASE_URL`):
    its pool size and session timeouts from the settings."""
    return make_engine(
        settings.service_database_url(service),
        pool_size=settings.database_pool_size,
        statement_timeout_ms=settings.database_statement_timeout_ms,
        idle_in_transaction_timeout_ms=settings.database_idle_in_transaction_timeout_ms,
    )


def processed_events_table(metadata: MetaData) -> Table:
    """The inbox: one row per (consumer, event) applied, written in the effect's transaction."""
    return Table(
        "processed_events",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def leases_table(metadata: MetaData) -> Table:
    """Named leases (`services/runtime/leases.py`): who holds each, and until when (the
    database's clock). One row per lease, written only by short committed statements."""
    return Table(
        "leases",
        metadata,
        Column("name", String(100), primary_key=True),
        Column("holder", String(200), nullable=False),
        Column("until", DateTime(timezone=True), nullable=False),
    )


def outbox_table(metadata: MetaData) -> Table:
    """Events to publish, written in the transaction that made them true; the relay sends them.

    `seq` orders the rows; `sent_partition`/`sent_offset` record where the broker put each
    event, for operators tracing one through Kafka."""
    table = Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", String(100), nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
        Column("sent_partition", Integer),
        Column("sent_offset", BigInteger),
    )
    Index("outbox_unsent", table.c.seq, postgresql_where=table.c.sent_at.is_(None))
    return table


@contextlib.asynccontextmanager
async def driver(conn: AsyncConnection, statement: str) -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection under `conn`, in its transaction, for a hot path's statements
    sent without SQLAlchemy's statement building (docs/performance.md, B1, B3, B6). asyncpg's
    errors come out wrapped as SQLAlchemy wraps them (`IntegrityError` for a constraint,
    `DBAPIError` otherwise, invalidated when the connection is lost), so callers and the HTTP
    shell (`consumer.is_transient`: 503 or retry) tell them apart as before."""
    pooled = await conn.get_raw_connection()
    raw, adapter = pooled.driver_connection, pooled.dbapi_connection
    assert isinstance(raw, asyncpg.Connection)  # the only driver the platform uses
    # SQLAlchemy's asyncpg adapter sends BEGIN with its own first statement, not at
    # `engine.begin()`: statements sent here first would each commit on their own.
    if conn.in_transaction() and getattr(adapter, "_transaction", True) is None:
        await adapter._start_transaction()  # type: ignore[union-attr]
    try:
        yield raw
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(statement, None, exc) from exc
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        lost = isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.InterfaceError)
        raise DBAPIError(statement, None, exc, connection_invalidated=lost) from exc


async def copy_rows(
    conn: AsyncConnection, table: Table, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
) -> None:
    """`COPY` of many rows into `table`, in the transaction of `conn`: for thousands of rows it
    costs PostgreSQL about half an `INSERT`'s time and Python no bind parameters
    (docs/performance.md, B3 and B6)."""
    async with driver(conn, f"COPY {table.fullname}") as connection:
        await connection.copy_records_to_table(
            table.name, schema_name=table.schema, columns=list(columns), records=rows
        )
