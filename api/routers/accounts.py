"""``/v1/accounts`` and ``/v1/tokens``: enrolment, roles, training, credentials, revocation.

Each change is an event naming the caller as its actor.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Authorize, RuntimeDep
from api.schemas_common import copied, text_rules
from domain.account import (
    COURSE_MAX_LENGTH,
    DISPLAY_NAME_MAX_LENGTH,
    LOGIN_SCHEMA_PATTERN,
    REASON_MAX_LENGTH,
    UNIT_MAX_LENGTH,
    Account,
    AccountKind,
    Principal,
)
from domain.policy import Role
from domain.totp import provisioning_uri
from ops.bootstrap import Runtime
from ops.commands.accounts import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

MAX_CURSOR = 10**18  # notification ids are 64-bit integers in both databases

router = APIRouter(tags=["accounts"])


# ---- schemas ---------------------------------------------------------------------------------


_LOGIN: dict[str, Any] = {"maxLength": 64, "pattern": LOGIN_SCHEMA_PATTERN}
_CAMERA_ID: dict[str, Any] = {
    "maxLength": 64,
    "pattern": "^[!-~](?:[ -~]{0,62}[!-~])?$",
}  # printable ASCII, trimmed

PersonRole = Literal[
    "officer",
    "investigator",
    "supervisor",
    "administrator",
    "privacy_officer",
    "approver",
    "auditor",
    "partner_agency",
    "legal_reviewer",
]
"""Every role but device: people never hold it (a device token has no second factor)."""


class EnrolPerson(BaseModel):
    """A person: logs on with password + TOTP (set them next)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["person"] = Field(default="person", examples=["person"])
    login: str = Field(json_schema_extra=_LOGIN, examples=["jsmith"])
    display_name: str = Field(
        json_schema_extra=text_rules(DISPLAY_NAME_MAX_LENGTH), examples=["Officer J. Smith"]
    )
    roles: list[PersonRole] = Field(default_factory=list, max_length=len(Role), examples=[["officer"]])
    unit: str | None = Field(
        default=None, json_schema_extra=text_rules(UNIT_MAX_LENGTH, optional=True), examples=["PBN"]
    )


