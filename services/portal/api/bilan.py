"""The season review ("bilan", services/bilan) of a sheet: a page with its downloads for a
staff session, and the downloads themselves for a staff session or a staff `Authorization:
Bearer` token (a script's curl: its refusals are problem+json, not pages)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from contracts.catalog import Catalog
from services.bilan import BilanFormat, bilan_document
from services.bilan.sources import SourceError
from services.portal.client import Api, ApiError
from services.portal.sessions import Role
from services.portal.web import PageError, session_of, staff_token
from services.runtime.errors import problem

UNAVAILABLE = PageError(
    503,
    "Bilan indisponible",
    "Un service de la plateforme ne répond pas. Réessayez dans quelques instants.",
)


def bilan_router(
    api: Api,
    pages: Jinja2Templates,
    catalog: Catalog,
    urls: Mapping[str, str],
    client: httpx.AsyncClient,
) -> APIRouter:
    router = APIRouter()

    async def bearer_staff(authorization: str) -> str | Response:
        """The bearer token if intake says it is a staff one; else the problem to answer."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return problem(401, "Expected `Authorization: Bearer <token>`.")
        try:
            identity = await api.me(token.strip())
        except ApiError as refused:
            if refused.status == 401:
                return problem(401, "Unknown or revoked token.")
            return problem(503, "A service of the platform did not answer.")
        if identity.role != Role.STAFF:
            return problem(403, "The bilan is for staff tokens.")
        return token.strip()

    # Declared before /bilan/{sheet}, whose parameter would also match `ia.pdf`.
    @router.get("/bilan/{sheet}.{fmt}", response_model=None)
    async def download(request: Request, sheet: str, fmt: BilanFormat) -> Response:
        authorization = request.headers.get("Authorization")
        if authorization is None:
            token = staff_token(request)
            if sheet not in catalog.sheets:
                raise PageError(404, "Fiche introuvable", "Cette fiche n'existe pas.")
        else:
            answer = await bearer_staff(authorization)
            if isinstance(answer, Response):
                return answer
            token = answer
            if sheet not in catalog.sheets:
                return problem(404, f"No sheet {sheet!r} in the catalog.")
        try:
            document = await bilan_document(urls, token, sheet, fmt, client=client)
        except SourceError:
            if authorization is not None:
                return problem(503, "A service of the platform did not answer.")
            raise UNAVAILABLE from None
        # The HTML reads in the browser; Markdown and PDF are files to keep.
        disposition = "inline" if fmt is BilanFormat.HTML else "attachment"
        return Response(
            document.content,
            media_type=document.media_type,
            headers={"Content-Disposition": f'{disposition}; filename="{document.filename}"'},
        )

    @router.get("/bilan/{sheet}", response_class=HTMLResponse)
    async def page(request: Request, sheet: str) -> HTMLResponse:
        staff_token(request)
        if sheet not in catalog.sheets:
            raise PageError(404, "Fiche introuvable", "Cette fiche n'existe pas.")
        context = {
            "session": session_of(request),
            "sheet": catalog.sheets[sheet],
            "formats": list(BilanFormat),
        }
        return pages.TemplateResponse(request, "bilan.html", context)

    return router
