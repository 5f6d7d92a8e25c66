"""`/docs`: Swagger UI served from this process, never from a CDN (deployments may be offline:
a ministry network). The assets are Swagger UI 5 (OpenAPI 3.1, as FastAPI writes it), from the
`swagger-ui-py` wheel; only its files are used, not its code."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"


def swagger_ui_assets() -> Path:
    spec = find_spec("swagger_ui")  # located, not imported
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed: it serves /docs' assets")
    return Path(spec.submodule_search_locations[0]) / "static"


def serve_docs(app: FastAPI) -> None:
    """The app must be built with `docs_url=None, redoc_url=None`."""
    app.mount(ASSETS_URL, StaticFiles(directory=swagger_ui_assets()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        )
