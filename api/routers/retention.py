"""Retention: holds on reads (``/v1/holds``), shredding one read, and running retention now.

A hold keeps reads past their day for a case: an investigator or supervisor requests it (case
number, reason, review date), a supervisor other than the requester approves it, and it is
re-justified by each review date (again by a supervisor other than the requester); otherwise the
retention run flags it and, a week later, releases it back to normal retention. Shredding one read
(court order, erroneous read) destroys its data key at once, unless a hold or a case keeps the read.
``POST /v1/retention/run`` applies the active profile now (``dry_run``: report only).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Authorize, RuntimeDep
from api.errors import COMMON_RESPONSES
from api.schemas_common import copied, text_rules
from domain.account import Principal
from domain.case import CASE_NUMBER_PATTERN
from domain.retention import MAX_HOLD_READS, REASON_MAX_LENGTH
from ops.commands.retention import HoldView
from ops.retention import HoldChange, PurgeInfo, PurgeItem, RetentionReport

router = APIRouter(tags=["retention"], responses=COMMON_RESPONSES)

HoldId = Annotated[UUID, Path(description="Id of the hold")]
ReadId = Annotated[UUID, Path(description="Id of the read")]

_REASON = Field(
    description=(
        "Why, in words (one line). Kept in the clear for good, so it must not contain the plate of a"
        " read it concerns (422 retention.reason.personal)"
    ),
    json_schema_extra=text_rules(REASON_MAX_LENGTH),
    examples=["suspect vehicle in an open burglary investigation"],
)
_REVIEW_BY = Field(
    description="When the hold must be re-justified: a future date-time with a UTC offset, within 366 days",
    examples=["2026-09-01T00:00:00Z"],
)


class HoldStatusName(StrEnum):
    REQUESTED = "requested"
    ACTIVE = "active"
    FLAGGED = "flagged"
    DENIED = "denied"
    RELEASED = "released"


class HoldCreate(BaseModel):
    """Request a hold. Every read must be stored (422 ``hold.read.unknown``) and not purged (409
    ``hold.read.purged``). The reads are kept once a supervisor approves."""

    model_config = ConfigDict(extra="forbid")

    read_ids: list[UUID] = Field(
        min_length=1, max_length=MAX_HOLD_READS, description="Reads to keep past their day"
    )
    case_number: str = Field(
        description="Case or incident number the reads are kept for",
        json_schema_extra={"pattern": CASE_NUMBER_PATTERN},
        examples=["25-004211"],
    )
    reason: str = _REASON
    review_by: datetime = _REVIEW_BY


class HoldDecision(BaseModel):
    """A reason for denying or releasing a hold."""

    model_config = ConfigDict(extra="forbid")

    reason: str = _REASON


class HoldRejustify(BaseModel):
    """Keep an active or flagged hold until a new review date (lifts a flag). By a supervisor other
    than the hold's requester (409 ``hold.rejustify.own``)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = _REASON
    review_by: datetime = _REVIEW_BY


class HoldOut(BaseModel):
    hold_id: UUID
    read_ids: list[UUID]
    case_number: str
    reason: str
    review_by: datetime
    requested_by: str
    requested_at: datetime
    approved_by: str | None = Field(description="The supervisor who approved it")
    status: HoldStatusName
    flagged_at: datetime | None = Field(description="When its review date passed without re-justification")
    released_at: datetime | None
    release_reason: str | None = Field(description="Why it was denied or released")

    @classmethod
    def of(cls, view: HoldView) -> HoldOut:
        return copied(cls, view)


class ShredRequest(BaseModel):
    """Shred one read now: its data key is destroyed, so its personal fields, images and hits read
    as purged from then on. 409 ``read.purged`` when it already is, ``read.held`` when a hold keeps
    it (release the hold first), ``read.on_case`` when a case not yet due keeps it."""

    model_config = ConfigDict(extra="forbid")

    rule: Literal["court_order", "erroneous_read"] = Field(description="Why the read goes before its day")
    reason: str = _REASON


class PurgeOut(BaseModel):
    """The purge that shredded a read: which key, under which rule and clause of which profile."""

    purge_id: UUID
    key_id: str = Field(description='The destroyed key: a read id, "reads:<day>", "case:<id>"...')
    rule: str = Field(description="read_retention, case_retention, court_order, erroneous_read...")
    clause: str = Field(description="The profile clause that set the rule")
    profile: str
    due_at: datetime | None = Field(description="When the record fell due; null for a shred by hand")
    destroyed_at: datetime
    reason: str

    @classmethod
    def of(cls, info: PurgeInfo) -> PurgeOut:
        return copied(cls, info)


class RetentionRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(default=False, description="Report what is due without destroying anything")


