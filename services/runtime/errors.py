"""One error shape for every service, built here: RFC 9457 problem details
(`application/problem+json`). Routes and use cases raise the domain errors below; the HTTP
shell (`http.py`) and its admission limits (`limits.py`) answer with `problem()`.

A validation problem lists every field or row at fault in `errors`, each with its `loc` (the
JSON path, or `["body", "row", n]` for a CSV row), `msg` and `type`, as pydantic names them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

PROBLEM_JSON = "application/problem+json"


class FieldProblem(BaseModel):
    """One field or row at fault."""

    model_config = ConfigDict(frozen=True)

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details. `type` is `about:blank`: `title` is then the status phrase."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


@dataclass(frozen=True)
class FieldError:
    """A domain rule broken at `loc`; what use cases collect before refusing a request."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"

    def problem(self) -> FieldProblem:
        return FieldProblem(loc=list(self.loc), msg=self.msg, type=self.type)


def problem(
    status: int,
    detail: str,
    *,
    errors: Sequence[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one place an error answer is built."""
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=list(errors) if errors is not None else None,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_JSON,
    )


class DomainError(Exception):
    """A request refused for a reason the caller can act on; `status` says which answer."""

    status: ClassVar[int] = 400

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail, self.headers = detail, dict(headers or {})

    def response(self) -> JSONResponse:
        return problem(self.status, self.detail, headers=self.headers)


class Unauthorized(DomainError):
    status = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class UnsupportedMediaType(DomainError):
    status = 415


class Unprocessable(DomainError):
    """422 naming every field or row at fault."""

    status = 422

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        self.errors = tuple(errors)
        summary = detail or f"{len(self.errors)} invalid field(s): " + "; ".join(
            f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in self.errors[:3]
        )
        super().__init__(summary)

    def response(self) -> JSONResponse:
        return problem(self.status, self.detail, errors=[e.problem() for e in self.errors])


def pydantic_errors(
    errors: Sequence[Mapping[str, Any]], prefix: Sequence[str | int] = ()
) -> list[FieldError]:
    """pydantic's error list as field errors, without echoing the input (a secret, a 2 MB
    body, or a NaN that JSON cannot even encode)."""
    return [FieldError((*prefix, *e["loc"]), e["msg"], e["type"]) for e in errors]