class EnrolDevice(BaseModel):
    """A camera or pipeline: holds only the device role and uses device tokens."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["device"] = Field(examples=["device"])
    login: str = Field(json_schema_extra=_LOGIN, examples=["cam-fx-017"])
    display_name: str = Field(
        json_schema_extra=text_rules(DISPLAY_NAME_MAX_LENGTH), examples=["Fixed camera FX-017"]
    )
    roles: list[Literal["device"]] = Field(default_factory=list, max_length=1, examples=[["device"]])
    unit: str | None = Field(default=None, json_schema_extra=text_rules(UNIT_MAX_LENGTH, optional=True))
    camera_id: str | None = Field(
        default=None,
        json_schema_extra=_CAMERA_ID,
        description="Camera the device is bound to",
        examples=["FX-017"],
    )


class TrainingOut(BaseModel):
    course: str
    completed_on: date
    trainer: str | None


class AccountOut(BaseModel):
    id: UUID
    login: str = Field(examples=["jsmith"])
    display_name: str
    kind: AccountKind
    unit: str | None
    camera_id: str | None
    roles: list[Role]
    trained: bool
    trainings: list[TrainingOut]
    access_revoked: bool
    has_password: bool
    has_totp: bool
    enrolled_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return copied(
            cls,
            account,
            roles=sorted(account.roles),
            trainings=[TrainingOut(**t) for t in account.trainings],
            has_password=account.password_hash is not None,
            has_totp=account.totp_secret is not None,
            enrolled_at=account.created_on,
        )


class AccountPage(BaseModel):
    items: list[AccountOut]
    next_after: int | None = Field(description="Pass as 'after' for the next page; null at the end")


class RoleRequest(BaseModel):
    role: Role = Field(examples=["investigator"])


class TrainingRequest(BaseModel):
    course: str = Field(
        json_schema_extra=text_rules(COURSE_MAX_LENGTH), examples=["ALPR system use and NYS MPTC policy"]
    )
    completed_on: date | None = Field(
        default=None, description="Defaults to today; not in the future", examples=["2025-03-01"]
    )
    trainer: str | None = Field(
        default=None,
        json_schema_extra=text_rules(DISPLAY_NAME_MAX_LENGTH, optional=True),
        examples=["Sgt. A. Rivera"],
    )


class ReasonRequest(BaseModel):
    reason: str | None = Field(
        default=None,
        json_schema_extra=text_rules(REASON_MAX_LENGTH, optional=True),
        examples=["left the unit"],
    )


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        json_schema_extra=text_rules(REASON_MAX_LENGTH),
        description="Why the credentials are reset (required, recorded)",
        examples=["holder lost their authenticator; identity checked in person"],
    )


class PasswordRequest(BaseModel):
    password: str = Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        examples=["correct horse battery staple"],
    )


class TotpOut(BaseModel):
    secret: str = Field(description="Base32 TOTP secret; shown once", examples=["JBSWY3DPEHPK3PXP"])
    otpauth_uri: str = Field(description="For authenticator apps (render as a QR code)")


class DeviceTokenOut(BaseModel):
    token: str = Field(description="Shown once; only its hash is stored")
    token_id: UUID


class RevokeByToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=256, description="The raw token", examples=["alpr_3q2v..."])
    reason: str | None = Field(
        default=None, json_schema_extra=text_rules(REASON_MAX_LENGTH, optional=True), examples=["leaked"]
    )


class RevokeById(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token_id: UUID = Field(description="The token's id (from device-token issue)")
    reason: str | None = Field(
        default=None,
        json_schema_extra=text_rules(REASON_MAX_LENGTH, optional=True),
        examples=["camera decommissioned"],
    )


class TokenRevokedOut(BaseModel):
    token_id: UUID
    revoked: bool = True


# ---- routes ----------------------------------------------------------------------------------


def _account_out(runtime: Runtime, account_id: UUID) -> AccountOut:
    """The account as it stands now (after any change the route just made)."""
    return AccountOut.of(runtime.app.get_account(account_id))


@router.post("/v1/accounts", response_model=AccountOut, status_code=status.HTTP_201_CREATED, summary="Enrol")
def enrol(
    body: EnrolPerson | EnrolDevice,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("accounts.manage")],
) -> AccountOut:
    """Roles are granted in the same transaction; a device with no roles gets the device role."""
    account_id = runtime.app.enrol_account(
        body.login,
        body.display_name,
        kind=body.kind,
        roles=body.roles,
        unit=body.unit,
        camera_id=body.camera_id if isinstance(body, EnrolDevice) else None,
        actor=who.account_id,
    )
    return _account_out(runtime, account_id)


@router.get("/v1/accounts", response_model=AccountPage, summary="List accounts in enrolment order")
def list_accounts(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("accounts.read")],
    after: Annotated[int, Query(ge=0, le=MAX_CURSOR, description="Cursor from the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AccountPage:
    accounts, cursor = runtime.app.list_accounts(after=after, limit=limit)
    return AccountPage(items=[AccountOut.of(a) for a in accounts], next_after=cursor)


@router.get("/v1/accounts/{account_id}", response_model=AccountOut, summary="One account")
def get_account(
    account_id: UUID, runtime: RuntimeDep, who: Annotated[Principal, Authorize("accounts.read")]
) -> AccountOut:
    return _account_out(runtime, account_id)


@router.post("/v1/accounts/{account_id}/roles", response_model=AccountOut, summary="Grant a role")
def grant_role(
    account_id: UUID,
    body: RoleRequest,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("accounts.manage")],
) -> AccountOut:
    runtime.app.grant_role(account_id, body.role, actor=who.account_id)
    return _account_out(runtime, account_id)


@router.post(
    "/v1/accounts/{account_id}/roles/{role}/revoke", response_model=AccountOut, summary="Revoke a role"
)
def revoke_role(
    account_id: UUID,
    role: Role,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("accounts.manage")],
) -> AccountOut:
    """Effective on the account's next request."""
    runtime.app.revoke_role(account_id, role, actor=who.account_id)
    return _account_out(runtime, account_id)


