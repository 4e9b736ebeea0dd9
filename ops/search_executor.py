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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import get_topic

from domain.read import Read
from domain.search import parse_plate_criteria

READ_CAPTURED_TOPIC = get_topic(Read.Captured)
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
    """

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[UUID]) -> None:
        self._recorder = recorder
        self._mapper = mapper
        self._lock = threading.Lock()
        self._by_plate: dict[str, list[ReadResult]] = defaultdict(list)
        self._position = 0

    def catch_up(self) -> None:
        with self._lock:
            top = self._recorder.max_notification_id()
            if top is None or top <= self._position:
                return
            while True:
                notifications = self._recorder.select_notifications(
                    self._position, _PAGE, stop=top, topics=[READ_CAPTURED_TOPIC], inclusive_of_start=False
                )
                for notification in notifications:
                    event = self._mapper.to_domain_event(notification)
                    assert isinstance(event, Read.Captured)
                    self._by_plate[event.plate].append(
                        ReadResult(
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
                    )
                    self._position = notification.id
                if len(notifications) < _PAGE:
                    break
            self._position = top

    def reads_of(self, plate: str) -> list[ReadResult]:
        self.catch_up()
        with self._lock:
            return list(self._by_plate.get(plate, ()))


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


__all__ = ["ExactPlateExecutor", "PlateReadView", "ReadResult", "SearchExecutor"]
