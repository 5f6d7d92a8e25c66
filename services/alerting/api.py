"""Alerting's HTTP routes: subscriptions, alerts and the delivery log. Staff manage any
subscription; a project's token subscribes only to its own project and sees only what it
created. The one-click unsubscribe links of e-mails need no token: their signature is the
authority (`unsubscribe_router`)."""

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from contracts.projects import SheetId
from contracts.reports import RegionCode
from services.alerting.domain import (
    RECENTLY_RESOLVED,
    AlertKind,
    AlertState,
    DeliveryStatus,
    Severity,
)
from services.alerting.queries import AlertCursor, AlertFilters, AlertingQueries, Subscription
from services.alerting.render import unsubscribe_page
from services.alerting.schemas import (
    AlertPage,
    AlertView,
    DeliveryOut,
    SecretOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
    SubscriptionUpdated,
    decode_cursor,
    encode_cursor,
)
from services.alerting.signing import UnsubscribeLinks
from services.alerting.usecases import AlertingUseCases
from services.runtime.auth import Caller
from services.runtime.clock import Clock
from services.runtime.errors import Forbidden, NotFound
from services.runtime.http import CONFLICT, FORBIDDEN, NOT_FOUND, PROBLEMS

SUBSCRIBE_DOC = """Subscribe a webhook or an e-mail address to alerts matching `filters`.

A project's token must set `filters.projects` to exactly `[its project id]` (403 otherwise).
Webhook URLs resolving to private, loopback or link-local addresses are refused (422). The
webhook `secret` is returned once, here; alerts already firing that match are sent at once.
"""
TestSender = Callable[[Subscription], Awaitable[UUID]]
"""Sends a test notification to the subscription at once; returns its delivery id."""


def alerting_router(
    usecases: AlertingUseCases,
    queries: AlertingQueries,
    authenticate: Callable[[Request], Awaitable[Caller]],
    send_test: TestSender,
    clock: Clock,
) -> APIRouter:
    router = APIRouter(prefix="/v1", responses=PROBLEMS)
    CallerDep = Annotated[Caller, Depends(authenticate)]
    OWNED = FORBIDDEN | NOT_FOUND

    def own_projects_only(caller: Caller, projects: list[UUID]) -> None:
        if not caller.staff and projects != [caller.project_id]:
            raise Forbidden(
                f"a project token subscribes only to its own project: "
                f'set filters.projects to ["{caller.project_id}"]',
            )

    async def owned(
        subscription_id: UUID, caller: Caller, *, deleted: bool = False
    ) -> Subscription:
        """The subscription, if the caller is staff or the project that created it."""
        sub = await queries.subscription(subscription_id, deleted=deleted)
        if sub is None:
            raise NotFound("no such subscription")
        if not caller.staff and sub.owner_project_id != caller.project_id:
            raise Forbidden("not your subscription")
        return sub

    @router.post(
        "/subscriptions",
        status_code=201,
        response_model=SubscriptionCreated,
        tags=["subscriptions"],
        description=SUBSCRIBE_DOC,
        responses=FORBIDDEN,
    )
    async def subscribe(body: SubscriptionIn, caller: CallerDep) -> SubscriptionCreated:
        own_projects_only(caller, body.filters.projects)
        owner = None if caller.staff else caller.project_id
        sub = await usecases.subscribe(body, owner, caller.label)
        return SubscriptionCreated.of(sub)

    @router.get("/subscriptions", tags=["subscriptions"])
    async def list_subscriptions(caller: CallerDep) -> list[SubscriptionOut]:
        """Staff: every subscription; a project: those it created. Deleted ones are not listed."""
        owner = None if caller.staff else caller.project_id
        return [SubscriptionOut.of(s) for s in await queries.subscriptions(owner)]

    @router.get("/subscriptions/{subscription_id}", tags=["subscriptions"], responses=OWNED)
    async def get_subscription(subscription_id: UUID, caller: CallerDep) -> SubscriptionOut:
        """One subscription (staff, or the project that created it); never its secret."""
        return SubscriptionOut.of(await owned(subscription_id, caller))

    @router.patch("/subscriptions/{subscription_id}", tags=["subscriptions"], responses=OWNED)
    async def update_subscription(
        subscription_id: UUID, body: SubscriptionPatch, caller: CallerDep
    ) -> SubscriptionUpdated:
        """Change its name, channel, filters, repeat interval, or pause (`"paused": true`) and
        resume it. A project's token keeps `filters.projects` to `[its project id]`."""
        await owned(subscription_id, caller)
        if body.filters is not None:
            own_projects_only(caller, body.filters.projects)
        sub, secret = await usecases.update(subscription_id, body)
        return SubscriptionUpdated.of_new(sub, secret)

    @router.delete(
        "/subscriptions/{subscription_id}",
        status_code=204,
        response_class=Response,
        tags=["subscriptions"],
        responses=OWNED,
    )
    async def delete_subscription(subscription_id: UUID, caller: CallerDep) -> Response:
        """Nothing more is sent to it (its pending notifications are cancelled); its delivery
        log stays, in `GET /v1/deliveries`."""
        await owned(subscription_id, caller)
        await usecases.delete(subscription_id)
        return Response(status_code=204)

    @router.post("/subscriptions/{subscription_id}/test", tags=["subscriptions"], responses=OWNED)
    async def test_subscription(subscription_id: UUID, caller: CallerDep) -> DeliveryOut:
        """Send a test notification through the channel now (one attempt, no retry) and answer
        with its delivery: `delivered`, or `dead` with the error. A webhook receives
        `"status": "test"` and no alert."""
        sub = await owned(subscription_id, caller)
        delivery = await queries.delivery(await send_test(sub))
        assert delivery is not None  # just written, and never removed
        return DeliveryOut.of(delivery)

    @router.post(
        "/subscriptions/{subscription_id}/secret",
        tags=["subscriptions"],
        responses=OWNED | CONFLICT,
    )
    async def rotate_secret(subscription_id: UUID, caller: CallerDep) -> SecretOut:
        """A new webhook secret, shown once, here; the old one signs nothing more. 409 for an
        e-mail subscription."""
        await owned(subscription_id, caller)
        secret = await usecases.rotate_secret(subscription_id)
        return SecretOut(subscription_id=subscription_id, secret=secret)

    @router.get("/deliveries", tags=["deliveries"], responses=OWNED)
    async def deliveries(
        caller: CallerDep,
        subscription_id: UUID | None = None,
        status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DeliveryOut]:
        """The delivery log, newest first: each notification with its status (`pending`,
        `delivered`, `dead`, `cancelled`), attempts and last error. Without `subscription_id`:
        staff see all, a project those of its own subscriptions (deleted ones included)."""
        if subscription_id is not None:
            await owned(subscription_id, caller, deleted=True)
            ids: list[UUID] | None = [subscription_id]
        elif caller.staff:
            ids = None
        else:
            mine = caller.project_id
            ids = [] if mine is None else await queries.subscription_ids(mine)
        return [DeliveryOut.of(r) for r in await queries.deliveries(ids, status_, limit)]

    @router.post(
        "/deliveries/{delivery_id}/retry",
        status_code=202,
        tags=["deliveries"],
        responses=OWNED | CONFLICT,
    )
    async def retry_delivery(delivery_id: UUID, caller: CallerDep) -> DeliveryOut:
        """Send a `dead` delivery again (same id, attempts counted afresh); 409 if it is not
        dead, or if its subscription is paused or deleted."""
        delivery = await queries.delivery(delivery_id)
        if delivery is None:
            raise NotFound("no such delivery")
        await owned(delivery.subscription_id, caller, deleted=True)
        await usecases.retry(delivery_id)
        retried = await queries.delivery(delivery_id)
        assert retried is not None  # deliveries are never removed
        return DeliveryOut.of(retried)

    @router.get("/alerts", tags=["alerts"], responses=FORBIDDEN)
    async def alerts(
        caller: CallerDep,
        status_: Annotated[AlertState | None, Query(alias="status")] = None,
        kind: AlertKind | None = None,
        sheet: SheetId | None = None,
        project: UUID | None = None,
        region: RegionCode | None = None,
        severity: Severity | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        cursor: Annotated[str | None, Query(max_length=600)] = None,
    ) -> AlertPage:
        """Alerts firing now and those resolved in the last 7 days, newest first. Staff see
        all; a project its own (`project` another's: 403). Next page: `cursor=next_cursor`."""
        if not caller.staff:
            if project not in (None, caller.project_id):
                raise Forbidden("a project token sees only its own project's alerts")
            project = caller.project_id
        after = decode_cursor(cursor) if cursor is not None else None
        filters = AlertFilters(status_, kind, sheet, project, region, severity)
        rows = await queries.alerts(filters, clock() - RECENTLY_RESOLVED, limit + 1, after)
        page = [AlertView.of(r) for r in rows[:limit]]
        last = page[-1] if len(rows) > limit else None
        next_cursor = (
            encode_cursor(AlertCursor(last.started_at, last.fingerprint)) if last else None
        )
        return AlertPage(alerts=page, next_cursor=next_cursor)

    return router


