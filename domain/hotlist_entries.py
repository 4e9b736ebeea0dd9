"""Hotlist values and decisions: sources, entry fields, import plans, views and staleness (pure).

The :class:`~domain.hotlist.Hotlist` aggregate and its events live in ``domain.hotlist``; what
they check and compute lives here so that tests call the decisions directly, and the CSV parser
(``ops.hotlist_csv``) and the matcher (``domain.matching``) share them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from domain.errors import InvalidFieldError
from domain.values import (
    OPTIONAL_TEXT_PATTERN,
    TEXT_PATTERN,
    PlateText,
    StateCode,
    parse_optional_text,
    parse_text,
    to_utc,
)

NAME_MAX_LENGTH = 100
PROVENANCE_MAX_LENGTH = 500
REASON_MAX_LENGTH = 200
CASE_NUMBER_MAX_LENGTH = 64
VERSION_MAX_LENGTH = 64
WHY_MAX_LENGTH = 500


class HotlistSource(StrEnum):
    """Where a hotlist's entries come from (IACP III and TCSO definitions of "hot list")."""

    NCIC = "ncic"
    AMBER = "amber"
    """AMBER alerts and missing persons / vulnerable adults."""
    STATE_DMV = "state_dmv"
    MANUAL = "manual"
    """Entered by users one plate at a time."""
    OTHER_AGENCY = "other_agency"

    @property
    def imported(self) -> bool:
        """Entries arrive as whole versions (files), not one by one."""
        return self is not HotlistSource.MANUAL


def parse_hotlist_source(raw: object) -> HotlistSource:
    if isinstance(raw, str):
        try:
            return HotlistSource(raw.strip().lower())
        except ValueError:
            pass
    allowed = ", ".join(s.value for s in HotlistSource)
    raise InvalidFieldError("source", "hotlist.source.unknown", f"must be one of: {allowed}")


def parse_reason(raw: object, *, required: bool, field: str = "reason") -> str | None:
    """The reason or category of an entry; ``required`` comes from the policy profile."""
    reason = parse_optional_text(raw, field, max_length=REASON_MAX_LENGTH, rule_prefix="hotlist.reason")
    if reason is None and required:
        raise InvalidFieldError(
            field,
            "hotlist.reason.required",
            "is required: document why this plate is on the hotlist (IACP C.6, TCSO C.4)",
        )
    return reason


def parse_case_number(raw: object, *, required: bool, field: str = "case_number") -> str | None:
    """The case number of an entry; ``required`` comes from the policy profile."""
    case_number = parse_optional_text(
        raw, field, max_length=CASE_NUMBER_MAX_LENGTH, rule_prefix="hotlist.case_number"
    )
    if case_number is None and required:
        raise InvalidFieldError(
            field,
            "hotlist.case_number.required",
            "is required by the active policy for a manually entered plate (TCSO C.4)",
        )
    return case_number


def parse_aware_time(raw: object, field: str) -> datetime:
    """A timezone-aware date-time, returned in UTC."""
    if not isinstance(raw, datetime):
        raise InvalidFieldError(field, f"{field}.type", "must be a date-time with a UTC offset")
    return to_utc(raw, field=field, rule=field)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def from_iso(raw: str | None) -> datetime | None:
    """The inverse of :func:`iso`: an instant as stored in an entry, or None."""
    return None if raw is None else datetime.fromisoformat(raw)


# --------------------------------------------------------------------------------------------
# Entries and import plans
# --------------------------------------------------------------------------------------------

ENTRY_KEYS: tuple[str, ...] = (
    "entry_id",
    "plate",
    "state",
    "reason",
    "case_number",
    "effective_at",
    "expires_at",
)
"""Keys of an entry dict as events store it (dates as ISO 8601 strings or None)."""


@dataclass(frozen=True, slots=True)
class HotlistRow:
    """One validated row of an imported file; ``line`` is its line number in the file."""

    plate: str
    state: str | None
    reason: str
    case_number: str | None
    effective_at: datetime | None
    expires_at: datetime | None
    line: int = 0

    def identity(self) -> tuple[str | None, ...]:
        """What makes two rows the same entry across versions (everything but the line)."""
        return (
            self.plate,
            self.state,
            self.reason,
            self.case_number,
            iso(self.effective_at),
            iso(self.expires_at),
        )

    def as_entry(self, entry_id: UUID) -> dict[str, Any]:
        return {
            "entry_id": str(entry_id),
            "plate": self.plate,
            "state": self.state,
            "reason": self.reason,
            "case_number": self.case_number,
            "effective_at": iso(self.effective_at),
            "expires_at": iso(self.expires_at),
        }


def entry_identity(entry: Mapping[str, Any]) -> tuple[str | None, ...]:
    return (
        entry["plate"],
        entry["state"],
        entry["reason"],
        entry["case_number"],
        entry["effective_at"],
        entry["expires_at"],
    )


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """How a new version changes the active set."""

    added: list[dict[str, Any]]
    removed: list[str]
    unchanged: int
    duplicates: int
    """Rows identical to an earlier row of the same file (kept once)."""


