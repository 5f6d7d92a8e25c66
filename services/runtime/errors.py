"""Errors a use case raises; `build_app` turns them into HTTP answers."""

from __future__ import annotations

from typing import Any


class NotFound(Exception):
    status_code = 404


class Conflict(Exception):
    status_code = 409


class Unprocessable(Exception):
    """422 with pydantic-shaped details: `[{"loc": [...], "msg": "...", "type": "..."}]`."""

    status_code = 422

    def __init__(self, details: list[dict[str, Any]]) -> None:
        super().__init__(details)
        self.details = details
