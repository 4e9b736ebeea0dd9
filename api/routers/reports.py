"""Reports: query-log audits (``/v1/audits/queries``), misuse flags (``/v1/misuse-flags``), the
dissemination log and hits by hotlist source (``/v1/reports/...``), and public statistics
(``/v1/public/statistics``, no login: counts and dates only).

Who sees what (``api.authz``): auditors, supervisors, privacy officers and administrators audit the
query log (TCSO VIII.D, MPTC VI.G), but not a period in which they searched themselves: opening,
sampling, reviewing or summarising it is refused 403 ``audit.independence.searched_in_period``
(field ``by``); a sign-off is by the administrator, privacy officer or the sheriff's designee who
did not review the sample; misuse flags go to supervisors (NYPD 2026
§Internal Audit) and the privacy officer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Authorize, RuntimeDep
from api.errors import COMMON_RESPONSES
from api.schemas_common import copied, text_rules
from domain.account import Principal
from domain.query_audit import MAX_SAMPLE, NOTES_MAX_LENGTH, REASON_MAX_LENGTH, SUMMARY_MAX_LENGTH
from ops.commands.reports import MisuseFlagView, QueryAuditView

router = APIRouter(tags=["reports"], responses=COMMON_RESPONSES)

AuditId = Annotated[UUID, Path(description="Id of the query audit")]
FlagId = Annotated[UUID, Path(description="Id of the misuse flag")]
From = Annotated[datetime | None, Query(alias="from", description="Start (inclusive), with a UTC offset")]
To = Annotated[datetime | None, Query(alias="to", description="End (exclusive), with a UTC offset")]


# ---- query log ---------------------------------------------------------------------------------


class AccountCount(BaseModel):
    account_id: UUID
    login: str
    searches: int
    refused: int


class PurposeCount(BaseModel):
    purpose: str
    searches: int


class TypeCount(BaseModel):
    search_type: str
    searches: int


class CaseCount(BaseModel):
    case_number: str
    searches: int


class RefusalCount(BaseModel):
    rule: str
    clause: str
    count: int


class QueryLogReportOut(BaseModel):
    """Searches requested in the period (all of them, refused ones included)."""

    from_: datetime | None = Field(alias="from")
    to: datetime | None
    searches: int
    by_status: dict[str, int] = Field(description="executed, refused, failed, requested (still running)")
    criteria_purged: int = Field(
        description="Searches whose criteria are shredded (past query-log retention)"
    )
    by_account: list[AccountCount]
    by_purpose: list[PurposeCount]
    by_type: list[TypeCount]
    case_numbers: list[CaseCount]
    refusals: list[RefusalCount]


@router.get(
    "/v1/reports/query-log",
    response_model=QueryLogReportOut,
    response_model_by_alias=True,
    summary="The query log of a period: searches per account, purpose, type, case number; refusals",
)
def query_log_report(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("audits.read")],
    start: From = None,
    end: To = None,
) -> Any:
    return runtime.app.query_log_report(start, end).body


# ---- query audits --------------------------------------------------------------------------------


class AuditOpen(BaseModel):
    """Open an audit of the searches requested in ``[from, to)`` (ended, at most 366 days)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: datetime = Field(alias="from", examples=["2026-01-01T00:00:00Z"])
    to: datetime = Field(examples=["2026-07-01T00:00:00Z"])
    reason: str = Field(
        json_schema_extra=text_rules(REASON_MAX_LENGTH), examples=["bi-annual audit, TCSO VIII.D"]
    )


class SampleDraw(BaseModel):
    """Draw the random sample. The service picks the seed and records it (a caller could otherwise
    try seeds until the sample avoids chosen searches); the same seed over the same log gives the
    same sample, so anyone can redraw it (``sample-check``)."""

    model_config = ConfigDict(extra="forbid")

    size: int = Field(ge=1, le=MAX_SAMPLE, examples=[25])


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    search_id: UUID
    finding: Literal["ok", "concern"]
    notes: str | None = Field(
        default=None,
        description="Required for a concern",
        json_schema_extra=text_rules(NOTES_MAX_LENGTH, optional=True),
    )


class SummaryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: str = Field(json_schema_extra=text_rules(SUMMARY_MAX_LENGTH))


class SignOffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    statement: str | None = Field(default=None, json_schema_extra=text_rules(NOTES_MAX_LENGTH, optional=True))


class ReviewOut(BaseModel):
    search_id: UUID
    reviewer_login: str
    finding: str
    notes: str | None
    reviewed_at: datetime


