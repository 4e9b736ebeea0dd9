"""``/v1/searches``: historical searches of stored reads, and the query log.

Every search is recorded before it runs; refusals (prohibited purpose, missing case number or
reason, untrained or revoked account, partner-agency scope, unsupported search type...) answer
403 or 422 problem+json naming the field and the rule, and are recorded too. Results are only
ever returned through a recorded search.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.authz import PERMISSIONS
from api.deps import Authorize, RuntimeDep
from api.errors import COMMON_RESPONSES
from api.schemas_common import copied
from domain.account import Principal
from domain.copying import copied_record
from domain.errors import AccessDeniedError
from domain.hotlist_entries import OPTIONAL_TEXT_PATTERN
from domain.search import (
    CASE_NUMBER_MAX_LENGTH,
    CODE_PATTERN,
    MAX_GROUNDS,
    REASON_MAX_LENGTH,
    REASON_MIN_LENGTH,
    REASON_MIN_WORDS,
    SEARCH_TYPE_PATTERN,
    RunSearch,
)
from ops.commands.searches import SearchRecord
from ops.search_executor import MAX_PAGE, AssociateResult, ReadResult

router = APIRouter(prefix="/v1/searches", tags=["searches"], responses=COMMON_RESPONSES)

_SEARCH_ID = "0b7e2f1c-3d4a-4e5f-9a8b-7c6d5e4f3a2b"
_READ: dict[str, Any] = {
    "read_id": "7bc69250-5965-448c-8bba-8c382d09c7e8",
    "plate": "ABC1234",
    "state": "NY",
    "camera_id": "FX-12",
    "camera_kind": "fixed",
    "patrol_vehicle": None,
    "latitude": 43.0481,
    "longitude": -76.1474,
    "captured_at": "2025-03-01T14:05:09Z",
    "confidence": 0.93,
}


def _text(max_length: int) -> dict[str, Any]:
    return {"maxLength": max_length, "pattern": OPTIONAL_TEXT_PATTERN}


class SearchCreate(BaseModel):
    """A historical search. The service checks, in order, and records every refusal:
    the account (403 ``account.revoked``, ``training.required``); the purpose and every ground
    (403 ``search.purpose.prohibited``; 422 ``search.purpose.unknown`` for a code the active
    profile does not permit; 403 ``search.purpose.not_historical`` for real-time-only uses such as
    routine patrol); partner-agency accounts (403 ``search.partner_scope``: complete plate only);
    the search type (422 ``search.type.unsupported``); the case number
    where the profile or purpose requires one (422 ``search.case_number.required``); the reason
    (422 ``search.reason.required``, ``search.reason.insufficient``: at least 3 words and 15
    characters); for ``external_repository_lookup`` the reason to believe the vehicle left the
    jurisdiction (422 ``search.left_jurisdiction_reason.required``); and a closed case (403
    ``search.case.closed``). Criteria that cannot be read answer 422 and record nothing.

    Criteria by ``search_type`` (``from`` inclusive, ``to`` exclusive, both ISO 8601 with a UTC
    offset; unreadable criteria answer 422 naming the field and rule, e.g. ``criteria.unknown``,
    ``criteria.window.required``, ``search.plate.too_broad``):

    - ``plate``: ``{"plate": "ABC1234", "confusable": false, "state": "NY", "camera_ids": ["FX-12"],
      "from": ..., "to": ...}`` (all but plate optional). The plate may be partial: ``?`` one
      character, ``*`` any run, at least 2 known characters; ``confusable: true`` also matches
      plates differing only by OCR-confusable characters (0/O/D/Q, 1/I/L/7, 2/Z, 5/S, 8/B, 6/G).
    - ``fixed_readers``: ``{"camera_ids": ["FX-12"], "from": ..., "to": ...}`` (all required).
    - ``mobile_readers``: ``{"patrol_vehicles": ["CAR-12"], "from": ..., "to": ...}`` (all required).
    - ``area``: ``{"polygon": {"type": "Polygon", "coordinates": [[[lon, lat], ...]]}, "from": ...,
      "to": ...}`` or ``{"circle": {"center": [lon, lat], "radius_m": 250}, "from": ..., "to": ...}``.
    - ``associates``: ``{"plate": "ABC1234", "window_s": 60, "state": "NY", "from": ..., "to": ...}``
      (plate and window_s required): plates read at the same readers within ``window_s`` seconds of
      a sighting of the plate, ranked by the number of distinct sightings shared, then plate.

    Order: by capture time then read id (associates: rank, then plate). Pages: query parameters
    ``limit`` (1-1000) and ``offset``; every page is a recorded search whose count and digest
    cover ALL results."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "search_type": "plate",
                    "criteria": {"plate": "ABC1234", "state": "NY", "from": "2025-03-01T00:00:00Z"},
                    "purpose": "criminal_investigation",
                    "reason": "vehicle seen leaving the burglary at 12 Elm St",
                    "case_number": "25-004211",
                },
                {
                    "search_type": "plate",
                    "criteria": {"plate": "XYZ987"},
                    "purpose": "external_repository_lookup",
                    "reason": "stolen vehicle, owner reports it driven to Newark",
                    "case_number": "25-004377",
                    "left_jurisdiction_reason": "toll record at the Holland Tunnel on 3 March",
                },
            ]
        },
    )

    search_type: str = Field(
        description="plate, fixed_readers, mobile_readers, area or associates (others: 422 "
        "search.type.unsupported, recorded)",
        json_schema_extra={"pattern": SEARCH_TYPE_PATTERN},
    )
    criteria: dict[str, Any] = Field(description="Criteria of the search type (recorded in the query log)")
    purpose: str = Field(
        description="A permitted search purpose of the active profile (alpr-ledger policy show)",
        json_schema_extra={"pattern": CODE_PATTERN},
    )
    grounds: list[Annotated[str, Field(json_schema_extra={"pattern": CODE_PATTERN})]] = Field(
        default_factory=list,
        max_length=MAX_GROUNDS,
        description="Further grounds or motivating factors of the search; any prohibited one refuses it",
    )
    reason: str | None = Field(
        None,
        description=f"Why this search is needed: at least {REASON_MIN_WORDS} words and {REASON_MIN_LENGTH} "
        "characters where the profile requires a reason",
        json_schema_extra=_text(REASON_MAX_LENGTH),
    )
    case_number: str | None = Field(
        None,
        description="Case or incident number (need not be a Case of this system)",
        json_schema_extra=_text(CASE_NUMBER_MAX_LENGTH),
    )
    left_jurisdiction_reason: str | None = Field(
        None,
        description="Required for external_repository_lookup: why the vehicle is believed to have left "
        "the jurisdiction",
        json_schema_extra=_text(REASON_MAX_LENGTH),
    )


class ReadOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_READ]})

    read_id: UUID
    plate: str
    state: str | None
    camera_id: str
    camera_kind: str
    patrol_vehicle: str | None
    latitude: float
    longitude: float
    captured_at: datetime
    confidence: float

    @classmethod
    def of(cls, r: ReadResult) -> ReadOut:
        return copied(cls, r)


class AssociateOut(BaseModel):
    plate: str
    shared_sightings: int = Field(
        description="Distinct sightings of the searched plate this plate was read near (the rank)"
    )
    reads: list[ReadOut] = Field(description="Its reads near those sightings, oldest first")

    @classmethod
    def of(cls, a: AssociateResult) -> AssociateOut:
        return cls(plate=a.plate, shared_sightings=a.shared_sightings, reads=[ReadOut.of(r) for r in a.reads])


class SearchRunOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "search_id": _SEARCH_ID,
                    "count": 1,
                    "offset": 0,
                    "limit": 100,
                    "next_offset": None,
                    "results": [_READ],
                    "associates": None,
                }
            ]
        }
    )

    search_id: UUID = Field(description="The recorded search (GET /v1/searches/{search_id})")
    count: int = Field(description="Number of ALL results (associates: associate plates), as recorded")
    offset: int = Field(description="Position of this page's first result")
    limit: int = Field(description="Largest number of results in this page")
    next_offset: int | None = Field(description="offset of the next page; null on the last page")
    results: list[ReadOut] = Field(description="This page's reads (empty for associates)")
    associates: list[AssociateOut] | None = Field(
        None, description="associates only: this page's associate plates, best ranked first"
    )


class ClauseRefOut(BaseModel):
    check: str = Field(examples=["purpose.permitted:criminal_investigation"])
    ref: str = Field(examples=["MPTC IV.B.1-2"])


class RefusalOut(BaseModel):
    field: str
    rule: str = Field(examples=["search.purpose.prohibited"])
    clause_ref: str = Field(examples=["NYPD 2026 §External Entities"])
    message: str


