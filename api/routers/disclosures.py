"""``/v1/disclosures``: requests for ALPR data from outside the agency, their approval by the role the
policy profile names, releases as verifiable packages, the dissemination log, routine designations
and unauthorized-disclosure reports (NYPD §External Entities, TCSO V.E and VI.C, MPTC D.3 and VI.H,
IACP D.1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Authorize, RuntimeDep
from api.errors import COMMON_RESPONSES
from api.schemas_common import copied
from domain.account import Principal
from domain.copying import copied_record
from domain.disclosure import (
    MAX_SCOPE,
    STATEMENT_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    Decision,
    DesignateRoutine,
    Disclosure,
    ReportUnauthorizedDisclosure,
    RequestDisclosure,
    RoutineDesignation,
    UnauthorizedDisclosure,
)
from ops.commands.disclosures import DisseminationEntry

router = APIRouter(prefix="/v1/disclosures", tags=["disclosures"], responses=COMMON_RESPONSES)

Status = Literal["requested", "refused", "approved", "denied", "revoked", "released"]
Text = Annotated[str, Field(min_length=1, max_length=TEXT_MAX_LENGTH)]
LongText = Annotated[str, Field(min_length=1, max_length=STATEMENT_MAX_LENGTH)]

_READ_1 = "7bc69250-5965-548c-8bba-8c382d09c7e8"
_READ_2 = "df7cced5-524c-52d3-990a-84c4d99109a0"


class DisclosureRequestIn(BaseModel):
    """A request for ALPR data. Rules the service checks (422 unless noted): ``purpose`` is a purpose
    code of the active profile (any code for a public-records request); a prohibited purpose such
    as ``immigration_enforcement`` is recorded and refused (403 ``disclosure.purpose.prohibited``);
    ``legal_basis`` is one of the profile's legal bases; ``scope`` names 1-1000 distinct stored reads;
    out-of-state requests under a profile asking for a written request (TCSO V.E.2) need
    ``case_number``, ``statement_of_need`` and ``written_request_reference``; the basis
    ``designated_routine`` needs ``routine_designation_id`` of an active designation for the same
    purpose (403 otherwise)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "requesting_agency": "Onondaga County DA",
                    "requesting_person": "ADA J. Rivera",
                    "contact": "jrivera@da.example",
                    "purpose": "criminal_investigation",
                    "legal_basis": "law_enforcement_need",
                    "scope": [_READ_1, _READ_2],
                    "case_number": "2025-000123",
                },
                {
                    "requesting_agency": "Bergen County Sheriff (NJ)",
                    "requesting_person": "Det. K. Moore",
                    "contact": "kmoore@bcso.example",
                    "purpose": "criminal_investigation",
                    "legal_basis": "law_enforcement_need",
                    "scope": [_READ_1],
                    "case_number": "BC-25-0042",
                    "out_of_state": True,
                    "statement_of_need": "vehicle seen leaving the scene of a robbery",
                    "written_request_reference": "letter of 2025-03-02",
                },
            ]
        },
    )

    requesting_agency: Text
    requesting_person: Text
    contact: Text
    purpose: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["criminal_investigation"])]
    legal_basis: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", examples=["law_enforcement_need"])]
    scope: Annotated[list[UUID], Field(min_length=1, max_length=MAX_SCOPE, description="Read ids asked for")]
    case_number: Text | None = None
    out_of_state: bool = False
    public_records: bool = Field(
        False, description="A public-records (FOIL) request: decided by legal review"
    )
    statement_of_need: LongText | None = None
    written_request_reference: Text | None = None
    routine_designation_id: UUID | None = None


class ApproveIn(BaseModel):
    """Approve with a written reference. ``scope`` (optional) approves only part of the requested
    reads (legal review of a public-records request). The approver must hold the role the profile
    names for the disclosure's kind and must not be the requester (403)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reference": "APO memo 2025-17", "scope": [_READ_1]}]},
    )

    reference: Text
    scope: Annotated[list[UUID], Field(min_length=1, max_length=MAX_SCOPE)] | None = None


class DenyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reference": "APO memo 2025-18", "reason": "no specific need stated"}]
        },
    )

    reference: Text
    reason: LongText


class RevokeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "case dismissed before release"}]}
    )

    reason: LongText


class ReleaseIn(BaseModel):
    """Which approved reads to release (default: the whole approved scope). Refused (403) before
    approval, after the approval was revoked, or for a read outside the approved scope."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"read_ids": [_READ_1]}]})

    read_ids: Annotated[list[UUID], Field(min_length=1, max_length=MAX_SCOPE)] | None = None