class PurgeItemOut(BaseModel):
    key_id: str
    scope: Literal["kek", "record"] = Field(description="A day's or case's key, or one read's key")
    retention_class: str
    day: date | None
    due_at: datetime | None
    rule: str
    clause: str
    record_count: int | None = Field(description="Data keys destroyed; null for a day in a dry run")
    record_ids: list[UUID]
    reconciled: bool = Field(description="Destroyed by an interrupted run; its record is made now")

    @classmethod
    def of(cls, item: PurgeItem) -> PurgeItemOut:
        return copied(cls, item, record_ids=list(item.record_ids))


class HoldChangeOut(BaseModel):
    hold_id: UUID
    case_number: str
    action: Literal["flagged", "released"]
    review_by: datetime

    @classmethod
    def of(cls, change: HoldChange) -> HoldChangeOut:
        return copied(cls, change)


class RetentionReportOut(BaseModel):
    profile: str = Field(description="The active policy profile")
    now: datetime
    dry_run: bool
    purges: list[PurgeItemOut]
    holds: list[HoldChangeOut]
    rekeyed: int = Field(description="Reads moved under another key (a hold, a case, back to their day)")
    blobs_deleted: int

    @classmethod
    def of(cls, report: RetentionReport) -> RetentionReportOut:
        return copied(
            cls,
            report,
            purges=[PurgeItemOut.of(p) for p in report.purges],
            holds=[HoldChangeOut.of(h) for h in report.holds],
        )


@router.post(
    "/v1/holds", status_code=status.HTTP_201_CREATED, response_model=HoldOut, summary="Request a hold"
)
def request_hold(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("holds.request")], body: HoldCreate
) -> HoldOut:
    view = runtime.app.request_hold(body.read_ids, body.case_number, body.reason, body.review_by, actor=who)
    return HoldOut.of(view)


@router.get("/v1/holds", response_model=list[HoldOut], summary="Holds, oldest request first")
def list_holds(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("holds.read")],
    status_: Annotated[
        HoldStatusName | None,
        Query(alias="status", description="Only holds in this status (flagged: act now)"),
    ] = None,
) -> list[HoldOut]:
    return [HoldOut.of(v) for v in runtime.app.list_holds(None if status_ is None else status_.value)]


@router.get("/v1/holds/{hold_id}", response_model=HoldOut, summary="One hold")
def get_hold(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("holds.read")], hold_id: HoldId
) -> HoldOut:
    return HoldOut.of(runtime.app.get_hold(hold_id))


@router.post(
    "/v1/holds/{hold_id}/approve",
    response_model=HoldOut,
    summary="Approve a requested hold (not its requester); its reads are kept from now on",
)
def approve_hold(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("holds.approve")], hold_id: HoldId
) -> HoldOut:
    return HoldOut.of(runtime.app.approve_hold(hold_id, actor=who))


@router.post("/v1/holds/{hold_id}/deny", response_model=HoldOut, summary="Deny a requested hold")
def deny_hold(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("holds.approve")],
    hold_id: HoldId,
    body: HoldDecision,
) -> HoldOut:
    return HoldOut.of(runtime.app.deny_hold(hold_id, body.reason, actor=who))


@router.post(
    "/v1/holds/{hold_id}/rejustify",
    response_model=HoldOut,
    summary="Re-justify a hold (a supervisor, not its requester)",
)
def rejustify_hold(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("holds.approve")],
    hold_id: HoldId,
    body: HoldRejustify,
) -> HoldOut:
    return HoldOut.of(runtime.app.rejustify_hold(hold_id, body.reason, body.review_by, actor=who))


@router.post(
    "/v1/holds/{hold_id}/release",
    response_model=HoldOut,
    summary="Release a hold: its reads go back to normal retention (past due: shredded now)",
)
def release_hold(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("holds.release")],
    hold_id: HoldId,
    body: HoldDecision,
) -> HoldOut:
    return HoldOut.of(runtime.app.release_hold(hold_id, body.reason, actor=who))


@router.post("/v1/reads/{read_id}/shred", response_model=PurgeOut, summary="Shred one read now")
def shred_read(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("reads.shred")],
    read_id: ReadId,
    body: ShredRequest,
) -> PurgeOut:
    return PurgeOut.of(runtime.app.shred_record(read_id, rule=body.rule, reason=body.reason, actor=who))


@router.post(
    "/v1/retention/run",
    response_model=RetentionReportOut,
    summary="Apply the active profile's retention now (dry_run: report only)",
)
def run_retention(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("retention.run")],
    body: RetentionRunRequest | None = None,
    dry_run: Annotated[bool | None, Query(description="Same as the body's dry_run")] = None,
) -> RetentionReportOut:
    dry = bool(dry_run) or (body is not None and body.dry_run)
    report = runtime.app.run_retention(dry_run=dry, by=f"retention-run:{who.login}")
    return RetentionReportOut.of(report)