def plan_import(current: Mapping[str, Mapping[str, Any]], rows: Iterable[HotlistRow]) -> ImportPlan:
    """The difference between the active entries ``current`` (by entry id) and the file's rows.

    A row identical to an active entry keeps that entry (and its id); other rows become new
    entries with random ids; active entries with no identical row are removed.
    """
    by_identity: dict[tuple[str | None, ...], str] = {
        entry_identity(entry): entry_id for entry_id, entry in current.items()
    }
    seen: set[tuple[str | None, ...]] = set()
    kept: set[str] = set()
    added: list[dict[str, Any]] = []
    duplicates = 0
    for row in rows:
        identity = row.identity()
        if identity in seen:
            duplicates += 1
            continue
        seen.add(identity)
        existing = by_identity.get(identity)
        if existing is not None:
            kept.add(existing)
        else:
            added.append(row.as_entry(uuid4()))
    removed = [entry_id for entry_id in current if entry_id not in kept]
    return ImportPlan(added=added, removed=removed, unchanged=len(kept), duplicates=duplicates)


@dataclass(frozen=True, slots=True)
class ManualEntry:
    """A validated manual entry (the command's input after the policy's checks)."""

    plate: str
    state: str | None
    reason: str | None
    case_number: str | None
    expires_at: datetime | None


def validate_manual_entry(
    plate: object,
    state: object,
    *,
    reason: object,
    case_number: object,
    expires_at: object,
    now: datetime,
    require_reason: bool,
    require_case_number: bool,
) -> ManualEntry:
    """Check a manual entry in field order; ``require_*`` come from the active policy profile."""
    plate_text = PlateText(plate).value  # type: ignore[arg-type]  # PlateText checks the type
    state_code = None if state is None or state == "" else StateCode(state).value  # type: ignore[arg-type]
    checked_reason = parse_reason(reason, required=require_reason)
    checked_case = parse_case_number(case_number, required=require_case_number)
    expiry = None
    if expires_at is not None:
        expiry = parse_aware_time(expires_at, "expires_at")
        if expiry <= now:
            raise InvalidFieldError("expires_at", "expires_at.past", "must lie in the future")
    return ManualEntry(plate_text, state_code, checked_reason, checked_case, expiry)


# --------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HotlistEntry:
    """An active entry as callers see it."""

    entry_id: UUID
    plate: str
    state: str | None
    reason: str | None
    case_number: str | None
    effective_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> HotlistEntry:
        return cls(
            entry_id=UUID(entry["entry_id"]),
            plate=entry["plate"],
            state=entry["state"],
            reason=entry["reason"],
            case_number=entry["case_number"],
            effective_at=from_iso(entry["effective_at"]),
            expires_at=from_iso(entry["expires_at"]),
        )


@dataclass(frozen=True, slots=True)
class HotlistVersion:
    """One imported version, as recorded (no plates)."""

    version: str
    effective_at: datetime
    imported_at: datetime
    imported_by: str
    row_count: int
    sha256: str
    file_name: str | None
    added: int
    removed: int


@dataclass(frozen=True, slots=True)
class HotlistSummary:
    hotlist_id: UUID
    name: str
    source: HotlistSource
    provenance: str
    created_by: str
    created_at: datetime
    current_version: str | None
    last_imported_at: datetime | None
    entry_count: int
    expired_at: datetime | None
    stale: bool
    """An imported list not refreshed within a shift (IACP C.3); never true for manual lists."""


@dataclass(frozen=True, slots=True)
class HotlistWarning:
    hotlist_id: UUID
    name: str
    rule: str
    message: str
    last_imported_at: datetime | None


def is_stale(
    source: HotlistSource,
    last_imported_at: datetime | None,
    expired_at: datetime | None,
    *,
    now: datetime,
    shift: timedelta,
) -> bool:
    """IACP C.3: at the start of each shift the hotlists must be the most current available.

    An imported list is stale when it was never imported or its last import is more than one
    ``shift`` before ``now``. Manual lists are current by construction; expired lists no longer
    matter.
    """
    if not source.imported or expired_at is not None:
        return False
    return last_imported_at is None or now - last_imported_at > shift


def staleness_warning(summary: HotlistSummary, *, now: datetime, shift: timedelta) -> HotlistWarning | None:
    if not summary.stale:
        return None
    if summary.last_imported_at is None:
        message = f"hotlist '{summary.name}' has never been imported; load its current version"
    else:
        hours = (now - summary.last_imported_at) / timedelta(hours=1)
        message = (
            f"hotlist '{summary.name}' was last imported {hours:.1f} hours ago, more than one shift "
            f"({shift / timedelta(hours=1):g} hours); load the most current version (IACP C.3)"
        )
    return HotlistWarning(
        summary.hotlist_id, summary.name, "hotlist.stale", message, summary.last_imported_at
    )


__all__ = [
    "CASE_NUMBER_MAX_LENGTH",
    "ENTRY_KEYS",
    "NAME_MAX_LENGTH",
    "OPTIONAL_TEXT_PATTERN",
    "PROVENANCE_MAX_LENGTH",
    "REASON_MAX_LENGTH",
    "TEXT_PATTERN",
    "VERSION_MAX_LENGTH",
    "WHY_MAX_LENGTH",
    "HotlistEntry",
    "HotlistRow",
    "HotlistSource",
    "HotlistSummary",
    "HotlistVersion",
    "HotlistWarning",
    "ImportPlan",
    "ManualEntry",
    "entry_identity",
    "from_iso",
    "is_stale",
    "iso",
    "parse_aware_time",
    "parse_case_number",
    "parse_hotlist_source",
    "parse_optional_text",
    "parse_reason",
    "parse_text",
    "plan_import",
    "staleness_warning",
    "validate_manual_entry",
]