class DecisionOut(BaseModel):
    by: UUID
    by_login: str
    role: str
    reference: str
    at: datetime
    reason: str | None

    @classmethod
    def of(cls, d: Decision | None) -> DecisionOut | None:
        if d is None:
            return None
        return copied(cls, d)


class ReleaseOut(BaseModel):
    by: UUID
    by_login: str
    package_sha256: str = Field(description="SHA-256 of the package's manifest.json")
    read_ids: list[UUID]
    checkpoint_size: int
    at: datetime


class DisclosureOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "ae05793e-5e3a-4acc-979a-c4524ec84def",
                    "status": "approved",
                    "kind": "standard",
                    "approver_role": "privacy_officer",
                    "requesting_agency": "Onondaga County DA",
                    "requesting_person": "ADA J. Rivera",
                    "contact": "jrivera@da.example",
                    "purpose": "criminal_investigation",
                    "legal_basis": "law_enforcement_need",
                    "case_number": "2025-000123",
                    "out_of_state": False,
                    "public_records": False,
                    "statement_of_need": None,
                    "written_request_reference": None,
                    "routine_designation_id": None,
                    "requested_scope": [_READ_1, _READ_2],
                    "approved_scope": [_READ_1],
                    "requested_by": "0b6f3c8e-2f7a-4d43-9a55-3f0f6b1f7c11",
                    "requested_by_login": "jdoe",
                    "requested_at": "2025-03-03T14:05:09Z",
                    "refusal": None,
                    "approval": {
                        "by": "5c1e7d0a-9a4b-4c1e-8f6e-2b9d7a3c4e55",
                        "by_login": "apo",
                        "role": "privacy_officer",
                        "reference": "APO memo 2025-17",
                        "at": "2025-03-03T16:00:00Z",
                        "reason": None,
                    },
                    "denial": None,
                    "revocation": None,
                    "release": None,
                }
            ]
        }
    )

    id: UUID
    status: Status
    kind: Literal["standard", "out_of_state", "public_records"]
    approver_role: str
    requesting_agency: str
    requesting_person: str
    contact: str
    purpose: str
    legal_basis: str
    case_number: str | None
    out_of_state: bool
    public_records: bool
    statement_of_need: str | None
    written_request_reference: str | None
    routine_designation_id: UUID | None
    requested_scope: list[UUID]
    approved_scope: list[UUID]
    requested_by: UUID
    requested_by_login: str
    requested_at: datetime
    refusal: dict[str, str] | None
    approval: DecisionOut | None
    denial: DecisionOut | None
    revocation: DecisionOut | None
    release: ReleaseOut | None

    @classmethod
    def of(cls, d: Disclosure) -> DisclosureOut:
        r = d.release
        return copied(
            cls,
            d,
            status=d.status.value,
            kind=d.kind.value,
            approver_role=d.approver_role.value,
            requested_scope=list(d.requested_scope),
            approved_scope=list(d.approved_scope),
            approval=DecisionOut.of(d.approval),
            denial=DecisionOut.of(d.denial),
            revocation=DecisionOut.of(d.revocation),
            release=None if r is None else copied(ReleaseOut, r, read_ids=list(r.read_ids)),
        )


class DisclosureList(BaseModel):
    disclosures: list[DisclosureOut]


class ReleaseResultOut(BaseModel):
    """The release: download the package from ``package_url`` and verify it with
    ``alpr-ledger verify --bundle DIR`` (or ``python -m ledger.verify DIR``)."""

    disclosure_id: UUID
    package_sha256: str
    checkpoint_size: int
    read_ids: list[UUID]
    package_url: str


class DisseminationEntryOut(BaseModel):
    disclosure_id: UUID
    released_at: datetime
    requesting_agency: str
    requesting_person: str
    purpose: str
    legal_basis: str
    case_number: str | None
    kind: str
    read_ids: list[UUID]
    package_sha256: str
    released_by: str
    approved_by: str
    approval_reference: str

    @classmethod
    def of(cls, e: DisseminationEntry) -> DisseminationEntryOut:
        return copied(cls, e, read_ids=list(e.read_ids))


class DisseminationLog(BaseModel):
    entries: list[DisseminationEntryOut]