class QueryAuditOut(BaseModel):
    audit_id: UUID
    period_from: datetime
    period_to: datetime
    reason: str
    opened_by: str
    opened_at: datetime
    status: Literal["opened", "sampled", "summarised", "signed_off"]
    seed: int | None = Field(description="The recorded seed of the sample")
    population: int = Field(description="Searches of the period the sample was drawn from")
    population_digest: str | None
    sample: list[UUID]
    reviews: list[ReviewOut]
    summary: str | None
    signed_off_by: str | None
    signed_off_at: datetime | None
    statement: str | None

    @classmethod
    def of(cls, view: QueryAuditView) -> QueryAuditOut:
        return copied(
            cls,
            view,
            sample=[UUID(s) for s in view.sample],
            reviews=[ReviewOut.model_validate(r, from_attributes=True) for r in view.reviews],
        )


class SampleCheckOut(BaseModel):
    audit_id: UUID
    reproducible: bool = Field(
        description="Redrawing with the recorded seed from the log gives the same sample"
    )


@router.post(
    "/v1/audits/queries",
    status_code=status.HTTP_201_CREATED,
    response_model=QueryAuditOut,
    summary="Open a query-log audit of a period (not by someone who searched in it)",
)
def open_audit(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("audits.conduct")], body: AuditOpen
) -> QueryAuditOut:
    return QueryAuditOut.of(runtime.app.open_query_audit(body.from_, body.to, body.reason, actor=who))


@router.get(
    "/v1/audits/queries", response_model=list[QueryAuditOut], summary="Query-log audits, oldest first"
)
def list_audits(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("audits.read")]
) -> list[QueryAuditOut]:
    return [QueryAuditOut.of(v) for v in runtime.app.list_query_audits()]


@router.get("/v1/audits/queries/{audit_id}", response_model=QueryAuditOut, summary="One query-log audit")
def get_audit(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("audits.read")], audit_id: AuditId
) -> QueryAuditOut:
    return QueryAuditOut.of(runtime.app.get_query_audit(audit_id))


@router.get(
    "/v1/audits/queries/{audit_id}/sample-check",
    response_model=SampleCheckOut,
    summary="Redraw the sample from the log with its recorded seed and compare",
)
def check_sample(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("audits.read")], audit_id: AuditId
) -> SampleCheckOut:
    return SampleCheckOut(audit_id=audit_id, reproducible=runtime.app.check_audit_sample(audit_id))


@router.post(
    "/v1/audits/queries/{audit_id}/sample",
    response_model=QueryAuditOut,
    summary="Draw the random sample (once; 409 audit.sample.already_drawn; 403 for a searcher of the period)",
)
def draw_sample(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("audits.conduct")],
    audit_id: AuditId,
    body: SampleDraw,
) -> QueryAuditOut:
    return QueryAuditOut.of(runtime.app.draw_audit_sample(audit_id, body.size, actor=who))


@router.post(
    "/v1/audits/queries/{audit_id}/reviews",
    response_model=QueryAuditOut,
    summary="Review one sampled search (once each; not by anyone who searched in the period)",
)
def review(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("audits.conduct")],
    audit_id: AuditId,
    body: ReviewIn,
) -> QueryAuditOut:
    view = runtime.app.review_audited_search(
        audit_id, str(body.search_id), body.finding, body.notes, actor=who
    )
    return QueryAuditOut.of(view)


@router.post(
    "/v1/audits/queries/{audit_id}/summary",
    response_model=QueryAuditOut,
    summary="Summarise the findings (every sampled search reviewed first)",
)
def summarise(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("audits.conduct")],
    audit_id: AuditId,
    body: SummaryIn,
) -> QueryAuditOut:
    return QueryAuditOut.of(runtime.app.summarise_query_audit(audit_id, body.summary, actor=who))


@router.post(
    "/v1/audits/queries/{audit_id}/sign-off",
    response_model=QueryAuditOut,
    summary="Sign a summarised audit off (not by a reviewer, nor by a searcher in the sample)",
)
def sign_off(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("audits.sign_off")],
    audit_id: AuditId,
    body: SignOffIn,
) -> QueryAuditOut:
    return QueryAuditOut.of(runtime.app.sign_off_query_audit(audit_id, body.statement, actor=who))


# ---- misuse flags --------------------------------------------------------------------------------


class MisuseFlagOut(BaseModel):
    flag_id: UUID
    rule: str = Field(description="misuse.repeat_plate_without_case, misuse.unusual_hour, ... (ops.misuse)")
    day: date
    account_id: UUID
    login: str
    search_ids: list[UUID]
    detail: str
    raised_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    note: str | None

    @classmethod
    def of(cls, view: MisuseFlagView) -> MisuseFlagOut:
        return copied(cls, view)


class MisuseRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date | None = Field(default=None, description="UTC day to check; default today")


class AcknowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(
        json_schema_extra=text_rules(NOTES_MAX_LENGTH), examples=["spoke to the officer; case opened"]
    )


@router.get("/v1/misuse-flags", response_model=list[MisuseFlagOut], summary="Misuse flags, oldest first")
def list_flags(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("misuse.read")],
    open_only: Annotated[bool, Query(alias="open", description="Only flags not acknowledged")] = False,
) -> list[MisuseFlagOut]:
    return [MisuseFlagOut.of(f) for f in runtime.app.list_misuse_flags(open_only=open_only)]


@router.post(
    "/v1/misuse-flags/run",
    response_model=list[MisuseFlagOut],
    summary="Check a day's searches now; returns the flags this run raised",
)
def run_flags(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("misuse.act")], body: MisuseRun
) -> list[MisuseFlagOut]:
    return [MisuseFlagOut.of(f) for f in runtime.app.raise_misuse_flags(body.day)]


@router.post(
    "/v1/misuse-flags/{flag_id}/acknowledge",
    response_model=MisuseFlagOut,
    summary="Acknowledge a flag with a note (not a flag about one's own searches)",
)
def acknowledge(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("misuse.act")],
    flag_id: FlagId,
    body: AcknowledgeIn,
) -> MisuseFlagOut:
    return MisuseFlagOut.of(runtime.app.acknowledge_misuse_flag(flag_id, body.note, actor=who))


# ---- disclosures and hits ------------------------------------------------------------------------


class DisclosureLogOut(BaseModel):
    disclosure_id: UUID
    requested_at: datetime
    kind: str = Field(description="Recipient type: standard, out_of_state, public_records")
    requesting_agency: str
    purpose: str
    legal_basis: str
    case_number: str | None
    requested_reads: int
    requested_by_login: str
    status: str
    decided_by_login: str | None
    decided_at: datetime | None
    decision_reference: str | None
    refusal_rule: str | None
    released_at: datetime | None
    released_reads: int | None
    package_sha256: str | None


@router.get(
    "/v1/reports/disclosures",
    response_model=list[DisclosureLogOut],
    summary="The dissemination log: every request for data from outside the agency and its fate",
)
def disclosure_log(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("disclosures.read")],
    start: From = None,
    end: To = None,
) -> list[DisclosureLogOut]:
    return [DisclosureLogOut(**row) for row in runtime.app.disclosure_log(start, end)]


class SourceOut(BaseModel):
    source: str
    hits: int
    dispositioned: int
    outcomes: dict[str, int]
    hit_ratio: float | None = Field(description="Hits of this source per read captured in the period")
    confirmed_ratio: float | None = Field(description="Confirmed hits per dispositioned hit")


class HitsBySourceOut(BaseModel):
    from_: date | None = Field(alias="from")
    to: date | None
    reads: int
    sources: list[SourceOut]


@router.get(
    "/v1/reports/hits-by-source",
    response_model=HitsBySourceOut,
    response_model_by_alias=True,
    summary="Hit dispositions and hit ratios by hotlist source, over capture days [from, to)",
)
def hits_by_source(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("reports.hits")],
    start: Annotated[date | None, Query(alias="from", description="First capture day (UTC)")] = None,
    end: Annotated[date | None, Query(alias="to", description="Day after the last (UTC)")] = None,
) -> Any:
    return runtime.app.hits_by_source(start, end).body


# ---- public statistics ---------------------------------------------------------------------------


class KindCount(BaseModel):
    kind: str
    cameras: int
    in_service: int


class DayCount(BaseModel):
    day: date
    reads: int
    hits: int


class RecipientCount(BaseModel):
    recipient_type: str
    requests: int
    released: int


class PublicStatisticsOut(BaseModel):
    """Usage statistics for the public (TCSO VIII.G): counts and dates, nothing about a person."""

    generated_at: datetime
    profile: str
    read_retention_days: int
    query_log_retention_days: int
    cameras_by_kind: list[KindCount]
    daily: list[DayCount] = Field(description="Reads and hits per UTC day, the last 30 days")
    searches_by_purpose: list[PurposeCount]
    disclosures_by_recipient_type: list[RecipientCount]
    last_query_audit_signed_off: date | None


@router.get(
    "/v1/public/statistics",
    response_model=PublicStatisticsOut,
    summary="Public usage statistics (no login)",
)
def public_statistics(runtime: RuntimeDep) -> Any:
    return runtime.app.public_statistics().body
