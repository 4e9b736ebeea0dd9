"""Every error a user can cause, translated once into an RFC 9457 problem+json response."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (
    AccessDeniedError,
    AuthenticationError,
    ConflictError,
    DomainError,
    InvalidFieldError,
    NotFoundError,
    PolicyRefusedError,
)
from ledger.checkpoints import CheckpointNotFoundError
from ledger.store import LedgerRangeError
from ops.commands.reads import BatchRejectedError

PROBLEM = "application/problem+json"


class FieldProblem(BaseModel):
    field: str = Field(examples=["reads[3].plate"])
    rule: str = Field(examples=["plate.charset"])
    message: str = Field(examples=["must contain only letters A-Z and digits 0-9"])


class Problem(BaseModel):
    """RFC 9457 problem details, with the offending fields and the rules they broke."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


def _documented(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {PROBLEM: {}}}


# Every route may answer these; documenting them keeps clients (and schemathesis) honest.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("Bad request"),
    401: _documented("Missing, invalid, expired or revoked bearer token"),
    403: _documented("Role, training or policy does not allow this; the denial is recorded"),
    404: _documented("Not found"),
    409: _documented("Conflicts with the current state"),
    422: _documented("Invalid input: each error names the field and the rule"),
}

# Most specific first: the first class an error is an instance of decides.
STATUS: list[tuple[type[DomainError], int, str]] = [
    (InvalidFieldError, 422, "Invalid request"),
    (AuthenticationError, 401, "Authentication required"),
    (AccessDeniedError, 403, "Forbidden"),
    (PolicyRefusedError, 403, "Refused by policy"),
    (NotFoundError, 404, "Not found"),
    (ConflictError, 409, "Conflict"),
    (DomainError, 400, "Bad request"),
]


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "body", "path", "header")]
    return ".".join(parts) or "request"


def _error(field: str, rule: str, message: str) -> dict[str, str]:
    return {"field": field, "rule": rule, "message": message}


async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        _error(_field_name(tuple(e.get("loc", ()))), str(e.get("type", "invalid")), str(e.get("msg", "")))
        for e in exc.errors()
    ]
    first = errors[0] if errors else _error("request", "invalid", "invalid request")
    return problem(422, "Invalid request", f"{first['field']}: {first['message']}", errors=errors)


async def _domain(_: Request, exc: DomainError) -> JSONResponse:
    status, title = next((s, t) for cls, s, t in STATUS if isinstance(exc, cls))
    # Some errors carry several (a CSV file with errors on many lines): report each of them.
    each = getattr(exc, "errors", None) or [exc]
    return problem(
        status,
        title,
        f"{exc.field}: {exc.message}",
        code=exc.rule,
        errors=[_error(e.field, e.rule, e.message) for e in each],
    )


async def _batch(_: Request, exc: BatchRejectedError) -> JSONResponse:
    errors = [_error(e.field, e.rule, e.message) for e in exc.errors]
    return problem(422, "Batch rejected; nothing was stored", str(exc), errors=errors)


async def _ledger_range(_: Request, exc: LedgerRangeError) -> JSONResponse:
    return problem(400, "Parameter out of range", str(exc), errors=[_error(exc.parameter, "range", str(exc))])


async def _checkpoint_missing(_: Request, exc: CheckpointNotFoundError) -> JSONResponse:
    return problem(
        404, "No such checkpoint", str(exc), errors=[_error(exc.parameter, "checkpoint.exists", str(exc))]
    )


async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    # Framework-raised errors (unparseable JSON body, unknown path, wrong method) as problems too.
    detail = str(exc.detail)
    response = problem(
        exc.status_code, detail, detail, errors=[_error("request", f"http.{exc.status_code}", detail)]
    )
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(DomainError, _domain)  # type: ignore[arg-type]
    app.add_exception_handler(BatchRejectedError, _batch)  # type: ignore[arg-type]
    app.add_exception_handler(LedgerRangeError, _ledger_range)  # type: ignore[arg-type]
    app.add_exception_handler(CheckpointNotFoundError, _checkpoint_missing)  # type: ignore[arg-type]
