"""``/v1/hits``: hits raised at ingest, officers' verifications and dispositions, the supervisor's
list of undispositioned hits (TCSO C.2-C.3, IACP C.4-C.5, NYS MPTC C.2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.deps import Authorize, RuntimeDep
from api.errors import COMMON_RESPONSES
from api.purged import PurgedOut, purged_out
from api.schemas_common import copied
from domain.account import Principal
from domain.hit import NOTES_MAX_LENGTH, PERSONAL_FIELDS, Hit

router = APIRouter(prefix="/v1/hits", tags=["hits"], responses=COMMON_RESPONSES)

OutcomeName = Literal["confirmed", "misread", "wrong_state", "not_located", "no_action", "other"]

_HIT_EXAMPLE: dict[str, Any] = {
    "id": "0b6f3c8e-2f7a-4d43-9a55-3f0f6b1f7c11",
    "read_id": "5c1e7d0a-9a4b-4c1e-8f6e-2b9d7a3c4e55",
    "camera_id": "syr-fixed-001",
    "captured_at": "2025-03-03T14:05:09.120000Z",
    "raised_at": "2025-03-03T14:05:09.250000Z",
    "match_kind": "exact",
    "basis": [],
    "hotlist_id": "8d2b1c9f-6e4a-4b7d-9c3e-1a2b3c4d5e6f",
    "entry_id": "3f4e5d6c-7b8a-4c9d-8e1f-2a3b4c5d6e7f",
    "hotlist_source": "ncic",
    "hotlist_name": "NCIC stolen vehicles",
    "reason": "stolen vehicle",
    "case_number": None,
    "read_plate": "ABC1234",
    "read_state": "NY",
    "entry_plate": "ABC1234",
    "entry_state": "NY",
    "verifications": [],
    "disposition": None,
}


class VerifyRequest(BaseModel):
    """What the officer saw when comparing the captured image with the hotlist entry."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"plate_characters_match": True, "state_matches": True, "notes": ""}]
        },
    )

    plate_characters_match: StrictBool = Field(description="Every plate character matches the entry")
    state_matches: StrictBool = Field(description="The state of registration matches the entry")
    notes: str = Field("", max_length=NOTES_MAX_LENGTH)


