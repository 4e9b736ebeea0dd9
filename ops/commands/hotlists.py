"""Hotlists: created by source, imported as whole versions from CSV, manual entries, the matcher.

Every change is a :class:`~domain.hotlist.Hotlist` event saved through ``self.save``. What the
matcher and the hotlist list need (the active entries of every hotlist, each hotlist's summary)
is a :class:`~domain.matching.HotlistCatalog` kept in memory and brought up to date from the
notification log on each use, so entries saved by another process are seen on its next call.
Each refresh costs two short queries when nothing changed: the log's last position, and the
hotlist events between the last position seen and it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.account import Principal
from domain.errors import ConflictError, InvalidFieldError, NotFoundError
from domain.hotlist import HOTLIST_EVENT_CLASSES, Hotlist
from domain.hotlist_entries import (
    VERSION_MAX_LENGTH,
    HotlistEntry,
    HotlistSummary,
    HotlistVersion,
    HotlistWarning,
    parse_aware_time,
    parse_text,
    staleness_warning,
    validate_manual_entry,
)
from domain.matching import HotlistCatalog, HotlistIndex, Match
from ops.commands.base import CommandsBase
from ops.commands.loading import find_aggregate
from ops.hotlist_csv import parse_hotlist_csv

HOTLIST_TOPICS: tuple[str, ...] = tuple(get_topic(cls) for cls in HOTLIST_EVENT_CLASSES)
"""Topics of every Hotlist event, as stored: ``domain.hotlist:Hotlist.Created`` and so on."""

_REFRESH_PAGE = 100  # notifications per query; one imported version may hold 100,000 entries

Actor = Principal | UUID | str | None
"""Who acts: the caller's Principal (API), an account id, or a label such as "cli:alice"."""


def actor_fields(actor: Actor) -> tuple[str, UUID | None]:
    """(name recorded in the event, account id if known)."""
    if isinstance(actor, Principal):
        return actor.login, actor.account_id
    if isinstance(actor, UUID):
        return str(actor), actor
    return ("system" if actor is None else str(actor)), None


