"""Annotated dependencies so each route's signature reads as its needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ops.bootstrap import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def require_auditor() -> None:
    """Accounts arrive in a later issue; then this checks the caller holds the auditor role.

    The entries endpoint already depends on it so that restricting it changes one function.
    """


AuditorOnly = Depends(require_auditor)
