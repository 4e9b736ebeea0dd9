"""Matching plate reads against active hotlist entries: pure, in memory, built for the ingest path.

A read matches an entry when their plates are equal or differ only by characters that OCR
confuses (:data:`CONFUSABLE_GROUPS`), and their states do not contradict each other:

- same plate, same state -> ``exact`` (the hit the policies describe);
- same plate, but the read or the entry has no state -> ``possible``;
- confusable plate, states equal or either missing -> ``possible``;
- states both known and different -> no match (another jurisdiction's plate).

``possible`` matches say why in :attr:`Match.basis`, so the officer who verifies the hit against
the image (TCSO C.2, IACP C.4) knows which characters or which state to check.

:class:`HotlistIndex` buckets entries by :func:`confusable_key`, so one lookup finds every exact
and confusable candidate; a read costs one translate, one dict lookup and a loop over a bucket
that is almost always empty. Entry dates are compared at match time, so an entry expires on its
date without any event. The index is safe to read from several threads while one thread updates
it: buckets are immutable tuples replaced whole, and single dict operations are atomic.

:class:`HotlistCatalog` folds :class:`~domain.hotlist.Hotlist` events into an index and into
per-hotlist summaries; the service feeds it the notification log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.hotlist import Hotlist
from domain.hotlist_entries import HotlistSource, HotlistSummary, from_iso, is_stale
from domain.values import normalise_plate

CONFUSABLE_GROUPS: tuple[str, ...] = ("0ODQ", "1IL7", "2Z", "5S", "8B", "6G")
"""Characters OCR engines mistake for one another; each group maps to its first character."""

_CONFUSABLE = str.maketrans({char: group[0] for group in CONFUSABLE_GROUPS for char in group})


def confusable_key(plate: str) -> str:
    """``plate`` with every OCR-confusable character replaced by its group's representative.

    Two plates have the same key exactly when they differ only by confusable characters
    ("B0S1" and "80SI" do; "B0S1" and "B0S12" do not: different lengths). The key is for
    in-memory lookup only: it is never stored, because it is as identifying as the plate.
    """
    return plate.upper().translate(_CONFUSABLE)


class MatchKind(StrEnum):
    EXACT = "exact"
    """Same plate characters and same state: a hit."""
    POSSIBLE = "possible"
    """Plate or state not certain to be the entry's: a possible hit, marked as such."""


class MatchBasis(StrEnum):
    """Why a match is only possible; a possible match carries one or more of these."""

    PLATE_CONFUSABLE = "plate_confusable"
    """The plates differ, but only by OCR-confusable characters."""
    READ_WITHOUT_STATE = "read_without_state"
    """The camera could not read the state, so any state's plate could be this one."""
    ENTRY_WITHOUT_STATE = "entry_without_state"
    """The hotlist entry names no state."""


def classify(
    read_plate: str, read_state: str | None, entry_plate: str, entry_state: str | None
) -> tuple[MatchKind, tuple[MatchBasis, ...]] | None:
    """How a read relates to an entry whose plate has the same :func:`confusable_key`.

    Plates and states must already be normalised (uppercase, no separators). Returns None when
    the states are both known and differ.
    """
    basis: list[MatchBasis] = []
    if read_plate != entry_plate:
        basis.append(MatchBasis.PLATE_CONFUSABLE)
    if read_state is None:
        basis.append(MatchBasis.READ_WITHOUT_STATE)
    if entry_state is None:
        basis.append(MatchBasis.ENTRY_WITHOUT_STATE)
    if read_state is not None and entry_state is not None and read_state != entry_state:
        return None
    return (MatchKind.POSSIBLE, tuple(basis)) if basis else (MatchKind.EXACT, ())


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    """One active hotlist entry as the index holds it: dates as POSIX seconds for fast compares."""

    hotlist_id: UUID
    hotlist_name: str
    source: HotlistSource
    entry_id: UUID
    plate: str
    state: str | None
    reason: str | None
    case_number: str | None
    effective_at: datetime | None
    expires_at: datetime | None
    effective_ts: float | None = field(init=False, repr=False, compare=False)
    expires_ts: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        effective, expires = self.effective_at, self.expires_at
        object.__setattr__(self, "effective_ts", None if effective is None else effective.timestamp())
        object.__setattr__(self, "expires_ts", None if expires is None else expires.timestamp())

    def active_at(self, ts: float) -> bool:
        """Effective (from ``effective_at``, inclusive) and not expired (``expires_at`` exclusive)."""
        if self.effective_ts is not None and ts < self.effective_ts:
            return False
        return self.expires_ts is None or ts < self.expires_ts


