"""``/v1/hotlists``: hotlists by source, CSV imports, manual entries, removal, expiry, staleness.

Imports take the file as the raw request body (``Content-Type: text/csv``) or as the part named
``file`` of a ``multipart/form-data`` upload; ``?version=`` labels the version. A file with any
error is refused whole (422, each error naming "line N.field"). Manual entries need a reason and,
where the active policy says, a case number (TCSO C.4, IACP C.6). The list warns about imported
hotlists not refreshed within a shift (IACP C.3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile  # what request.form() yields (FastAPI's subclasses it)
from starlette.exceptions import HTTPException

from api.deps import Authorize, RuntimeDep
from api.errors import COMMON_RESPONSES
from api.schemas_common import copied, text_rules
from domain.account import Principal
from domain.errors import InvalidFieldError
from domain.hotlist_entries import (
    CASE_NUMBER_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PROVENANCE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    VERSION_MAX_LENGTH,
    WHY_MAX_LENGTH,
    HotlistEntry,
    HotlistSummary,
    HotlistVersion,
    HotlistWarning,
)
from domain.values import ISSUING_JURISDICTIONS, PLATE_MAX_LENGTH
from ops.commands.hotlists import ImportResult

router = APIRouter(prefix="/v1/hotlists", tags=["hotlists"], responses=COMMON_RESPONSES)

MAX_UPLOAD_BYTES = 64 * 1024 * 1024
"""Largest hotlist file accepted (a 500,000-row NCIC extract is about 30 MB)."""
CSV_MEDIA_TYPES = frozenset({"text/csv", "text/plain", "application/csv", "text/tab-separated-values"})

# The schema states the domain's rules (the domain enforces them, with its own rule codes), so
# clients and schemathesis see exactly what is accepted.
PLATE_PATTERN = rf"^[ .\-]*(?:[A-Za-z0-9][ .\-]*){{1,{PLATE_MAX_LENGTH}}}$"
STATE_PATTERN = (
    "^(?:|"
    + "|".join(f"[{c[0]}{c[0].lower()}][{c[1]}{c[1].lower()}]" for c in sorted(ISSUING_JURISDICTIONS))
    + ")$"
)


SourceName = Literal["ncic", "amber", "state_dmv", "manual", "other_agency"]

_HOTLIST_EXAMPLE: dict[str, Any] = {
    "hotlist_id": "8d2b1c9f-6e4a-4b7d-9c3e-1a2b3c4d5e6f",
    "name": "NCIC stolen vehicles",
    "source": "ncic",
    "provenance": "NCIC extract via the state message switch, pulled at 06:00 daily",
    "created_by": "admin.jones",
    "created_at": "2025-03-01T06:00:00Z",
    "current_version": "2025-03-03T06:00",
    "last_imported_at": "2025-03-03T06:02:11Z",
    "entry_count": 48210,
    "expired_at": None,
    "stale": False,
}
_CSV_EXAMPLE = (
    "plate,state,reason,effective,expiry,case_number\n"
    "ABC1234,NY,stolen vehicle,2025-03-01,2025-06-30,\n"
    "XYZ987,NJ,stolen plate,3/1/2025,,24-000123\n"
)


# --------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------


class HotlistCreate(BaseModel):
    """A new, empty hotlist. Imported sources (all but ``manual``) are fed whole versions from
    files; a ``manual`` hotlist takes entries one at a time."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "NCIC stolen vehicles",
                    "source": "ncic",
                    "provenance": "NCIC extract via the state message switch, pulled at 06:00 daily",
                },
                {"name": "Patrol manual entries", "source": "manual", "provenance": "entered by officers"},
            ]
        },
    )

    name: str = Field(description="1 to 100 characters", json_schema_extra=text_rules(NAME_MAX_LENGTH))
    source: SourceName = Field(description="amber covers AMBER alerts and missing persons")
    provenance: str = Field(
        description="Who supplies the list and how it arrives (1 to 500 characters)",
        json_schema_extra=text_rules(PROVENANCE_MAX_LENGTH),
    )


class ManualEntryCreate(BaseModel):
    """One plate entered by hand. ``reason`` is required (IACP C.6, TCSO C.4); ``case_number`` is
    required when the active policy says so. ``expires_at`` (with UTC offset) ends the entry."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "plate": "ABC1234",
                    "state": "NY",
                    "reason": "vehicle seen leaving burglary at 12 Elm St",
                    "case_number": "25-004211",
                    "expires_at": "2025-04-01T00:00:00Z",
                }
            ]
        },
    )

    plate: str = Field(
        description="Up to 8 letters and digits; spaces, hyphens and dots are removed",
        json_schema_extra={"pattern": PLATE_PATTERN},
    )
    state: str | None = Field(
        None,
        description="Two-letter code; omit to match any state (possible hits)",
        json_schema_extra={"pattern": STATE_PATTERN},
    )
    reason: str | None = Field(None, json_schema_extra=text_rules(REASON_MAX_LENGTH, optional=True))
    case_number: str | None = Field(None, json_schema_extra=text_rules(CASE_NUMBER_MAX_LENGTH, optional=True))
    expires_at: datetime | None = Field(None, description="In the future, with a UTC offset")


class WhyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"why": "vehicle recovered"}]})

    why: str = Field(
        description="Why, for the record (1 to 500 characters)", json_schema_extra=text_rules(WHY_MAX_LENGTH)
    )


class HotlistOut(BaseModel):
    """A hotlist. ``stale``: an imported hotlist not refreshed within one shift (IACP C.3)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_HOTLIST_EXAMPLE]})

    hotlist_id: UUID
    name: str
    source: SourceName
    provenance: str
    created_by: str
    created_at: datetime
    current_version: str | None
    last_imported_at: datetime | None
    entry_count: int = Field(description="Active entries (entries past their expiry date included)")
    expired_at: datetime | None
    stale: bool

    @classmethod
    def of(cls, summary: HotlistSummary) -> HotlistOut:
        return copied(cls, summary, source=summary.source.value)


