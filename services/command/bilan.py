"""`cma bilan`: a sheet's season review, read from the running services' public APIs."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date
from pathlib import Path

from services.bilan import BilanFormat, bilan_document
from services.bilan.sources import SourceError
from services.runtime.registry import SERVICES
from services.runtime.settings import Settings


def service_urls(settings: Settings) -> dict[str, str]:
    """`CMA_<SERVICE>_URL`, else the service's port on this machine."""
    return {
        spec.name: os.environ.get(f"CMA_{spec.name.upper()}_URL")
        or f"http://127.0.0.1:{settings.port(spec.name)}"
        for spec in SERVICES
    }


def main(
    sheet: str, fmt: BilanFormat, as_of: date | None, output: Path | None, token: str | None
) -> int:
    settings = Settings()
    staff = token or next((t.get_secret_value() for t in settings.staff_tokens), None)
    if staff is None:
        print("cma bilan: no staff token: set CMA_STAFF_TOKENS or pass --token", file=sys.stderr)
        return 2
    try:
        document = asyncio.run(bilan_document(service_urls(settings), staff, sheet, fmt, as_of))
    except SourceError as exc:
        print(f"cma bilan: {exc}", file=sys.stderr)
        return 1
    if output is None:
        sys.stdout.buffer.write(document.content)
    else:
        output.write_bytes(document.content)
        print(f"{output}: {len(document.content)} bytes", file=sys.stderr)
    return 0