def unsubscribe_router(
    usecases: AlertingUseCases, queries: AlertingQueries, links: UnsubscribeLinks
) -> APIRouter:
    """The e-mails' one-click unsubscribe (RFC 8058): POST pauses the subscription; GET only
    shows a page with a button that POSTs, because mail clients and scanners fetch links."""
    router = APIRouter(prefix="/unsubscribe", tags=["unsubscribe"], responses=PROBLEMS)
    Signature = Annotated[str, Path(max_length=100)]

    async def signed(subscription_id: UUID, signature: str) -> Subscription:
        if not links.valid(subscription_id, signature):
            raise Forbidden("this unsubscribe link is not valid")
        sub = await queries.subscription(subscription_id)
        if sub is None:
            raise NotFound("this subscription no longer exists")
        return sub

    @router.get(
        "/{subscription_id}/{signature}",
        response_class=HTMLResponse,
        responses=FORBIDDEN | NOT_FOUND,
    )
    async def confirm_unsubscribe(subscription_id: UUID, signature: Signature) -> HTMLResponse:
        """A page asking to confirm (in French); changes nothing."""
        sub = await signed(subscription_id, signature)
        return HTMLResponse(unsubscribe_page(sub.name, paused=sub.paused, done=False))

    @router.post(
        "/{subscription_id}/{signature}",
        response_class=HTMLResponse,
        responses=FORBIDDEN | NOT_FOUND,
    )
    async def unsubscribe(subscription_id: UUID, signature: Signature) -> HTMLResponse:
        """Pauses the subscription (the body, `List-Unsubscribe=One-Click`, is not needed)."""
        await signed(subscription_id, signature)
        sub, _ = await usecases.update(subscription_id, SubscriptionPatch(paused=True))
        return HTMLResponse(unsubscribe_page(sub.name, paused=True, done=True))

    return router