def parse_uuid(raw: object, field: str) -> UUID:
    if isinstance(raw, UUID):
        return raw
    try:
        return UUID(str(raw))
    except ValueError:
        raise InvalidFieldError(field, f"{field}.format", "must be a UUID") from None


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one import did: the version recorded and how the active set changed."""

    hotlist_id: UUID
    version: str
    sha256: str
    row_count: int
    """Entry rows in the file (blank lines not counted)."""
    added: int
    removed: int
    unchanged: int
    duplicates: int
    entry_count: int
    """Active entries after the import."""
    delimiter: str
    columns: dict[str, str]
    ignored_columns: list[str]


@dataclass(frozen=True, slots=True)
class HotlistDetail:
    summary: HotlistSummary
    versions: list[HotlistVersion]
    entries: list[HotlistEntry]


class HotlistCommands(CommandsBase):
    """Create and feed hotlists; keep the index of active entries that ingest matches against."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hotlist_lock = threading.Lock()
        self._hotlist_catalog = HotlistCatalog()
        self._hotlist_position = 0  # last notification id whose hotlist events are applied

    # ----------------------------------------------------------------------------------------
    # Commands
    # ----------------------------------------------------------------------------------------

    def create_hotlist(self, name: str, source: str, *, provenance: str, actor: Actor) -> UUID:
        """A new, empty hotlist. ``source``: ncic, amber, state_dmv, manual or other_agency."""
        who, who_id = actor_fields(actor)
        hotlist = Hotlist.create(
            name, source, provenance=provenance, actor=who, actor_id=who_id, now=self.clock()
        )
        self.save(hotlist)
        return hotlist.id

    def import_hotlist_csv(
        self,
        hotlist_id: UUID | str,
        data: bytes | str,
        *,
        version: str,
        actor: Actor,
        effective_at: datetime | None = None,
        file_name: str | None = None,
    ) -> ImportResult:
        """Replace the active entries of an imported hotlist with the rows of a CSV file.

        All or nothing: a file with any error raises
        :class:`~ops.hotlist_csv.HotlistFileError` (an InvalidFieldError naming "line N.field",
        with every error in ``errors``) and stores nothing.
        """
        hotlist = self._get(hotlist_id)
        label = parse_text(version, "version", max_length=VERSION_MAX_LENGTH, rule_prefix="hotlist.version")
        now = self.clock()
        effective = now if effective_at is None else parse_aware_time(effective_at, "effective_at")
        if file_name is not None:
            file_name = file_name.strip()[:200] or None
        parsed = parse_hotlist_csv(data)
        who, who_id = actor_fields(actor)
        plan = hotlist.import_version(
            parsed.rows,
            version=label,
            sha256=parsed.sha256,
            row_count=len(parsed.rows),
            effective_at=effective,
            file_name=file_name,
            actor=who,
            actor_id=who_id,
            now=now,
        )
        self._save(hotlist)
        return ImportResult(
            hotlist_id=hotlist.id,
            version=label,
            sha256=parsed.sha256,
            row_count=len(parsed.rows),
            added=len(plan.added),
            removed=len(plan.removed),
            unchanged=plan.unchanged,
            duplicates=plan.duplicates,
            entry_count=len(hotlist.entries),
            delimiter=parsed.delimiter,
            columns=parsed.columns,
            ignored_columns=parsed.ignored_columns,
        )

    def add_manual_entry(
        self,
        hotlist_id: UUID | str,
        plate: str,
        state: str | None,
        *,
        reason: str | None,
        case_number: str | None,
        actor: Actor,
        expires_at: datetime | None = None,
    ) -> UUID:
        """Enter one plate by hand on a manual hotlist; returns the entry id.

        The active policy decides whether a reason (IACP C.6, TCSO C.4) and a case number
        (TCSO C.4 "if applicable") are required.
        """
        hotlist = self._get(hotlist_id)
        now = self.clock()
        entry = validate_manual_entry(
            plate,
            state,
            reason=reason,
            case_number=case_number,
            expires_at=expires_at,
            now=now,
            require_reason=self.policy.manual_hotlist_requires_reason.value,
            require_case_number=self.policy.manual_hotlist_requires_case_number.value,
        )
        who, who_id = actor_fields(actor)
        entry_id = hotlist.add_entry(entry, actor=who, actor_id=who_id, now=now)
        self._save(hotlist)
        return entry_id

    def remove_entry(self, hotlist_id: UUID | str, entry_id: UUID | str, *, why: str, actor: Actor) -> None:
        """Take one active entry off a hotlist (vehicle recovered, entered in error...)."""
        hotlist = self._get(hotlist_id)
        who, who_id = actor_fields(actor)
        hotlist.remove_entry(
            parse_uuid(entry_id, "entry_id"), why=why, actor=who, actor_id=who_id, now=self.clock()
        )
        self._save(hotlist)

    def expire_hotlist(self, hotlist_id: UUID | str, *, why: str, actor: Actor) -> None:
        """End a whole hotlist: none of its entries matches from now on, and it takes no changes."""
        hotlist = self._get(hotlist_id)
        who, who_id = actor_fields(actor)
        hotlist.expire(why=why, actor=who, actor_id=who_id, now=self.clock())
        self._save(hotlist)

    # ----------------------------------------------------------------------------------------
    # Views
    # ----------------------------------------------------------------------------------------

    def get_hotlist(self, hotlist_id: UUID | str) -> HotlistDetail:
        hotlist = self._get(hotlist_id)
        return HotlistDetail(
            summary=hotlist.summary(now=self.clock(), shift=self.policy.shift.value),
            versions=list(hotlist.versions),
            entries=hotlist.active_entries(),
        )

    def list_hotlists(self) -> list[HotlistSummary]:
        """Every hotlist, oldest first; ``stale`` marks imported lists older than a shift (IACP C.3)."""
        catalog = self._refresh_hotlists()
        with self._hotlist_lock:
            return catalog.summaries(now=self.clock(), shift=self.policy.shift.value)

    def hotlist_warnings(self) -> list[HotlistWarning]:
        """One warning per imported hotlist not refreshed within a shift (IACP C.3, TCSO C.1)."""
        now, shift = self.clock(), self.policy.shift.value
        warnings = (staleness_warning(s, now=now, shift=shift) for s in self.list_hotlists())
        return [w for w in warnings if w is not None]

    def hotlist_index(self) -> HotlistIndex:
        """The index of every active entry, current as of this call (other processes included).

        Entry dates are judged when matching: ``index.match(plate, state, at=self.clock())``.
        """
        return self._refresh_hotlists().index

    def match_plate(self, plate: str, state: str | None) -> list[Match]:
        """Matches of one plate against the current index, at the service clock's now."""
        return self.hotlist_index().match(plate, state, at=self.clock())

    # ----------------------------------------------------------------------------------------
    # Internals
    # ----------------------------------------------------------------------------------------

    def _get(self, hotlist_id: UUID | str) -> Hotlist:
        hotlist = find_aggregate(self.repository, parse_uuid(hotlist_id, "hotlist_id"), Hotlist)
        if hotlist is None:
            raise NotFoundError("hotlist_id", "hotlist.unknown", "no hotlist with this id")
        return hotlist

    def _save(self, hotlist: Hotlist) -> None:
        try:
            self.save(hotlist)
        except IntegrityError:
            raise ConflictError(
                "hotlist_id",
                "hotlist.concurrent_change",
                "the hotlist changed while this request was handled; retry",
            ) from None

    def _refresh_hotlists(self) -> HotlistCatalog:
        """Apply the hotlist events stored since the last refresh, in log order.

        Reads up to the log's last position first and then remembers that position, so events
        of other aggregates are scanned once, not on every call. Writers commit in notification
        order (the table lock), so no hotlist event can later appear below that position.
        """
        with self._hotlist_lock:
            top = self.recorder.max_notification_id()
            if top is None or top <= self._hotlist_position:
                return self._hotlist_catalog
            while True:
                notifications = self.recorder.select_notifications(
                    self._hotlist_position,
                    _REFRESH_PAGE,
                    stop=top,
                    topics=HOTLIST_TOPICS,
                    inclusive_of_start=False,
                )
                for notification in notifications:
                    self._hotlist_catalog.apply(self.mapper.to_domain_event(notification))  # type: ignore[arg-type]
                    self._hotlist_position = notification.id
                if len(notifications) < _REFRESH_PAGE:
                    break
            self._hotlist_position = top
            return self._hotlist_catalog


__all__ = [
    "HOTLIST_TOPICS",
    "Actor",
    "HotlistCommands",
    "HotlistDetail",
    "ImportResult",
    "actor_fields",
]