class WarningOut(BaseModel):
    hotlist_id: UUID
    name: str
    rule: str = Field(examples=["hotlist.stale"])
    message: str
    last_imported_at: datetime | None

    @classmethod
    def of(cls, warning: HotlistWarning) -> WarningOut:
        return copied(cls, warning)


class HotlistListOut(BaseModel):
    hotlists: list[HotlistOut]
    warnings: list[WarningOut] = Field(description="Imported hotlists older than a shift (IACP C.3)")


class VersionOut(BaseModel):
    version: str
    effective_at: datetime
    imported_at: datetime
    imported_by: str
    row_count: int
    sha256: str = Field(description="SHA-256 (hex) of the file as received")
    file_name: str | None
    added: int
    removed: int

    @classmethod
    def of(cls, version: HotlistVersion) -> VersionOut:
        return copied(cls, version)


class HotlistDetailOut(HotlistOut):
    versions: list[VersionOut]


class EntryOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entry_id": "3f4e5d6c-7b8a-4c9d-8e1f-2a3b4c5d6e7f",
                    "plate": "ABC1234",
                    "state": "NY",
                    "reason": "stolen vehicle",
                    "case_number": None,
                    "effective_at": "2025-03-01T00:00:00Z",
                    "expires_at": "2025-07-01T00:00:00Z",
                }
            ]
        }
    )

    entry_id: UUID
    plate: str
    state: str | None
    reason: str | None
    case_number: str | None
    effective_at: datetime | None
    expires_at: datetime | None = Field(description="The entry stops matching at this instant")

    @classmethod
    def of(cls, entry: HotlistEntry) -> EntryOut:
        return copied(cls, entry)


class EntriesPage(BaseModel):
    hotlist_id: UUID
    total: int
    offset: int
    limit: int
    entries: list[EntryOut]


class EntryCreatedOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "hotlist_id": "8d2b1c9f-6e4a-4b7d-9c3e-1a2b3c4d5e6f",
                    "entry_id": "3f4e5d6c-7b8a-4c9d-8e1f-2a3b4c5d6e7f",
                }
            ]
        }
    )

    hotlist_id: UUID
    entry_id: UUID


