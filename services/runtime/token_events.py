"""Token events in every service: its own copy of the token hashes, and every process told
at once of a token replaced or revoked.

Two readers, because a consumer group hands each event to one replica only:
- the service's consumer groups (`<service>.projects`, `<service>.access`) apply
  `project.token_rotated` and `staff_token.*` to the service's tables, once, with its other
  events (`with_token_copies`); the tables are what survives a restart and what a replay
  rebuilds;
- every process also runs a groupless reader of the projects and access topics
  (`listen_for_revocations`) that hands each replaced or revoked hash to the process's
  `TokenDirectory`: evicted from its cache and refused from then on. Without a group it
  commits nothing and reads every partition from the start of what the broker keeps, so a
  process that starts later still hears of earlier revocations.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from pydantic import ValidationError
from sqlalchemy import Boolean, Column, DateTime, MetaData, String, Table, Uuid, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import (
    Envelope,
    Event,
    ProjectEvent,
    ProjectTokenRotated,
    StaffTokenIssued,
    StaffTokenRevoked,
    parse_event,
)
from contracts.topics import ACCESS, PROJECTS
from services.runtime.auth import TokenDirectory
from services.runtime.consumer import Apply
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

ApplyProjectEvents = Callable[[AsyncConnection, list[ProjectEvent]], Awaitable[None]]
"""A service's own handler: the events about projects (token events included, to ignore)."""

REVOCATION_TOPICS = (PROJECTS, ACCESS)
"""Where replaced and revoked tokens are published: every process reads them."""
# Revocations are rare: a message that names neither type is not decoded.
_REVOKING_TYPES = (b'"project.token_rotated"', b'"staff_token.revoked"')


def staff_tokens_table(metadata: MetaData) -> Table:
    """Named staff tokens, the same columns in every service: intake's is the record, the
    others are copies from `staff_token.*` events."""
    return Table(
        "staff_tokens",
        metadata,
        Column("token_id", Uuid, primary_key=True),
        Column("token_sha256", String(64), nullable=False, unique=True),
        Column("name", String(100), nullable=False),
        Column("email", String(254), nullable=False),
        Column("admin", Boolean, nullable=False),
        Column("issued_at", DateTime(timezone=True), nullable=False),
        Column("issued_by", String(400), nullable=False),
        Column("revoked_at", DateTime(timezone=True)),
        Column("revoked_by", String(400)),
    )


async def apply_token_events(
    conn: AsyncConnection, projects: Table, staff_tokens: Table, events: Sequence[Event]
) -> None:
    """Keep the service's copy of token hashes, in the consumer's transaction."""
    p, s = projects.c, staff_tokens.c
    for event in events:
        if isinstance(event, ProjectTokenRotated):
            # Only from the hash it replaces: a stale rotation changes nothing.
            await conn.execute(
                update(projects)
                .where(
                    p.project_id == event.project_id,
                    p.token_sha256 == event.payload.revoked_token_sha256,
                )
                .values(token_sha256=event.payload.api_token_sha256)
            )
        elif isinstance(event, StaffTokenIssued):
            issued = event.payload
            await conn.execute(
                insert(staff_tokens)
                .values(
                    token_id=event.token_id,
                    token_sha256=issued.token_sha256,
                    name=issued.person.name,
                    email=issued.person.email,
                    admin=issued.admin,
                    issued_at=event.occurred_at,
                    issued_by=issued.issued_by,
                )
                .on_conflict_do_nothing()
            )
        elif isinstance(event, StaffTokenRevoked):
            await conn.execute(
                update(staff_tokens)
                .where(s.token_id == event.token_id, s.revoked_at.is_(None))
                .values(revoked_at=event.occurred_at, revoked_by=event.payload.revoked_by)
            )


def with_token_copies(projects: Table, staff_tokens: Table, apply: ApplyProjectEvents) -> Apply:
    """What a consuming service runs on each batch: its own handler with the events about
    projects, then its token copies. In that order: a batch replayed from the start holds a
    project's registration (which the handler stores) and its later token replacements."""

    async def apply_all(conn: AsyncConnection, events: list[Event]) -> None:
        await apply(conn, [e for e in events if isinstance(e, Envelope)])
        await apply_token_events(conn, projects, staff_tokens, events)

    return apply_all


def revoked_digests(values: Iterable[bytes]) -> list[str]:
    """The token hashes the messages replace or revoke."""
    digests: list[str] = []
    for value in values:
        if not any(t in value for t in _REVOKING_TYPES):
            continue
        try:
            event = parse_event(value)
        except ValidationError:
            continue  # the service's own consumers dead-letter it
        if isinstance(event, ProjectTokenRotated):
            digests.append(event.payload.revoked_token_sha256)
        elif isinstance(event, StaffTokenRevoked):
            digests.append(event.payload.token_sha256)
    return digests


def listen_for_revocations(
    broker: KafkaBroker, directory: TokenDirectory, settings: Settings, service: str
) -> None:
    """Every process of `service` reads the projects and access topics without a group (each
    sees every message) and revokes in `directory` what they replace or revoke."""

    for topic in REVOCATION_TOPICS:

        @broker.subscriber(
            topic.name,
            group_id=None,  # every process, not one per group; nothing committed
            batch=True,
            max_records=settings.consumer_batch_records,
            fetch_max_wait_ms=settings.fetch_wait_ms(prompt=False),  # revoked within 5 s
            batch_timeout_ms=settings.fetch_wait_ms(prompt=False),
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,  # never acknowledged: there is no group to commit to
            decoder=_no_decoding,
            title=f"{service}.revocations.{topic.name}",
        )
        async def revoke(_: Any, message: KafkaMessage) -> None:
            digests = revoked_digests(r.value for r in _records(message.raw_message))
            if digests:
                directory.revoke(digests)
                log.info("%s: %d token(s) revoked in this process", service, len(digests))


def _records(raw: Any) -> list[ConsumerRecord]:
    if isinstance(raw, ConsumerRecord):
        return [raw]
    return [r for item in raw for r in (item if isinstance(item, list) else [item])]


async def _no_decoding(message: KafkaMessage) -> Any:
    return None
