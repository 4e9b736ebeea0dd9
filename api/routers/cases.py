"""``/v1/cases``: open a case, attach reads, close it with its final classification.

Classifications are those of the active profile's case-retention schedule (``alpr-ledger policy
show``); the final classification decides how long the case's records are kept once it is closed.
A closed case takes no more reads and no new searches under its number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Authorize, RuntimeDep
from api.errors import COMMON_RESPONSES
from api.schemas_common import copied
from domain.account import Principal
from domain.case import CASE_NUMBER_PATTERN, MAX_ATTACH, TITLE_MAX_LENGTH
from domain.hotlist_entries import TEXT_PATTERN
from ops.commands.cases import CaseView

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses=COMMON_RESPONSES)

CaseNumber = Annotated[
    str,
    Path(
        description="Case number (compared case-insensitively)",
        pattern=CASE_NUMBER_PATTERN,
        examples=["25-004211"],
    ),
]


class CaseCreate(BaseModel):
    """Open a case. ``number`` is unique (409 ``case.exists``); ``classification`` must be one of
    the active profile's case-retention classifications (422 ``case.classification.unknown``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"number": "25-004211", "classification": "other_felony", "title": "Burglary, 12 Elm St"}
            ]
        },
    )

    number: str = Field(
        description="1-64 letters, digits and . _ : # -", json_schema_extra={"pattern": CASE_NUMBER_PATTERN}
    )
    classification: str = Field(description="e.g. homicide, other_felony, misdemeanor, violation")
    title: str = Field(json_schema_extra={"maxLength": TITLE_MAX_LENGTH, "pattern": TEXT_PATTERN})


class AttachReads(BaseModel):
    """Reads to attach; every id must name a stored read (422 ``case.read.unknown``), and the
    case must be open (409 ``case.closed``). Ids already attached are ignored."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"read_ids": ["7bc69250-5965-448c-8bba-8c382d09c7e8"]}]},
    )

    read_ids: list[UUID] = Field(min_length=1, max_length=MAX_ATTACH)


class CloseCase(BaseModel):
    """Close an open case (409 ``case.closed`` if it already is) with its final classification."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"final_classification": "misdemeanor"}]}
    )

    final_classification: str = Field(description="A case-retention classification of the active profile")


class CaseOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "case_id": "33a16879-c707-5147-bcf7-20f98414d7fa",
                    "number": "25-004211",
                    "classification": "other_felony",
                    "title": "Burglary, 12 Elm St",
                    "opened_by": "inv.smith",
                    "opened_at": "2025-03-03T10:00:00Z",
                    "read_ids": ["7bc69250-5965-448c-8bba-8c382d09c7e8"],
                    "closed": False,
                    "final_classification": None,
                    "closed_by": None,
                    "closed_at": None,
                }
            ]
        }
    )

    case_id: UUID
    number: str
    classification: str
    title: str
    opened_by: str
    opened_at: datetime
    read_ids: list[UUID]
    closed: bool
    final_classification: str | None
    closed_by: str | None
    closed_at: datetime | None

    @classmethod
    def of(cls, v: CaseView) -> CaseOut:
        return copied(cls, v)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CaseOut, summary="Open a case")
def open_case(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("cases.manage")], body: CaseCreate
) -> CaseOut:
    return CaseOut.of(runtime.app.open_case(body.number, body.classification, body.title, actor=who))


@router.get("/{number}", response_model=CaseOut, summary="One case by its number")
def get_case(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("cases.read")], number: CaseNumber
) -> CaseOut:
    return CaseOut.of(runtime.app.find_case(number))


@router.post("/{number}/reads", response_model=CaseOut, summary="Attach stored reads to an open case")
def attach_reads(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("cases.manage")],
    number: CaseNumber,
    body: AttachReads,
) -> CaseOut:
    return CaseOut.of(runtime.app.attach_reads(number, body.read_ids, actor=who))


@router.post("/{number}/close", response_model=CaseOut, summary="Close a case with its final classification")
def close_case(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("cases.manage")],
    number: CaseNumber,
    body: CloseCase,
) -> CaseOut:
    return CaseOut.of(runtime.app.close_case(number, body.final_classification, actor=who))
