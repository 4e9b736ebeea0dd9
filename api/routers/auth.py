"""``/v1/auth``: interactive log-on (password + TOTP), log-off, and who am I."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Authorize, RuntimeDep
from api.schemas_common import copied
from domain.account import Principal
from domain.policy import Role
from ops.commands.accounts import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class LoginRequest(BaseModel):
    login: str = Field(max_length=256, examples=["jsmith"])
    password: str = Field(max_length=1024, examples=["correct horse battery staple"])
    totp: str = Field(max_length=16, description="Current code of the authenticator app", examples=["287082"])


class PasswordChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=PASSWORD_MAX_LENGTH, examples=["correct horse battery staple"])
    totp: str = Field(max_length=16, description="Current code of the authenticator app", examples=["287082"])
    new_password: str = Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        examples=["a new and longer passphrase"],
    )


class LoginResponse(BaseModel):
    token: str = Field(description="Bearer token; send as 'Authorization: Bearer <token>'")
    token_type: str = Field(default="bearer", examples=["bearer"])
    expires_at: datetime


class PrincipalOut(BaseModel):
    account_id: UUID
    login: str = Field(examples=["jsmith"])
    roles: list[Role] = Field(examples=[["officer"]])
    trained: bool
    is_device: bool
    camera_id: str | None = Field(default=None, examples=[None])

    @classmethod
    def of(cls, who: Principal) -> PrincipalOut:
        return copied(cls, who, roles=sorted(who.roles))


@router.post(
    "/login",
    response_model=LoginResponse,
    summary="Log on with password and TOTP code",
    responses={
        401: {
            "description": "Log-on refused (rule credentials.invalid), or too many failed attempts "
            "(rule credentials.locked, for 15 minutes); the attempt is recorded"
        }
    },
)
def login(body: LoginRequest, request: Request, runtime: RuntimeDep) -> LoginResponse:
    """Every attempt, successful or not, is recorded with its outcome and source address."""
    source = request.client.host if request.client is not None else "unknown"
    token, expires_at = runtime.app.login(body.login, body.password, body.totp, source=source)
    return LoginResponse(token=token, expires_at=expires_at)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change your own password",
    responses={
        403: {
            "description": "Current password or code wrong (rule credentials.invalid), or too many "
            "failed attempts (credentials.locked); the attempt is recorded"
        },
        409: {"description": "Devices have no password (account.device)"},
    },
)
def change_password(
    body: PasswordChangeRequest,
    request: Request,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("auth.session")],
) -> None:
    """Proves the current password and a TOTP code; a wrong proof is recorded as a failed log-on
    and counts towards the lockout."""
    source = request.client.host if request.client is not None else "unknown"
    runtime.app.change_own_password(
        who.account_id, body.current_password, body.totp, body.new_password, source=source
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke the presented token")
def logout(runtime: RuntimeDep, who: Annotated[Principal, Authorize("auth.session")]) -> None:
    runtime.app.logout(who)


@router.get("/me", response_model=PrincipalOut, summary="The caller, as the token establishes it")
def me(who: Annotated[Principal, Authorize("auth.session")]) -> PrincipalOut:
    return PrincipalOut.of(who)