@router.post("/v1/accounts/{account_id}/training", response_model=AccountOut, summary="Record training")
def record_training(
    account_id: UUID,
    body: TrainingRequest,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("accounts.train")],
) -> AccountOut:
    runtime.app.record_training(
        account_id, body.course, completed_on=body.completed_on, trainer=body.trainer, actor=who.account_id
    )
    return _account_out(runtime, account_id)


@router.post("/v1/accounts/{account_id}/revoke", response_model=AccountOut, summary="Revoke all access")
def revoke_access(
    account_id: UUID,
    body: ReasonRequest,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("accounts.manage")],
) -> AccountOut:
    """Every token of the account stops working on its next request."""
    runtime.app.revoke_access(account_id, reason=body.reason, actor=who.account_id)
    return _account_out(runtime, account_id)


@router.post("/v1/accounts/{account_id}/restore", response_model=AccountOut, summary="Restore access")
def restore_access(
    account_id: UUID,
    body: ReasonRequest,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("accounts.manage")],
) -> AccountOut:
    runtime.app.restore_access(account_id, reason=body.reason, actor=who.account_id)
    return _account_out(runtime, account_id)


@router.post(
    "/v1/accounts/{account_id}/password", status_code=status.HTTP_204_NO_CONTENT, summary="Set a password"
)
def set_password(
    account_id: UUID,
    body: PasswordRequest,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("accounts.manage")],
) -> None:
    """Stored only as an argon2 hash. Only while the account has no password (initial
    enrolment, or after a credentials reset): 409 ``credentials.already_set`` otherwise."""
    runtime.app.set_password(account_id, body.password, actor=who.account_id)


@router.post("/v1/accounts/{account_id}/totp", response_model=TotpOut, summary="Enrol a TOTP second factor")
def enrol_totp(
    account_id: UUID, runtime: RuntimeDep, who: Annotated[Principal, Authorize("accounts.manage")]
) -> TotpOut:
    """The secret is shown once. Only while the account has no TOTP secret (initial enrolment,
    or after a credentials reset): 409 ``credentials.already_set`` otherwise."""
    secret = runtime.app.enrol_totp(account_id, actor=who.account_id)
    login = runtime.app.get_account(account_id).login
    return TotpOut(secret=secret, otpauth_uri=provisioning_uri(secret, login))


@router.post(
    "/v1/accounts/{account_id}/credentials/reset",
    response_model=AccountOut,
    summary="Reset password and TOTP",
)
def reset_credentials(
    account_id: UUID,
    body: ResetRequest,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("accounts.manage")],
) -> AccountOut:
    """Clears password and TOTP and ends every token of the account issued so far; recorded with
    its reason. Only then may an administrator set new initial credentials."""
    runtime.app.reset_credentials(account_id, reason=body.reason, actor=who.account_id)
    return _account_out(runtime, account_id)


@router.post(
    "/v1/accounts/{account_id}/device-tokens",
    response_model=DeviceTokenOut,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a device token",
)
def issue_device_token(
    account_id: UUID, runtime: RuntimeDep, who: Annotated[Principal, Authorize("tokens.issue_device")]
) -> DeviceTokenOut:
    """A long-lived token for a camera or pipeline account, valid until revoked; shown once."""
    token = runtime.app.issue_device_token(account_id, actor=who.account_id)
    return DeviceTokenOut(token=token, token_id=runtime.app.get_token(token).id)


@router.post("/v1/tokens/revoke", response_model=TokenRevokedOut, tags=["tokens"], summary="Revoke a token")
def revoke_token(
    body: RevokeByToken | RevokeById,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("tokens.revoke")],
) -> TokenRevokedOut:
    """Name the token raw or by id; it stops working on its next request."""
    token = runtime.app.get_token(body.token if isinstance(body, RevokeByToken) else body.token_id)
    runtime.app.revoke_token(token.id, actor=who.account_id, reason=body.reason)
    return TokenRevokedOut(token_id=token.id)
