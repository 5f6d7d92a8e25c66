"""Alerting's HTTP routes: subscriptions and the delivery log. Staff manage any subscription;
a project's token subscribes only to its own project and sees only what it created."""

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from services.alerting.domain import DeliveryStatus
from services.alerting.queries import AlertingQueries
from services.alerting.schemas import (
    DeliveryOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
)
from services.alerting.usecases import AlertingUseCases
from services.runtime.auth import Caller
from services.runtime.errors import Forbidden, NotFound
from services.runtime.http import FORBIDDEN, NOT_FOUND, PROBLEMS

SUBSCRIBE_DOC = """Subscribe a webhook or an e-mail address to alerts matching `filters`.

A project's token must set `filters.projects` to exactly `[its project id]` (403 otherwise).
Webhook URLs resolving to private, loopback or link-local addresses are refused (422). The
webhook `secret` is returned once, here; alerts already firing that match are sent at once.
"""


def alerting_router(
    usecases: AlertingUseCases,
    queries: AlertingQueries,
    authenticate: Callable[[Request], Awaitable[Caller]],
) -> APIRouter:
    router = APIRouter(prefix="/v1", responses=PROBLEMS)
    CallerDep = Annotated[Caller, Depends(authenticate)]

    @router.post(
        "/subscriptions",
        status_code=201,
        response_model=SubscriptionCreated,
        tags=["subscriptions"],
        description=SUBSCRIBE_DOC,
        responses=FORBIDDEN,
    )
    async def subscribe(body: SubscriptionIn, caller: CallerDep) -> SubscriptionCreated:
        if not caller.staff and body.filters.projects != [caller.project_id]:
            raise Forbidden(
                f"a project token subscribes only to its own project: "
                f'set filters.projects to ["{caller.project_id}"]',
            )
        owner = None if caller.staff else caller.project_id
        sub = await usecases.subscribe(body, owner, caller.label)
        return SubscriptionCreated.of(sub)

    @router.get("/subscriptions", tags=["subscriptions"])
    async def list_subscriptions(caller: CallerDep) -> list[SubscriptionOut]:
        """Staff: every subscription; a project: those it created."""
        owner = None if caller.staff else caller.project_id
        return [SubscriptionOut.of(s) for s in await queries.subscriptions(owner)]

    @router.get("/deliveries", tags=["deliveries"], responses=FORBIDDEN | NOT_FOUND)
    async def deliveries(
        caller: CallerDep,
        subscription_id: UUID | None = None,
        status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DeliveryOut]:
        """The delivery log, newest first: each notification with its status (`pending`,
        `delivered`, `dead`), attempts and last error. Without `subscription_id`: staff see
        all, a project those of its own subscriptions."""
        if subscription_id is not None:
            sub = await queries.subscription(subscription_id)
            if sub is None:
                raise NotFound("no such subscription")
            if not caller.staff and sub.owner_project_id != caller.project_id:
                raise Forbidden("not your subscription")
            ids: list[UUID] | None = [subscription_id]
        elif caller.staff:
            ids = None
        else:
            ids = [s.subscription_id for s in await queries.subscriptions(caller.project_id)]
        return [DeliveryOut.of(r) for r in await queries.deliveries(ids, status_, limit)]

    return router
