"""``/v1/audit``: compliance checks an auditor runs against the log.

``GET /v1/audit/retention`` recomputes, from the log alone (clear metadata and purge events, never
the key store), whether every record past due under the active profile was shredded on time, and
lists every record or day that was not. The answer holds record ids, days and times, never personal
data, so auditors and privacy officers need no access to plates to run it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import Authorize, RuntimeDep
from api.errors import COMMON_RESPONSES
from domain.account import Principal
from domain.errors import InvalidFieldError
from ops.retention_audit import audit_retention

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=COMMON_RESPONSES)


class RetentionRuleOut(BaseModel):
    rule: str = Field(examples=["read_retention"])
    key: str = Field(description="The case classification for case_retention; empty otherwise")
    period: str = Field(examples=["30 days"], description='In words; "none": not purged by time')
    period_seconds: int | None
    clause: str = Field(examples=["TCSO VII.A"])
    quote: str


class FindingOut(BaseModel):
    kind: str = Field(description="not_shredded, late, early or count_mismatch")
    retention_class: str = Field(examples=["reads"])
    day: str = Field(description="UTC day of capture (reads) or request (searches)", examples=["2026-01-02"])
    record_id: str | None = Field(
        description="The record, when judged on its own (held, on a case, purged by name)"
    )
    record_ids: list[str] = Field(description="The records concerned (empty for a count mismatch)")
    record_count: int
    due_at: str | None = Field(description="When the records fell due; null: not due when shredded")
    shredded_at: str | None
    rule: str = Field(description="The profile rule that set due_at")
    clause: str = Field(description="The profile clause of that rule")
    key_id: str | None = Field(description="The destroyed key of the purge concerned")
    expected_count: int | None = Field(description="count_mismatch: unheld records of the day in the log")
    destroyed_count: int | None = Field(description="count_mismatch: keys the day purge destroyed")
    detail: str


class ClassSummaryOut(BaseModel):
    retention_class: str = Field(examples=["reads"])
    seen: int
    due: int
    shredded: int
    shredded_on_time: int
    findings: int


class RetentionAuditOut(BaseModel):
    """The retention audit; ``ok`` is true when there are no findings."""

    ok: bool
    profile: str = Field(examples=["county-sheriff-2025"])
    rules: list[RetentionRuleOut]
    now: str = Field(description="The instant the audit judged at")
    tolerance_seconds: int = Field(description="Slack after a due time before a record counts as late")
    log_size: int = Field(description="Top notification id audited")
    notifications_read: int
    classes: list[ClassSummaryOut]
    findings: list[FindingOut]


@router.get("/retention", response_model=RetentionAuditOut, summary="Retention audit from the log")
def get_retention_audit(
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("retention.audit")],
    at: Annotated[
        datetime | None,
        Query(
            description="Judge as of this instant (with a UTC offset); default now. Later events are ignored"
        ),
    ] = None,
) -> RetentionAuditOut:
    """Whether every record past due under the active profile was shredded on time, computed from
    the log alone; lists records not shredded, shredded late or early, and day purges whose count of
    destroyed keys differs from the log's count of unheld records."""
    now = None
    if at is not None:
        if at.tzinfo is None or at.utcoffset() is None:
            raise InvalidFieldError("at", "at.naive", "must carry a UTC offset, e.g. 2026-01-02T00:00:00Z")
        try:
            now = at.astimezone(UTC)
        except OverflowError:
            raise InvalidFieldError(
                "at", "at.range", "is outside the range of representable UTC times"
            ) from None
    audit = audit_retention(runtime.app, now=now)
    return RetentionAuditOut.model_validate(audit.as_json())