class SearchRecordOut(BaseModel):
    """One entry of the query log: who searched, why, what, under which clauses, and the outcome.
    ``result_digest``: SHA-256 (hex) of the sorted result read ids joined by newlines."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "search_id": _SEARCH_ID,
                    "account_id": "5a6f5dcb-e298-5001-9a1a-1b7be2607a0f",
                    "login": "inv.smith",
                    "roles": ["investigator"],
                    "search_type": "plate",
                    "criteria": {"plate": "ABC1234"},
                    "purpose": "criminal_investigation",
                    "grounds": [],
                    "reason": "vehicle seen leaving the burglary at 12 Elm St",
                    "case_number": "25-004211",
                    "left_jurisdiction_reason": None,
                    "profile": "nys-mptc-2022",
                    "clause_refs": [{"check": "reason.given", "ref": "MPTC VI.E"}],
                    "requested_at": "2025-03-03T10:00:00Z",
                    "status": "executed",
                    "result_count": 1,
                    "result_digest": "8f750ce2cca3c7cb5cd4cc6ea20ab355c5625d580a8ea80796f96e1372c9490c",
                    "executed_at": "2025-03-03T10:00:00Z",
                    "refusal": None,
                }
            ]
        }
    )

    search_id: UUID
    account_id: UUID
    login: str
    roles: list[str]
    search_type: str
    criteria: dict[str, Any] | None = Field(
        description="What was searched for; null once purged under the query log's retention"
    )
    purpose: str
    grounds: list[str]
    reason: str | None
    case_number: str | None
    left_jurisdiction_reason: str | None
    profile: str
    clause_refs: list[ClauseRefOut]
    requested_at: datetime
    status: str = Field(description="requested, executed, refused or failed")
    result_count: int | None
    result_digest: str | None
    executed_at: datetime | None
    refusal: RefusalOut | None

    @classmethod
    def of(cls, r: SearchRecord) -> SearchRecordOut:
        return copied(
            cls,
            r,
            clause_refs=[ClauseRefOut(**c) for c in r.clause_refs],
            refusal=None if r.refusal is None else RefusalOut(**r.refusal),
        )


class QueryLogOut(BaseModel):
    searches: list[SearchRecordOut]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SearchRunOut,
    summary="Run a historical search (recorded before it runs; refusals recorded too)",
)
def run_search(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("searches.run")],
    body: SearchCreate,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Results per page (1-1000)")] = 100,
    offset: Annotated[
        int, Query(ge=0, le=2**31 - 1, description="Results to skip (the previous page's next_offset)")
    ] = 0,
) -> SearchRunOut:
    result = runtime.app.run_search(
        who, copied_record(RunSearch, body, grounds=tuple(body.grounds)), limit=limit, offset=offset
    )
    return SearchRunOut(
        search_id=result.search_id,
        count=result.count,
        offset=result.offset,
        limit=result.limit,
        next_offset=result.next_offset,
        results=[ReadOut.of(r) for r in result.results],
        associates=None if result.associates is None else [AssociateOut.of(a) for a in result.associates],
    )


@router.get("", response_model=QueryLogOut, summary="The query log (auditors)")
def query_log(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("searches.audit")],
    start: Annotated[
        datetime | None, Query(alias="from", description="Requested at or after (with a UTC offset)")
    ] = None,
    end: Annotated[
        datetime | None, Query(alias="to", description="Requested before (with a UTC offset)")
    ] = None,
    account_id: Annotated[UUID | None, Query(description="Only this searcher's searches")] = None,
) -> QueryLogOut:
    return QueryLogOut(
        searches=[SearchRecordOut.of(r) for r in runtime.app.query_log(start, end, account=account_id)]
    )


@router.get(
    "/{search_id}",
    response_model=SearchRecordOut,
    summary="One recorded search (its searcher, or an auditing role: 403 search.not_yours otherwise)",
)
def get_search(
    request: Request,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("searches.read")],
    search_id: UUID,
) -> SearchRecordOut:
    record = runtime.app.get_search(search_id)
    # Searchers see their own searches; those who audit the query log see any (searches.audit).
    if record.account_id != who.account_id and not who.roles & PERMISSIONS["searches.audit"].roles:
        runtime.app.record_access_denied(
            who,
            permission="searches.audit",
            path=f"{request.method} {request.url.path}",
            rule="search.not_yours",
        )
        raise AccessDeniedError(
            "search_id", "search.not_yours", "only the searcher or an auditor may read it"
        )
    return SearchRecordOut.of(record)
