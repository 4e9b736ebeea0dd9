"""How a recorded search is run: the executor interface and the exact-plate executor.

The service records a Search, then hands its criteria to the first executor that ``supports`` its
type. This module holds the interface and the one executor of issue 4: exact plate search over
:class:`PlateReadView`, an in-memory index plate -> read summaries that catches up from the
notification log (the search issue replaces it with the stored projections, behind the same
interface).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, KeysView, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import get_topic

from domain.read import Read
from domain.retention import Purge
from domain.search import parse_plate_criteria
from domain.values import is_purged
from ops.keys import READS, utc_day

READ_CAPTURED_TOPIC = get_topic(Read.Captured)
_TOPICS = [READ_CAPTURED_TOPIC, get_topic(Purge.Executed)]
_PAGE = 1000


@dataclass(frozen=True, slots=True)
class ReadResult:
    """One read as a search returns it."""

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


@runtime_checkable
class SearchExecutor(Protocol):
    """Runs one kind of search. ``execute`` gets the criteria as recorded in the Search."""

    def supports(self, search_type: str) -> bool: ...

    def execute(self, criteria: Mapping[str, Any]) -> list[ReadResult]: ...


class PlateReadView:
    """Reads by plate, brought up to date from the notification log on each use.

    Remembers the last log position applied, so each refresh costs one query for the log's top
    and one page per new batch of reads. Thread-safe (the API serves requests on threads).

    Purges: a read whose data key is gone is never indexed, and when a ``Purge.Executed`` event
    arrives the rows it may cover (its records, or every read of its day) are checked against the
    key store and the shredded ones dropped, so a search never returns a purged read.
    """

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[UUID]) -> None:
        self._recorder = recorder
        self._mapper = mapper
        self._lock = threading.Lock()
        self._by_plate: dict[str, list[ReadResult]] = defaultdict(list)
        self._by_day: dict[date, set[UUID]] = defaultdict(set)
        self._rows: dict[UUID, ReadResult] = {}
        self._position = 0

    def catch_up(self) -> None:
        with self._lock:
            top = self._recorder.max_notification_id()
            if top is None or top <= self._position:
                return
            while True:
                notifications = self._recorder.select_notifications(
                    self._position, _PAGE, stop=top, topics=_TOPICS, inclusive_of_start=False
                )
                for event in domain_events(self._mapper, notifications):
                    if isinstance(event, Read.Captured):
                        self._add(event)
                    elif isinstance(event, Purge.Executed):
                        self._drop_purged(event)
                if notifications:
                    self._position = notifications[-1].id
                if len(notifications) < _PAGE:
                    break
            self._position = top

    def _add(self, event: Read.Captured) -> None:
        if is_purged(event.plate):
            return
        row = ReadResult(
            read_id=event.originator_id,
            plate=event.plate,
            state=event.state,
            camera_id=event.camera_id,
            camera_kind=event.camera_kind,
            patrol_vehicle=event.patrol_vehicle,
            latitude=event.latitude,
            longitude=event.longitude,
            captured_at=event.captured_at,
            confidence=event.confidence,
        )
        self._rows[row.read_id] = row
        self._by_plate[row.plate].append(row)
        self._by_day[utc_day(row.captured_at)].add(row.read_id)

    def _drop_purged(self, purge: Purge.Executed) -> None:
        candidates = purge_candidates(purge, self._rows.keys(), self._by_day)
        if not candidates:
            return
        keystore = getattr(self._mapper, "keystore", None)
        alive = set() if keystore is None else set(keystore.data_keys(candidates))
        for read_id in candidates:
            if read_id in alive:
                continue  # on hold or attached to a case: re-keyed before its day's key went
            row = self._rows.pop(read_id)
            self._by_day[utc_day(row.captured_at)].discard(read_id)
            rows = self._by_plate[row.plate]
            rows[:] = [r for r in rows if r.read_id != read_id]
            if not rows:
                del self._by_plate[row.plate]

    def reads_of(self, plate: str) -> list[ReadResult]:
        self.catch_up()
        with self._lock:
            return list(self._by_plate.get(plate, ()))


def domain_events(mapper: Mapper[UUID], notifications: Sequence[Any]) -> list[Any]:
    """Notifications as domain events, with one key-store query per page where the mapper seals."""
    batch = getattr(mapper, "to_domain_events", None)
    if batch is not None:
        return list(batch(notifications))
    return [mapper.to_domain_event(n) for n in notifications]


def purge_candidates(
    purge: Purge.Executed, known: Iterable[UUID], by_day: Mapping[date, set[UUID]]
) -> list[UUID]:
    """The records a view holds that ``purge`` may have shredded: the ones it names, plus every
    read of its day for a day purge. The caller checks them against the key store."""
    known_ids = known if isinstance(known, set | frozenset | KeysView) else set(known)
    found = [r for r in purge.record_ids if r in known_ids]
    if purge.retention_class == READS and purge.day is not None:
        found.extend(by_day.get(date.fromisoformat(purge.day), ()))
    return list(dict.fromkeys(found))


class ExactPlateExecutor:
    """``plate``: every read of one complete plate, optionally by state, readers and time window
    (``from`` inclusive, ``to`` exclusive); oldest first."""

    def __init__(self, view: PlateReadView) -> None:
        self.view = view

    def supports(self, search_type: str) -> bool:
        return search_type == "plate"

    def normalise(self, criteria: Mapping[str, Any]) -> dict[str, Any]:
        """The criteria in canonical form, or InvalidFieldError (checked before recording)."""
        return parse_plate_criteria(criteria).as_dict()

    def execute(self, criteria: Mapping[str, Any]) -> list[ReadResult]:
        c = parse_plate_criteria(criteria)
        cameras = set(c.camera_ids)
        found = [
            r
            for r in self.view.reads_of(c.plate)
            if (c.state is None or r.state == c.state)
            and (not cameras or r.camera_id in cameras)
            and (c.captured_from is None or r.captured_at >= c.captured_from)
            and (c.captured_to is None or r.captured_at < c.captured_to)
        ]
        return sorted(found, key=lambda r: (r.captured_at, str(r.read_id)))


__all__ = [
    "ExactPlateExecutor",
    "PlateReadView",
    "ReadResult",
    "SearchExecutor",
    "domain_events",
    "purge_candidates",
]
