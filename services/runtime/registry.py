"""The service registry: the one place the platform's services are listed.

The command (serve, migrate, replay), migrations, AsyncAPI generation, settings (ports), the
local launcher, tests, benchmarks and the platform dashboard all read it; adding a service is
one entry here. App factories are named, not imported, so that the library never imports a
service.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, NamedTuple

from contracts import topics
from contracts.topics import Topic

if TYPE_CHECKING:
    from fastapi import FastAPI

    from services.runtime.clock import Clock
    from services.runtime.settings import Settings


class Consumption(NamedTuple):
    """A consumer group `<service>.<handler>` reading `topic`. `prompt`: readers wait for what
    it applies (a report's figures after its 201, docs/performance.md B4), so it asks the
    broker for records every `CMA_CONSUMER_WAIT_MS`; the others every
    `CMA_CONSUMER_QUIET_WAIT_MS`, since an idle consumer's every fetch costs the broker and the
    service CPU (`Settings.fetch_wait_ms`)."""

    handler: str
    topic: Topic
    prompt: bool = False


def consumer_group(service: str, handler: str) -> str:
    """The one naming of consumer groups: the consumers join it, replay rewinds it."""
    return f"{service}.{handler}"


@dataclass(frozen=True)
class ProcessSpec:
    """A process `cma serve <name>` runs: its port and app factory."""

    name: str
    default_port: int
    summary: str
    """The OpenAPI and AsyncAPI description."""

    @property
    def port_variable(self) -> str:
        return f"CMA_{self.name.upper()}_PORT"

    def create_app(self, settings: Settings, clock: Clock | None = None) -> FastAPI:
        """The process's app, from `services.<name>.app.create_app`."""
        factory = import_module(f"services.{self.name}.app").create_app
        app: FastAPI = factory(settings) if clock is None else factory(settings, clock)
        return app


@dataclass(frozen=True, kw_only=True)
class ServiceSpec(ProcessSpec):
    """A back-end service: a public `/v1` API (OpenAPI), a PostgreSQL schema of its own,
    events consumed and produced (AsyncAPI)."""

    delivery: str
    """The delivery promise, as the AsyncAPI document states it."""
    consumes: tuple[Consumption, ...] = ()
    produces: tuple[Topic, ...] = ()
    not_rebuildable: str | None = None
    """Why `cma replay` may not drop this service's schema (its tables are the record)."""

    @property
    def schema(self) -> str:
        """The PostgreSQL schema the service owns (its migrations live in its package)."""
        return self.name


_CONSUMES_LIKE_INDICATOR = (
    "Consumes at least once and applies each event exactly once (inbox of `event_id`s, "
    "offsets committed after the database transaction); a message that keeps failing goes to "
    "the dead-letter topic with the error in its headers."
)

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        name="intake",
        default_port=8001,
        summary="Registers funded projects and takes their indicator reports and milestones.",
        delivery="Publishes through a transactional outbox relay: at least once, keyed by "
        "`project_id`, each event carrying a unique `event_id` consumers deduplicate on.",
        produces=(topics.PROJECTS, topics.REPORTS, topics.MILESTONES, topics.STATUS, topics.ACCESS),
        not_rebuildable="intake consumes nothing: its tables are the record "
        "(restore them from a backup)",
    ),
    ServiceSpec(
        name="indicator",
        default_port=8002,
        summary="Exact totals, progress toward targets and commitments, regional coverage.",
        delivery=_CONSUMES_LIKE_INDICATOR,
        consumes=(
            Consumption("projects", topics.PROJECTS),
            Consumption("reports", topics.REPORTS, prompt=True),
            Consumption("access", topics.ACCESS),
        ),
        produces=(topics.PROGRESS, topics.STATUS, topics.DEAD_LETTERS),
    ),
    ServiceSpec(
        name="milestone",
        default_port=8003,
        summary="Milestone states and overdue reports of every funded project.",
        delivery="Consumes like indicator; each milestone status change and overdue report is "
        "published once through its outbox, with an id derived from the milestone and its "
        "transition number.",
        consumes=(
            Consumption("projects", topics.PROJECTS),
            Consumption("milestones", topics.MILESTONES),
            Consumption("reports", topics.REPORTS),
            Consumption("progress", topics.PROGRESS),
            Consumption("access", topics.ACCESS),
        ),
        produces=(topics.STATUS, topics.DEAD_LETTERS),
    ),
    ServiceSpec(
        name="alerting",
        default_port=8004,
        summary="Subscriptions, alerts and their delivery by signed webhook and e-mail.",
        delivery="Consumes like indicator; alerts and their deliveries are decided in the "
        "consumer's transaction, so a redelivered status event cannot notify twice.",
        consumes=(
            Consumption("projects", topics.PROJECTS),
            Consumption("status", topics.STATUS),
            Consumption("access", topics.ACCESS),
        ),
        produces=(topics.DEAD_LETTERS,),
        not_rebuildable="alerting's subscriptions and delivery log come from its API, "
        "not from topics",
    ),
)
"""In start order: producers before their consumers."""

NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)

PORTAL = ProcessSpec(
    name="portal",
    default_port=8000,
    summary="The web front for the programme office, funded projects and subscribers.",
)
"""Not a service of SERVICES: a client of their public APIs like any other, it owns no
schema (its sessions live in memory), consumes and produces no event and has no `/v1` API,
so migrations, replay, AsyncAPI and the API contract tests do not concern it."""

PROCESSES: tuple[ProcessSpec, ...] = (*SERVICES, PORTAL)
"""What `cma run` starts, in this order (the portal last: it calls the others), and what
`cma serve` accepts; each has its `CMA_<NAME>_PORT`."""


def service(name: str) -> ServiceSpec:
    for spec in SERVICES:
        if spec.name == name:
            return spec
    raise KeyError(f"no service {name!r}; known: {', '.join(NAMES)}")


def process(name: str) -> ProcessSpec:
    for spec in PROCESSES:
        if spec.name == name:
            return spec
    raise KeyError(f"no process {name!r}; known: {', '.join(p.name for p in PROCESSES)}")