class DispositionRequest(BaseModel):
    """What came of the hit. "confirmed" needs a passing verification; "other" needs notes."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"outcome": "confirmed", "notes": "vehicle stopped, driver arrested"},
                {"outcome": "other", "notes": "vehicle entered a private garage"},
            ]
        },
    )

    outcome: OutcomeName
    notes: str = Field("", max_length=NOTES_MAX_LENGTH)


class VerificationOut(BaseModel):
    officer_id: UUID
    officer_login: str | None
    plate_characters_match: bool
    state_matches: bool
    notes: str
    at: datetime


class DispositionOut(BaseModel):
    outcome: OutcomeName
    notes: str
    officer_id: UUID
    officer_login: str | None
    at: datetime


class HitOut(BaseModel):
    """A hit. ``read_plate``/``read_state`` are what the camera read, ``entry_plate``/
    ``entry_state`` what the hotlist lists: they differ for a possible match."""

    model_config = ConfigDict(json_schema_extra={"examples": [_HIT_EXAMPLE]})

    id: UUID
    read_id: UUID
    camera_id: str
    captured_at: datetime
    raised_at: datetime
    match_kind: Literal["exact", "possible"]
    basis: list[str] = Field(
        description="Empty for an exact match; why it is only possible otherwise: plate_confusable, "
        "read_without_state, entry_without_state"
    )
    hotlist_id: UUID
    entry_id: UUID
    hotlist_source: str
    hotlist_name: str
    reason: str | None
    case_number: str | None
    read_plate: str | None = Field(description="null once the read is purged")
    read_state: str | None
    entry_plate: str | None = Field(description="null once the read is purged")
    entry_state: str | None
    verifications: list[VerificationOut]
    disposition: DispositionOut | None
    purged: PurgedOut | None = Field(
        None, description="Set when the hit's read was shredded: when, and under which rule and clause"
    )

    @classmethod
    def of(cls, hit: Hit, app: Any = None) -> HitOut:
        record = hit.disposition_record
        gone: dict[str, Any] = {"purged": None}
        if hit.purged:
            gone = {name: None for name in PERSONAL_FIELDS}
            gone["purged"] = purged_out(app, hit.read_id)
        return copied(
            cls,
            hit,
            **gone,
            match_kind=hit.match_kind.value,
            basis=list(hit.basis),
            verifications=[copied(VerificationOut, v) for v in hit.verifications],
            disposition=None
            if record is None
            else copied(DispositionOut, record, outcome=record.outcome.value),
        )


class HitList(BaseModel):
    hits: list[HitOut]


MAX_AGE_S = 10 * 366 * 86_400  # ten years: longer than any retention period

OlderThan = Annotated[
    int | None,
    Query(ge=0, le=MAX_AGE_S, description="Only hits raised at least this many seconds ago (8 hours: 28800)"),
]


def _age(seconds: int | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)


@router.get("", summary="List hits")
def list_hits(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("hits.read")],
    undispositioned: Annotated[
        bool | None, Query(description="true: only hits without a disposition")
    ] = None,
    older_than: OlderThan = None,
    camera_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> HitList:
    """Hits, newest first."""
    hits = runtime.app.list_hits(
        undispositioned=undispositioned, older_than=_age(older_than), camera_id=camera_id, limit=limit
    )
    return HitList(hits=[HitOut.of(h, runtime.app) for h in hits])


# Declared before /{hit_id} so "undispositioned" is not taken for a hit id.
@router.get("/undispositioned", summary="Undispositioned hits older than a shift (supervisors)")
def undispositioned_hits(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("hits.supervise")],
    older_than: OlderThan = None,
) -> HitList:
    """Hits nobody has dispositioned, raised more than a shift ago (the active policy's shift
    unless ``older_than`` is given), oldest first (IACP C.5, TCSO C.3)."""
    return HitList(
        hits=[HitOut.of(h, runtime.app) for h in runtime.app.undispositioned_hits(_age(older_than))]
    )


@router.get("/{hit_id}", summary="One hit")
def get_hit(runtime: RuntimeDep, who: Annotated[Principal, Authorize("hits.read")], hit_id: UUID) -> HitOut:
    return HitOut.of(runtime.app.get_hit(hit_id), runtime.app)


@router.post("/{hit_id}/verify", summary="Record the officer's check of plate characters and state")
def verify_hit(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("hits.act")], hit_id: UUID, body: VerifyRequest
) -> HitOut:
    """Before acting on a hit the officer compares the captured image with the entry: both the
    plate characters and the state of registration (TCSO C.2, IACP C.4.a). Refused (409) once
    the hit has a disposition."""
    hit = runtime.app.verify_hit(
        hit_id,
        officer=who,
        plate_characters_match=body.plate_characters_match,
        state_matches=body.state_matches,
        notes=body.notes,
    )
    return HitOut.of(hit, runtime.app)


@router.post("/{hit_id}/disposition", summary="Record what came of the hit (once)")
def disposition_hit(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("hits.act")],
    hit_id: UUID,
    body: DispositionRequest,
) -> HitOut:
    """IACP C.5: every hit gets a disposition, once (409 after that). "confirmed" is refused
    (403) unless the latest verification found both characters and state matching, where the
    policy requires verification; "other" needs notes (422). The confirming officer must have
    verified the hit themselves (403 ``hit.verification_not_own``; TCSO C.2, IACP C.4)."""
    hit = runtime.app.disposition_hit(hit_id, outcome=body.outcome, notes=body.notes, officer=who)
    return HitOut.of(hit, runtime.app)
