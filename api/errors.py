"""Every error a user can cause, translated once into an RFC 9457 problem+json response."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ledger.checkpoints import CheckpointNotFoundError
from ledger.store import LedgerRangeError

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "body", "path", "header")]
    return ".".join(parts) or "request"


async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {
            "field": _field_name(tuple(e.get("loc", ()))),
            "rule": e.get("type", "invalid"),
            "message": e.get("msg", ""),
        }
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "request", "message": "invalid request"}
    return problem(
        422,
        "Invalid request",
        f"{first['field']}: {first['message']}",
        errors=errors,
    )


async def _ledger_range(_: Request, exc: LedgerRangeError) -> JSONResponse:
    return problem(
        400,
        "Parameter out of range",
        str(exc),
        errors=[{"field": exc.parameter, "rule": "range", "message": str(exc)}],
    )


async def _checkpoint_missing(_: Request, exc: CheckpointNotFoundError) -> JSONResponse:
    return problem(
        404,
        "No such checkpoint",
        str(exc),
        errors=[{"field": exc.parameter, "rule": "checkpoint.exists", "message": str(exc)}],
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(LedgerRangeError, _ledger_range)  # type: ignore[arg-type]
    app.add_exception_handler(CheckpointNotFoundError, _checkpoint_missing)  # type: ignore[arg-type]