class ImportResultOut(BaseModel):
    """What an import did. Rows identical to an active entry keep it (and its id)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "hotlist_id": "8d2b1c9f-6e4a-4b7d-9c3e-1a2b3c4d5e6f",
                    "version": "2025-03-03T06:00",
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "row_count": 48213,
                    "added": 212,
                    "removed": 198,
                    "unchanged": 47998,
                    "duplicates": 3,
                    "entry_count": 48210,
                    "delimiter": ",",
                    "columns": {"plate": "Plate", "state": "ST", "reason": "Category"},
                    "ignored_columns": ["Make"],
                }
            ]
        }
    )

    hotlist_id: UUID
    version: str
    sha256: str
    row_count: int
    added: int
    removed: int
    unchanged: int
    duplicates: int = Field(description="Rows identical to an earlier row of the same file")
    entry_count: int
    delimiter: str
    columns: dict[str, str] = Field(description="Recognised column -> header as written in the file")
    ignored_columns: list[str]

    @classmethod
    def of(cls, result: ImportResult) -> ImportResultOut:
        return copied(cls, result)


# --------------------------------------------------------------------------------------------
# The uploaded file
# --------------------------------------------------------------------------------------------


class CsvUpload:
    def __init__(self, data: bytes, file_name: str | None) -> None:
        self.data = data
        self.file_name = file_name


def _too_large() -> InvalidFieldError:
    return InvalidFieldError(
        "file", "hotlist.file.size", f"is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB; split it"
    )


async def csv_upload(request: Request) -> CsvUpload:
    """The file from a text/csv body or from the ``file`` part of a multipart/form-data body."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=20)
        except HTTPException as exc:  # malformed multipart, too many parts
            raise InvalidFieldError("file", "hotlist.file.multipart", str(exc.detail)) from None
        part = form.get("file")
        if isinstance(part, UploadFile):
            if part.size is not None and part.size > MAX_UPLOAD_BYTES:
                raise _too_large()
            return CsvUpload(await part.read(), part.filename)
        if isinstance(part, str):  # a form field rather than a file: take its text
            return CsvUpload(part.encode("utf-8"), None)
        raise InvalidFieldError(
            "file", "hotlist.file.required", "send the CSV as the multipart part named 'file'"
        )
    if media and media not in CSV_MEDIA_TYPES:
        raise InvalidFieldError(
            "content-type",
            "hotlist.file.content_type",
            "send the file as text/csv (raw body) or as multipart/form-data with a part named 'file'",
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return CsvUpload(b"".join(chunks), None)


_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The hotlist file: a header row naming plate, state, reason (aliases such as "
        "plate_number/lic, st/region, category/alert_type are recognised; effective, expiry and "
        "case_number are optional), then one entry per row. Comma, semicolon or TAB delimited; "
        "dates ISO (2025-03-01) or US (3/1/2025), expiry inclusive, UTC.",
        "content": {
            "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


# --------------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, response_model=HotlistOut, summary="Create a hotlist")
def create_hotlist(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("hotlists.manage")], body: HotlistCreate
) -> HotlistOut:
    app = runtime.app
    hotlist_id = app.create_hotlist(body.name, body.source, provenance=body.provenance, actor=who)
    return HotlistOut.of(app.get_hotlist(hotlist_id).summary)


@router.get("", response_model=HotlistListOut, summary="Every hotlist, with staleness warnings")
def list_hotlists(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("hotlists.read")]
) -> HotlistListOut:
    app = runtime.app
    return HotlistListOut(
        hotlists=[HotlistOut.of(s) for s in app.list_hotlists()],
        warnings=[WarningOut.of(w) for w in app.hotlist_warnings()],
    )


@router.get("/{hotlist_id}", response_model=HotlistDetailOut, summary="One hotlist and its imported versions")
def get_hotlist(
    runtime: RuntimeDep, who: Annotated[Principal, Authorize("hotlists.read")], hotlist_id: UUID
) -> HotlistDetailOut:
    detail = runtime.app.get_hotlist(hotlist_id)
    return HotlistDetailOut(
        **HotlistOut.of(detail.summary).model_dump(), versions=[VersionOut.of(v) for v in detail.versions]
    )


@router.get("/{hotlist_id}/entries", response_model=EntriesPage, summary="Active entries of a hotlist")
def list_entries(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("hotlists.read")],
    hotlist_id: UUID,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EntriesPage:
    entries = runtime.app.get_hotlist(hotlist_id).entries
    page = entries[offset : offset + limit]
    return EntriesPage(
        hotlist_id=hotlist_id,
        total=len(entries),
        offset=offset,
        limit=limit,
        entries=[EntryOut.of(e) for e in page],
    )


@router.post(
    "/{hotlist_id}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportResultOut,
    summary="Import a new version from a CSV file (replaces the active entries)",
    openapi_extra=_IMPORT_BODY,
)
def import_version(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("hotlists.manage")],
    hotlist_id: UUID,
    upload: Annotated[CsvUpload, Depends(csv_upload)],
    version: Annotated[
        str,
        Query(
            description="Label of this version, unique per hotlist",
            examples=["2025-03-03T06:00"],
            json_schema_extra=text_rules(VERSION_MAX_LENGTH),
        ),
    ],
    effective_at: Annotated[
        datetime | None, Query(description="When the source issued it; defaults to now")
    ] = None,
) -> ImportResultOut:
    result = runtime.app.import_hotlist_csv(
        hotlist_id,
        upload.data,
        version=version,
        actor=who,
        effective_at=effective_at,
        file_name=upload.file_name,
    )
    return ImportResultOut.of(result)


@router.post(
    "/{hotlist_id}/entries",
    status_code=status.HTTP_201_CREATED,
    response_model=EntryCreatedOut,
    summary="Enter one plate by hand (manual hotlists)",
)
def add_manual_entry(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("hotlists.manual_entry")],
    hotlist_id: UUID,
    body: ManualEntryCreate,
) -> EntryCreatedOut:
    entry_id = runtime.app.add_manual_entry(
        hotlist_id,
        body.plate,
        body.state,
        reason=body.reason,
        case_number=body.case_number,
        actor=who,
        expires_at=body.expires_at,
    )
    return EntryCreatedOut(hotlist_id=hotlist_id, entry_id=entry_id)


@router.post(
    "/{hotlist_id}/entries/{entry_id}/remove",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Take one entry off a hotlist",
)
def remove_entry(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("hotlists.manage")],
    hotlist_id: UUID,
    entry_id: UUID,
    body: WhyRequest,
) -> Response:
    runtime.app.remove_entry(hotlist_id, entry_id, why=body.why, actor=who)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{hotlist_id}/expire", response_model=HotlistOut, summary="End a whole hotlist")
def expire_hotlist(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("hotlists.manage")],
    hotlist_id: UUID,
    body: WhyRequest,
) -> HotlistOut:
    app = runtime.app
    app.expire_hotlist(hotlist_id, why=body.why, actor=who)
    return HotlistOut.of(app.get_hotlist(hotlist_id).summary)
