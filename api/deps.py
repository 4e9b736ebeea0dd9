"""Annotated dependencies so each route's signature reads as its needs.

    @router.post("/v1/hits/{hit_id}/verify")
    def verify(runtime: RuntimeDep, who: Annotated[Principal, Authorize("hits.act")]) -> ...

``Authorize`` authenticates the bearer token through the service on every request (so revoking an
account, role or token takes effect on the next request), checks the permission's roles and
training requirement, and records every denial as an event before answering 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.authz import PERMISSIONS
from domain.account import Principal
from domain.errors import AccessDeniedError, AuthenticationError
from ops.bootstrap import Runtime

_bearer = HTTPBearer(auto_error=False, description="Bearer token from /v1/auth/login or a device token")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_principal(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise AuthenticationError("authorization", "token.missing", "send Authorization: Bearer <token>")
    return runtime.app.authenticate(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def Authorize(permission: str) -> Any:  # noqa: N802 - reads as a type annotation
    """A dependency granting ``permission`` (a key of ``api.authz.PERMISSIONS``) or raising 403."""
    rule = PERMISSIONS[permission]

    def check(request: Request, runtime: RuntimeDep, principal: CurrentPrincipal) -> Principal:
        reason: tuple[str, str] | None = None
        if not principal.roles & rule.roles:
            needed = ", ".join(sorted(rule.roles))
            reason = ("role.missing", f"{permission} needs one of the roles: {needed}")
        elif rule.needs_training and runtime.app.policy.training_required.value and not principal.trained:
            reason = ("training.required", f"{permission} needs recorded training first")
        if reason is not None:
            runtime.app.record_access_denied(
                principal, permission=permission, path=f"{request.method} {request.url.path}", rule=reason[0]
            )
            raise AccessDeniedError("authorization", reason[0], reason[1])
        return principal

    check.__name__ = f"authorize_{permission.replace('.', '_')}"
    check.permission = permission  # type: ignore[attr-defined]  # read by the matrix test
    return Depends(check)


AuditorOnly = Authorize("ledger.entries")