@dataclass(frozen=True, slots=True)
class Match:
    """A read matched to one hotlist entry: what the hits engineer raises and the alert shows."""

    hotlist_id: UUID
    hotlist_name: str
    source: HotlistSource
    entry_id: UUID
    kind: MatchKind
    basis: tuple[MatchBasis, ...]
    """Empty for ``exact``; why it is only ``possible`` otherwise."""
    reason: str | None
    """The entry's reason or category ("stolen vehicle", "AMBER alert")."""
    case_number: str | None
    entry_plate: str
    entry_state: str | None
    read_plate: str
    """The read's plate after normalising (uppercase, no separators)."""
    read_state: str | None
    expires_at: datetime | None

    @property
    def is_exact(self) -> bool:
        return self.kind is MatchKind.EXACT


class HotlistIndex:
    """Active entries of every hotlist, looked up by :func:`confusable_key` of the plate."""

    def __init__(self, entries: Iterable[IndexedEntry] = ()) -> None:
        self._by_key: dict[str, tuple[IndexedEntry, ...]] = {}
        self._by_id: dict[UUID, IndexedEntry] = {}
        for entry in entries:
            self.add(entry)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._by_id

    def get(self, entry_id: UUID) -> IndexedEntry | None:
        return self._by_id.get(entry_id)

    def add(self, entry: IndexedEntry) -> None:
        """Add ``entry`` (replacing an entry with the same id)."""
        self.remove(entry.entry_id)
        key = entry.plate.translate(_CONFUSABLE)
        self._by_key[key] = (*self._by_key.get(key, ()), entry)
        self._by_id[entry.entry_id] = entry

    def remove(self, entry_id: UUID) -> bool:
        """Forget the entry; False if it was not there."""
        entry = self._by_id.pop(entry_id, None)
        if entry is None:
            return False
        key = entry.plate.translate(_CONFUSABLE)
        rest = tuple(e for e in self._by_key.get(key, ()) if e.entry_id != entry_id)
        if rest:
            self._by_key[key] = rest
        else:
            self._by_key.pop(key, None)
        return True

    def match(self, plate: str, state: str | None, *, at: datetime) -> list[Match]:
        """Every entry active at ``at`` that ``plate``/``state`` matches, exact matches first.

        ``plate`` is normalised here (separators removed, uppercased) so callers may pass raw
        text; an empty ``state`` counts as no state. ``at`` is timezone-aware (the service clock).
        """
        plate = normalise_plate(plate)
        bucket = self._by_key.get(plate.translate(_CONFUSABLE))
        if not bucket:
            return []
        read_state = state.upper() if state else None
        ts = at.timestamp()
        found: list[Match] = []
        for entry in bucket:
            if not entry.active_at(ts):
                continue
            verdict = classify(plate, read_state, entry.plate, entry.state)
            if verdict is None:
                continue
            kind, basis = verdict
            found.append(
                Match(
                    hotlist_id=entry.hotlist_id,
                    hotlist_name=entry.hotlist_name,
                    source=entry.source,
                    entry_id=entry.entry_id,
                    kind=kind,
                    basis=basis,
                    reason=entry.reason,
                    case_number=entry.case_number,
                    entry_plate=entry.plate,
                    entry_state=entry.state,
                    read_plate=plate,
                    read_state=read_state,
                    expires_at=entry.expires_at,
                )
            )
        if len(found) > 1:
            found.sort(key=lambda m: m.kind is not MatchKind.EXACT)  # stable: entry order otherwise
        return found

    def active_count(self, *, at: datetime) -> int:
        """How many entries are active at ``at`` (a linear scan: for reports, not the hot path)."""
        ts = at.timestamp()
        return sum(1 for entry in self._by_id.values() if entry.active_at(ts))