class UnauthorizedIn(BaseModel):
    """An unauthorized disclosure. Times carry a UTC offset and do not lie in the future;
    ``discovered_at`` >= ``occurred_at``; ``reported_to_cpo_at`` (when already reported to the Chief
    Privacy Officer) >= ``discovered_at`` (422 otherwise); only a privacy officer may give
    ``reported_to_cpo_at`` (403)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "what": "read data e-mailed to a vendor outside the contract",
                    "occurred_at": "2025-03-01T10:00:00Z",
                    "discovered_at": "2025-03-02T09:00:00Z",
                }
            ]
        },
    )

    what: LongText
    occurred_at: datetime
    discovered_at: datetime
    reported_to_cpo_at: datetime | None = None


class ReportedToCpoIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reported_at": "2025-03-02T15:00:00Z"}]}
    )

    reported_at: datetime


class UnauthorizedOut(BaseModel):
    """``overdue``: not reported to the Chief Privacy Officer within the profile's deadline after
    discovery (NYPD 2026: 24 hours), whether still unreported or reported late."""

    id: UUID
    what: str
    occurred_at: datetime
    discovered_at: datetime
    reported_by: UUID
    reported_by_login: str
    reported_to_cpo_at: datetime | None
    reported_to_cpo_recorded_at: datetime | None  # when the ledger learnt of the report
    report_due_at: datetime | None
    overdue: bool

    @classmethod
    def of(cls, r: UnauthorizedDisclosure, now: datetime) -> UnauthorizedOut:
        return copied(cls, r, report_due_at=r.due_at, overdue=r.overdue(now))


class UnauthorizedList(BaseModel):
    reports: list[UnauthorizedOut]


class DesignationIn(BaseModel):
    """Designate a purpose and class of recipients as routine (NYPD ground 5): privacy officers
    only (403), under a profile with the ``designated_routine`` basis (403), never a prohibited
    purpose (403)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "purpose": "criminal_investigation",
                    "recipient_class": "New York county district attorneys",
                    "description": "case data turned over to the prosecutor with jurisdiction",
                    "reference": "APO designation 2025-03",
                }
            ]
        },
    )

    purpose: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    recipient_class: Text
    description: LongText
    reference: Text


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "superseded"}]})

    reason: LongText


class DesignationOut(BaseModel):
    id: UUID
    purpose: str
    recipient_class: str
    description: str
    reference: str
    designated_by: UUID
    designated_by_login: str
    designated_at: datetime
    active: bool

    @classmethod
    def of(cls, d: RoutineDesignation) -> DesignationOut:
        return copied(cls, d, designated_at=d.created_on)


class DesignationList(BaseModel):
    designations: list[DesignationOut]


# --- static paths first, so they are not taken for a disclosure id ---------------------------


@router.post("", status_code=201, summary="Request a disclosure")
def request_disclosure(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("disclosures.request")],
    body: DisclosureRequestIn,
) -> DisclosureOut:
    cmd = copied_record(
        RequestDisclosure,
        body,
        scope=tuple(str(s) for s in body.scope),
        routine_designation_id=None
        if body.routine_designation_id is None
        else str(body.routine_designation_id),
    )
    return DisclosureOut.of(runtime.app.request_disclosure(cmd, by=who))


@router.get("", summary="List disclosures")
def list_disclosures(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("disclosures.read")],
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DisclosureList:
    """Newest request first."""
    return DisclosureList(
        disclosures=[DisclosureOut.of(d) for d in runtime.app.list_disclosures(status=status, limit=limit)]
    )


@router.get("/log", summary="Dissemination log: every release outside the agency")
def dissemination_log(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("disclosures.read")],
    since: Annotated[
        datetime | None, Query(alias="from", description="Releases at or after (with UTC offset)")
    ] = None,
    until: Annotated[
        datetime | None, Query(alias="to", description="Releases before (with UTC offset)")
    ] = None,
) -> DisseminationLog:
    """IACP D.1 (secondary dissemination log), MPTC D.3 (reason and identity of the requester)."""
    return DisseminationLog(
        entries=[DisseminationEntryOut.of(e) for e in runtime.app.dissemination_log(since, until)]
    )


@router.post("/unauthorized", status_code=201, summary="Record an unauthorized disclosure")
def report_unauthorized(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("disclosures.report_unauthorized")],
    body: UnauthorizedIn,
) -> UnauthorizedOut:
    report = runtime.app.report_unauthorized_disclosure(
        ReportUnauthorizedDisclosure(
            body.what, body.occurred_at, body.discovered_at, body.reported_to_cpo_at
        ),
        by=who,
    )
    return UnauthorizedOut.of(report, runtime.app.clock())


@router.get("/unauthorized", summary="Unauthorized disclosures, with the overdue-report flag")
def list_unauthorized(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("disclosures.read")],
    overdue: Annotated[
        bool | None, Query(description="true: only reports overdue to the Chief Privacy Officer")
    ] = None,
) -> UnauthorizedList:
    now = runtime.app.clock()
    return UnauthorizedList(
        reports=[
            UnauthorizedOut.of(r, now) for r in runtime.app.list_unauthorized_disclosures(overdue=overdue)
        ]
    )


