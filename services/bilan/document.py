"""The one entry point: a sheet's bilan, fetched from the services and rendered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import httpx

from contracts.catalog import load_catalog
from services.bilan.domain import compose
from services.bilan.render import BilanFormat, render
from services.bilan.sources import Reader, fetch


@dataclass(frozen=True)
class Document:
    content: bytes
    media_type: str
    filename: str  # `bilan-<sheet>-<as_of>.<format>`


async def bilan_document(
    urls: Mapping[str, str],
    token: str,
    sheet: str,
    fmt: BilanFormat,
    as_of: date | None = None,
    *,
    client: httpx.AsyncClient | None = None,
) -> Document:
    """`urls`: each service's base URL by its registry name (intake, indicator, milestone,
    alerting); `token`: a staff token. Raises `SourceError` when a service refuses or cannot
    be reached. `client`: a pooled client to reuse (the portal's); one is opened otherwise."""
    catalog = load_catalog()
    if client is None:
        async with httpx.AsyncClient(timeout=60) as own:
            answers = await fetch(Reader(own, urls, token), sheet)
    else:
        answers = await fetch(Reader(client, urls, token), sheet)
    bilan = compose(answers, catalog, as_of)
    return Document(
        content=render(bilan, catalog, fmt),
        media_type=fmt.media_type,
        filename=f"bilan-{sheet}-{bilan.as_of.isoformat()}.{fmt.value}",
    )