# --------------------------------------------------------------------------------------------
# Catalog: hotlist events -> index + summaries
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _HotlistFacts:
    """What the catalog keeps of one hotlist (mutable; only :class:`HotlistCatalog` changes it)."""

    hotlist_id: UUID
    name: str
    source: HotlistSource
    provenance: str
    created_by: str
    created_at: datetime
    version: int = 1
    current_version: str | None = None
    last_imported_at: datetime | None = None
    expired_at: datetime | None = None
    entry_ids: set[UUID] = field(default_factory=set)


class HotlistCatalog:
    """Every hotlist's summary and the index of their active entries, folded from events.

    :meth:`apply` takes :class:`~domain.hotlist.Hotlist` events in log order. Events of a hotlist
    at or below the version already applied are ignored, so replaying an overlapping stretch of
    the log is harmless.
    """

    def __init__(self) -> None:
        self.index = HotlistIndex()
        self._hotlists: dict[UUID, _HotlistFacts] = {}

    def apply(self, event: Hotlist.Event) -> None:
        hotlist_id = event.originator_id
        facts = self._hotlists.get(hotlist_id)
        if isinstance(event, Hotlist.Created):
            if facts is None:
                self._hotlists[hotlist_id] = _HotlistFacts(
                    hotlist_id=hotlist_id,
                    name=event.name,
                    source=HotlistSource(event.source),
                    provenance=event.provenance,
                    created_by=event.actor,
                    created_at=event.timestamp,
                )
            return
        if facts is None or event.originator_version <= facts.version:
            return
        facts.version = event.originator_version
        if isinstance(event, Hotlist.VersionImported):
            for raw_id in event.removed:
                entry_id = UUID(raw_id)
                facts.entry_ids.discard(entry_id)
                self.index.remove(entry_id)
            for entry in event.added:
                self._add(facts, entry)
            facts.current_version = event.version
            facts.last_imported_at = event.imported_at
        elif isinstance(event, Hotlist.EntryAdded):
            self._add(
                facts,
                {
                    "entry_id": event.entry_id,
                    "plate": event.plate,
                    "state": event.state,
                    "reason": event.reason,
                    "case_number": event.case_number,
                    "effective_at": None,
                    "expires_at": None if event.expires_at is None else event.expires_at.isoformat(),
                },
            )
        elif isinstance(event, Hotlist.EntryRemoved):
            entry_id = UUID(event.entry_id)
            facts.entry_ids.discard(entry_id)
            self.index.remove(entry_id)
        elif isinstance(event, Hotlist.Expired):
            facts.expired_at = event.timestamp
            for entry_id in facts.entry_ids:
                self.index.remove(entry_id)
            facts.entry_ids.clear()

    def _add(self, facts: _HotlistFacts, entry: dict[str, Any]) -> None:
        entry_id = UUID(entry["entry_id"])
        facts.entry_ids.add(entry_id)
        self.index.add(
            IndexedEntry(
                hotlist_id=facts.hotlist_id,
                hotlist_name=facts.name,
                source=facts.source,
                entry_id=entry_id,
                plate=entry["plate"],
                state=entry["state"],
                reason=entry["reason"],
                case_number=entry["case_number"],
                effective_at=from_iso(entry["effective_at"]),
                expires_at=from_iso(entry["expires_at"]),
            )
        )

    def __contains__(self, hotlist_id: object) -> bool:
        return hotlist_id in self._hotlists

    def summaries(self, *, now: datetime, shift: timedelta) -> list[HotlistSummary]:
        """Every hotlist, oldest first, with its staleness judged at ``now`` against ``shift``."""
        return [
            HotlistSummary(
                hotlist_id=f.hotlist_id,
                name=f.name,
                source=f.source,
                provenance=f.provenance,
                created_by=f.created_by,
                created_at=f.created_at,
                current_version=f.current_version,
                last_imported_at=f.last_imported_at,
                entry_count=len(f.entry_ids),
                expired_at=f.expired_at,
                stale=is_stale(f.source, f.last_imported_at, f.expired_at, now=now, shift=shift),
            )
            for f in sorted(self._hotlists.values(), key=lambda f: f.created_at)
        ]


__all__ = [
    "CONFUSABLE_GROUPS",
    "HotlistCatalog",
    "HotlistIndex",
    "IndexedEntry",
    "Match",
    "MatchBasis",
    "MatchKind",
    "classify",
    "confusable_key",
]
