"""Subscriber pages (staff or project token): subscriptions and their delivery log."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.portal.client import Api, ApiError
from services.portal.forms import FormState, field_errors
from services.portal.web import PageError, check_csrf, session_of, token_of

Text = Annotated[str, Form(max_length=2000)]
SUBSCRIPTION_FIELDS = {
    ("channel", "webhook", "url"): "target",  # a union's location names its tag
    ("channel", "email", "address"): "target",
    ("channel",): "channel",
    ("filters", "sheets"): "sheets",
    ("filters", "kinds"): "kinds",
    ("filters", "min_severity"): "min_severity",
}


def subscriptions_router(api: Api, pages: Jinja2Templates) -> APIRouter:
    router = APIRouter(prefix="/abonnements")

    def render(
        request: Request, template: str, status: int = 200, **context: object
    ) -> HTMLResponse:
        context["session"] = session_of(request)
        return pages.TemplateResponse(request, template, context, status)

    async def listing(request: Request, form: FormState, status: int = 200) -> HTMLResponse:
        subscriptions = await api.subscriptions(token_of(request))
        return render(request, "subscriptions.html", status, subs=subscriptions, form=form)

    @router.get("", response_class=HTMLResponse)
    async def index(request: Request) -> HTMLResponse:
        return await listing(request, FormState(values={"channel": "webhook"}))

    @router.post("", response_class=HTMLResponse)
    async def create(
        request: Request,
        csrf: Annotated[str | None, Form()] = None,
        name: Text = "",
        channel: Text = "webhook",
        target: Text = "",
        sheets: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
        kinds: Annotated[list[str], Form()] = [],  # noqa: B006
        min_severity: Text = "info",
    ) -> Response:
        token = token_of(request)
        check_csrf(request, csrf)
        values: dict[str, object] = dict(
            name=name,
            channel=channel,
            target=target,
            sheets=sheets,
            kinds=kinds,
            min_severity=min_severity,
        )
        where = "url" if channel == "webhook" else "address"
        body = {
            "name": name,
            "channel": {"type": channel, where: target},
            "filters": {"sheets": sheets, "kinds": kinds, "min_severity": min_severity},
        }
        project_id = session_of(request).project_id
        if project_id is not None:  # a project's subscription is about its own project
            body["filters"]["projects"] = [str(project_id)]  # type: ignore[index]
        try:
            created = await api.subscribe(token, body)
        except ApiError as refused:
            if refused.status != 422:
                raise
            form = field_errors(refused.field_errors, SUBSCRIPTION_FIELDS)
            form.values = values
            return await listing(request, form, 422)
        message = f"Abonnement « {created.name} » créé."
        if created.secret:
            message += (
                " Clé de signature des webhooks (affichée une seule fois) : " + created.secret
            )
        session_of(request).say("success", message)
        return RedirectResponse("/abonnements", 303)

    @router.post("/{subscription_id}/test")
    async def test(
        request: Request, subscription_id: UUID, csrf: Annotated[str | None, Form()] = None
    ) -> Response:
        token = token_of(request)
        check_csrf(request, csrf)
        sent = await api.test(token, subscription_id)
        if sent.status == "delivered":
            session_of(request).say("success", "Test livré.")
        else:
            session_of(request).say("error", f"Test non livré : {sent.last_error or sent.status}")
        return RedirectResponse(f"/abonnements/{subscription_id}", 303)

    @router.post("/{subscription_id}/pause")
    async def pause(
        request: Request,
        subscription_id: UUID,
        csrf: Annotated[str | None, Form()] = None,
        paused: Text = "true",
    ) -> Response:
        token = token_of(request)
        check_csrf(request, csrf)
        changed = await api.pause(token, subscription_id, paused == "true")
        state = "mis en pause" if changed.paused else "repris"
        session_of(request).say("success", f"Abonnement « {changed.name} » {state}.")
        return RedirectResponse("/abonnements", 303)

    @router.post("/{subscription_id}/suppression")
    async def delete(
        request: Request, subscription_id: UUID, csrf: Annotated[str | None, Form()] = None
    ) -> Response:
        token = token_of(request)
        check_csrf(request, csrf)
        await api.unsubscribe(token, subscription_id)
        session_of(request).say("success", "Abonnement supprimé ; son journal reste consultable.")
        return RedirectResponse("/abonnements", 303)

    @router.post("/{subscription_id}/livraisons/{delivery_id}/relance")
    async def retry(
        request: Request,
        subscription_id: UUID,
        delivery_id: UUID,
        csrf: Annotated[str | None, Form()] = None,
    ) -> Response:
        token = token_of(request)
        check_csrf(request, csrf)
        try:
            await api.retry(token, delivery_id)
        except ApiError as refused:
            if refused.status != 409:
                raise
            detail = refused.problem.detail if refused.problem else ""
            session_of(request).say("error", f"Relance impossible : {detail}")
        else:
            session_of(request).say("success", "Livraison relancée.")
        return RedirectResponse(f"/abonnements/{subscription_id}", 303)

    @router.get("/{subscription_id}", response_class=HTMLResponse)
    async def deliveries(request: Request, subscription_id: UUID) -> HTMLResponse:
        token = token_of(request)
        subscriptions = await api.subscriptions(token)
        found = [s for s in subscriptions if s.subscription_id == subscription_id]
        if not found:
            raise PageError(404, "Abonnement introuvable", "Cet abonnement n'existe pas.")
        log = await api.deliveries(token, subscription_id)
        return render(request, "deliveries.html", sub=found[0], deliveries=log)

    return router
