"""The ``Hotlist`` aggregate: a list of plates of interest from one source, with its events.

Two kinds of list, told apart by their source:

- imported lists (NCIC, AMBER/missing person, state DMV, another agency): each
  :class:`Hotlist.VersionImported` REPLACES the active set with the file's rows. The event keeps
  the difference to the previous set (entries added, ids of entries removed), so a daily re-import
  of an unchanged file stores no plates again, and an entry keeps its id while its row is unchanged.
- manual lists: officers add entries one by one (:class:`Hotlist.EntryAdded`) with a reason and,
  where the policy says, a case number (TCSO C.4, IACP C.6).

Either kind loses entries by :class:`Hotlist.EntryRemoved` and ends whole by :class:`Hotlist.Expired`.
Entry ids are random uuid4, never derived from a plate. Plates live in the attributes named
``plate`` (of ``EntryAdded`` and of each dict in ``VersionImported.added``) so that the sealing
issue can encrypt exactly those. Entry dates inside the dicts are ISO 8601 strings in UTC.
Values and decisions (validation, import plans, views, staleness) are in ``domain.hotlist_entries``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.errors import ConflictError, NotFoundError
from domain.hotlist_entries import (
    NAME_MAX_LENGTH,
    PROVENANCE_MAX_LENGTH,
    WHY_MAX_LENGTH,
    HotlistEntry,
    HotlistRow,
    HotlistSource,
    HotlistSummary,
    HotlistVersion,
    ImportPlan,
    ManualEntry,
    is_stale,
    iso,
    parse_hotlist_source,
    parse_text,
    plan_import,
)

# --------------------------------------------------------------------------------------------
# Aggregate
# --------------------------------------------------------------------------------------------


class Hotlist(Aggregate):
    """A hotlist and its active entries. Snapshots are not used (entries hold plates)."""

    if TYPE_CHECKING:  # Declared for type checkers only: annotations would make a dataclass.
        name: str
        source: HotlistSource
        provenance: str
        created_by: str
        entries: dict[str, dict[str, Any]]
        versions: list[HotlistVersion]
        expired_at: datetime | None

    class Event(Aggregate.Event):
        """Base class of every event of a Hotlist."""

    @dataclass(frozen=True)  # already made a dataclass by eventsourcing; this informs mypy
    class Created(Event, Aggregate.Created):
        """A hotlist was set up; ``provenance`` says who supplies it and how it arrives."""

        name: str
        source: str
        provenance: str
        actor: str
        actor_id: UUID | None

        def apply(self, aggregate: Hotlist) -> None:
            aggregate.name = self.name
            aggregate.source = HotlistSource(self.source)
            aggregate.provenance = self.provenance
            aggregate.created_by = self.actor
            aggregate.entries = {}
            aggregate.versions = []
            aggregate.expired_at = None

    @dataclass(frozen=True)
    class VersionImported(Event):
        """A file replaced the active set: ``added`` entry dicts (see ENTRY_KEYS) and the ids of
        the ``removed`` ones; ``row_count`` rows were read from the file of digest ``sha256``."""

        version: str
        effective_at: datetime
        imported_at: datetime
        row_count: int
        sha256: str
        file_name: str | None
        added: list[dict[str, Any]]
        removed: list[str]
        actor: str
        actor_id: UUID | None

        def apply(self, aggregate: Hotlist) -> None:
            for entry_id in self.removed:
                aggregate.entries.pop(entry_id, None)
            for entry in self.added:
                aggregate.entries[entry["entry_id"]] = dict(entry)  # a copy: events never change
            aggregate.versions.append(
                HotlistVersion(
                    version=self.version,
                    effective_at=self.effective_at,
                    imported_at=self.imported_at,
                    imported_by=self.actor,
                    row_count=self.row_count,
                    sha256=self.sha256,
                    file_name=self.file_name,
                    added=len(self.added),
                    removed=len(self.removed),
                )
            )

    @dataclass(frozen=True)
    class EntryAdded(Event):
        """A user entered one plate by hand, with the reason and case number they documented."""

        entry_id: str
        plate: str
        state: str | None
        reason: str | None
        case_number: str | None
        expires_at: datetime | None
        actor: str
        actor_id: UUID | None

        def apply(self, aggregate: Hotlist) -> None:
            aggregate.entries[self.entry_id] = {
                "entry_id": self.entry_id,
                "plate": self.plate,
                "state": self.state,
                "reason": self.reason,
                "case_number": self.case_number,
                "effective_at": None,
                "expires_at": iso(self.expires_at),
            }

    @dataclass(frozen=True)
    class EntryRemoved(Event):
        entry_id: str
        why: str
        actor: str
        actor_id: UUID | None

        def apply(self, aggregate: Hotlist) -> None:
            aggregate.entries.pop(self.entry_id, None)

    @dataclass(frozen=True)
    class Expired(Event):
        """The whole list stopped being used; its entries match nothing from now on."""

        why: str
        actor: str
        actor_id: UUID | None

        def apply(self, aggregate: Hotlist) -> None:
            aggregate.expired_at = self.timestamp
            aggregate.entries = {}

    # -- commands ------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        name: object,
        source: object,
        *,
        provenance: object,
        actor: str,
        actor_id: UUID | None,
        now: datetime,
    ) -> Hotlist:
        checked_name = parse_text(name, "name", max_length=NAME_MAX_LENGTH, rule_prefix="hotlist.name")
        checked_source = parse_hotlist_source(source)
        checked_provenance = parse_text(
            provenance, "provenance", max_length=PROVENANCE_MAX_LENGTH, rule_prefix="hotlist.provenance"
        )
        return cls._create(
            cls.Created,
            id=uuid4(),
            timestamp=now,
            name=checked_name,
            source=checked_source.value,
            provenance=checked_provenance,
            actor=actor,
            actor_id=actor_id,
        )

    def _check_open(self) -> None:
        if self.expired_at is not None:
            raise ConflictError(
                "hotlist_id", "hotlist.expired", f"hotlist '{self.name}' has expired and cannot change"
            )

    def import_version(
        self,
        rows: Sequence[HotlistRow],
        *,
        version: str,
        sha256: str,
        row_count: int,
        effective_at: datetime,
        file_name: str | None,
        actor: str,
        actor_id: UUID | None,
        now: datetime,
    ) -> ImportPlan:
        """Replace the active set with ``rows``; returns what changed."""
        self._check_open()
        if not self.source.imported:
            raise ConflictError(
                "hotlist_id",
                "hotlist.source.manual",
                "a manual hotlist takes entries one by one (with reason and case number), not files",
            )
        if any(v.version == version for v in self.versions):
            raise ConflictError(
                "version", "hotlist.version.duplicate", f"version '{version}' was already imported"
            )
        plan = plan_import(self.entries, rows)
        self.trigger_event(
            self.VersionImported,
            timestamp=now,
            version=version,
            effective_at=effective_at,
            imported_at=now,
            row_count=row_count,
            sha256=sha256,
            file_name=file_name,
            added=plan.added,
            removed=plan.removed,
            actor=actor,
            actor_id=actor_id,
        )
        return plan

    def add_entry(self, entry: ManualEntry, *, actor: str, actor_id: UUID | None, now: datetime) -> UUID:
        self._check_open()
        if self.source.imported:
            raise ConflictError(
                "hotlist_id",
                "hotlist.source.imported",
                f"hotlist '{self.name}' is imported from {self.source.value}; add manual entries to a "
                "manual hotlist so every hit shows its true source",
            )
        entry_id = uuid4()
        self.trigger_event(
            self.EntryAdded,
            timestamp=now,
            entry_id=str(entry_id),
            plate=entry.plate,
            state=entry.state,
            reason=entry.reason,
            case_number=entry.case_number,
            expires_at=entry.expires_at,
            actor=actor,
            actor_id=actor_id,
        )
        return entry_id

    def remove_entry(
        self, entry_id: UUID, *, why: object, actor: str, actor_id: UUID | None, now: datetime
    ) -> None:
        self._check_open()
        checked_why = parse_text(why, "why", max_length=WHY_MAX_LENGTH, rule_prefix="hotlist.why")
        if str(entry_id) not in self.entries:
            raise NotFoundError(
                "entry_id", "hotlist.entry.unknown", "no active entry with this id on this hotlist"
            )
        self.trigger_event(
            self.EntryRemoved,
            timestamp=now,
            entry_id=str(entry_id),
            why=checked_why,
            actor=actor,
            actor_id=actor_id,
        )

    def expire(self, *, why: object, actor: str, actor_id: UUID | None, now: datetime) -> None:
        self._check_open()
        checked_why = parse_text(why, "why", max_length=WHY_MAX_LENGTH, rule_prefix="hotlist.why")
        self.trigger_event(self.Expired, timestamp=now, why=checked_why, actor=actor, actor_id=actor_id)

    # -- views ---------------------------------------------------------------------------------

    @property
    def last_imported_at(self) -> datetime | None:
        return self.versions[-1].imported_at if self.versions else None

    def summary(self, *, now: datetime, shift: timedelta) -> HotlistSummary:
        return HotlistSummary(
            hotlist_id=self.id,
            name=self.name,
            source=self.source,
            provenance=self.provenance,
            created_by=self.created_by,
            created_at=self.created_on,
            current_version=self.versions[-1].version if self.versions else None,
            last_imported_at=self.last_imported_at,
            entry_count=len(self.entries),
            expired_at=self.expired_at,
            stale=is_stale(self.source, self.last_imported_at, self.expired_at, now=now, shift=shift),
        )

    def active_entries(self) -> list[HotlistEntry]:
        return [HotlistEntry.from_dict(entry) for entry in self.entries.values()]


HOTLIST_EVENT_CLASSES: tuple[type[Hotlist.Event], ...] = (
    Hotlist.Created,
    Hotlist.VersionImported,
    Hotlist.EntryAdded,
    Hotlist.EntryRemoved,
    Hotlist.Expired,
)


__all__ = ["HOTLIST_EVENT_CLASSES", "Hotlist"]