@router.post("/unauthorized/{report_id}/reported", summary="Record the report to the Chief Privacy Officer")
def record_reported_to_cpo(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("disclosures.report_to_cpo")],
    report_id: UUID,
    body: ReportedToCpoIn,
) -> UnauthorizedOut:
    """Privacy officer only (403). Once per report (409 after that); ``reported_at`` not before
    discovery nor in the future (422). The recording time is kept with the claimed time: a report
    recorded after the deadline stays ``overdue`` whatever ``reported_at`` says."""
    report = runtime.app.record_unauthorized_report_to_cpo(report_id, reported_at=body.reported_at, by=who)
    return UnauthorizedOut.of(report, runtime.app.clock())


@router.post(
    "/routine-designations", status_code=201, summary="Designate a disclosure routine (NYPD ground 5)"
)
def designate_routine(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("routine.designate")], body: DesignationIn
) -> DesignationOut:
    cmd = DesignateRoutine(body.purpose, body.recipient_class, body.description, body.reference)
    return DesignationOut.of(runtime.app.designate_routine(cmd, by=who))


@router.get("/routine-designations", summary="Routine designations")
def list_designations(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("disclosures.read")]
) -> DesignationList:
    return DesignationList(
        designations=[DesignationOut.of(d) for d in runtime.app.list_routine_designations()]
    )


@router.post("/routine-designations/{designation_id}/withdraw", summary="Withdraw a routine designation")
def withdraw_designation(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("routine.designate")],
    designation_id: UUID,
    body: WithdrawIn,
) -> DesignationOut:
    return DesignationOut.of(
        runtime.app.withdraw_routine_designation(designation_id, by=who, reason=body.reason)
    )


# --- one disclosure -------------------------------------------------------------------------


@router.get("/{disclosure_id}", summary="One disclosure")
def get_disclosure(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("disclosures.read")], disclosure_id: UUID
) -> DisclosureOut:
    return DisclosureOut.of(runtime.app.get_disclosure(disclosure_id))


@router.post("/{disclosure_id}/approve", summary="Approve, with a written reference")
def approve(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("disclosures.decide")],
    disclosure_id: UUID,
    body: ApproveIn,
) -> DisclosureOut:
    """409 unless the disclosure awaits a decision."""
    scope = None if body.scope is None else [str(s) for s in body.scope]
    return DisclosureOut.of(
        runtime.app.approve_disclosure(disclosure_id, by=who, reference=body.reference, scope=scope)
    )


@router.post("/{disclosure_id}/deny", summary="Deny, with a written reference and reason")
def deny(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("disclosures.decide")],
    disclosure_id: UUID,
    body: DenyIn,
) -> DisclosureOut:
    return DisclosureOut.of(
        runtime.app.deny_disclosure(disclosure_id, by=who, reference=body.reference, reason=body.reason)
    )


@router.post("/{disclosure_id}/revoke-approval", summary="Revoke an approval before release")
def revoke_approval(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("disclosures.decide")],
    disclosure_id: UUID,
    body: RevokeIn,
) -> DisclosureOut:
    """409 unless the disclosure is approved and not yet released."""
    return DisclosureOut.of(runtime.app.revoke_disclosure_approval(disclosure_id, by=who, reason=body.reason))


@router.post("/{disclosure_id}/release", summary="Release: write the verifiable package")
def release(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("disclosures.release")],
    disclosure_id: UUID,
    body: ReleaseIn | None = None,
) -> ReleaseResultOut:
    read_ids = None if body is None or body.read_ids is None else [str(r) for r in body.read_ids]
    result = runtime.app.release_disclosure(disclosure_id, by=who, read_ids=read_ids)
    r = result.disclosure.release
    assert r is not None  # just released
    return ReleaseResultOut(
        disclosure_id=disclosure_id,
        package_sha256=result.package_sha256,
        checkpoint_size=result.checkpoint_size,
        read_ids=list(r.read_ids),
        package_url=f"/v1/disclosures/{disclosure_id}/package",
    )


_ZIP: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The package",
    }
}


@router.get(
    "/{disclosure_id}/package",
    summary="Download the release package (zip)",
    response_class=Response,
    responses=_ZIP,
)
def package(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("disclosures.release")], disclosure_id: UUID
) -> Response:
    """404 until the disclosure is released. Unzip and run ``alpr-ledger verify --bundle DIR``."""
    data = runtime.app.package_zip(disclosure_id)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="disclosure-{disclosure_id}.zip"'},
    )
