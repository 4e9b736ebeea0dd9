"""The ``Read`` aggregate: one plate read by one ALPR camera, with its events.

Flow: the pipeline's raw input is a :class:`RecordRead` command; :func:`validate_read` turns it
into a :class:`ValidRead` or raises :class:`~domain.errors.InvalidFieldError`; and
:meth:`Read.capture` makes the aggregate with its pending :class:`Read.Captured` event.

Event state holds only JSON-friendly primitives (str, float, bool, None, datetime, dict of str)
so eventsourcing's default JSON transcoder stores it without custom transcodings. Later events
of this aggregate (placed on hold, released, purged) subclass :class:`Read.Event` and are
triggered the ordinary way; only creation takes the fast path below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from eventsourcing.domain import Aggregate, datetime_now_with_tzinfo
from eventsourcing.utils import get_topic

from domain.errors import InvalidFieldError
from domain.values import (
    CameraId,
    CameraKind,
    CaptureId,
    Coordinates,
    ImageRef,
    PatrolVehicleId,
    PlateText,
    ReadId,
    StateCode,
    VehicleCharacteristics,
    is_purged,
    parse_camera_kind,
    parse_identifier,
)

MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future (relative to the service's clock) a capture time may lie."""

CAMERA_ID_MAX_LENGTH = 64
PATROL_VEHICLE_MAX_LENGTH = 64
CAPTURE_ID_MAX_LENGTH = 128

_UTC = UTC


# --------------------------------------------------------------------------------------------
# Command and validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordRead:
    """Record one plate read, as the recognition pipeline reports it (raw, unvalidated input).

    Field names match :class:`Read.Captured` and the names that validation errors report.
    ``vehicle`` is a JSON-like mapping with optional keys make, model, colour, body_type.
    """

    plate: str
    state: str | None
    confidence: float
    camera_id: str
    camera_kind: str
    latitude: float
    longitude: float
    captured_at: datetime
    patrol_vehicle: str | None = None
    capture_id: str | None = None
    plate_image: str | None = None
    vehicle_image: str | None = None
    vehicle: Mapping[str, str | None] | None = None


@dataclass(frozen=True, slots=True)
class ValidRead:
    """A :class:`RecordRead` that passed :func:`validate_read`: normalised and typed."""

    plate: PlateText
    state: StateCode | None
    confidence: float
    camera_id: CameraId
    camera_kind: CameraKind
    patrol_vehicle: PatrolVehicleId | None
    location: Coordinates
    captured_at: datetime
    """Timezone-aware, in UTC."""
    capture_id: CaptureId | None = None
    plate_image: ImageRef | None = None
    vehicle_image: ImageRef | None = None
    vehicle: VehicleCharacteristics | None = None


def parse_confidence(raw: object) -> float:
    """Recognition confidence as a float from 0 to 1."""
    if isinstance(raw, bool) or not isinstance(raw, (float, int)):
        raise InvalidFieldError("confidence", "confidence.type", "must be a number from 0 to 1")
    value = float(raw)
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise InvalidFieldError(
            "confidence", "confidence.range", f"must be a number from 0 to 1, got {raw!r}"
        )
    return value


def parse_captured_at(raw: object, now: datetime) -> datetime:
    """The capture time in UTC; it must carry a timezone and not lie beyond ``now`` + skew."""
    if not isinstance(raw, datetime):
        raise InvalidFieldError("captured_at", "captured_at.type", "must be a date-time with a UTC offset")
    if raw.tzinfo is not _UTC:
        if raw.utcoffset() is None:
            raise InvalidFieldError(
                "captured_at",
                "captured_at.naive",
                "must carry a UTC offset (e.g. '2025-01-31T14:05:09.120Z'); local times are ambiguous",
            )
        try:
            raw = raw.astimezone(_UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+05:00 lies before the first UTC instant
            raise InvalidFieldError(
                "captured_at", "captured_at.range", "is outside the range of representable UTC times"
            ) from None
    if raw - now > MAX_CLOCK_SKEW:
        raise InvalidFieldError(
            "captured_at",
            "captured_at.future",
            f"is more than {MAX_CLOCK_SKEW.seconds // 60} minutes ahead of the ledger's clock "
            f"({now.isoformat()}); check the camera's clock",
        )
    return raw


def check_patrol_vehicle(kind: CameraKind, patrol_vehicle: str | None) -> None:
    """Mobile reads name the patrol vehicle; fixed cameras are on no vehicle.

    Portable cameras may name one (a trailer-mounted unit) or not.
    """
    if kind is CameraKind.MOBILE and patrol_vehicle is None:
        raise InvalidFieldError(
            "patrol_vehicle",
            "patrol_vehicle.required",
            "is required for a mobile camera: name the patrol vehicle it is mounted on",
        )
    if kind is CameraKind.FIXED and patrol_vehicle is not None:
        raise InvalidFieldError(
            "patrol_vehicle",
            "patrol_vehicle.forbidden",
            "must be null for a fixed camera; use camera_kind 'mobile' for vehicle-mounted ones",
        )


def validate_read(cmd: RecordRead, now: datetime) -> ValidRead:
    """Validate and normalise ``cmd`` against the service clock ``now`` (timezone-aware).

    Raises :class:`InvalidFieldError` for the first broken rule, naming the field as it is
    called in :class:`RecordRead` ("vehicle.make" for nested keys).
    """
    # Checked in the order of RecordRead's fields, so the first error reported is predictable.
    plate = PlateText(cmd.plate)
    state = None if cmd.state is None else StateCode(cmd.state)
    confidence = parse_confidence(cmd.confidence)
    camera_id = parse_identifier(cmd.camera_id, field="camera_id", max_length=CAMERA_ID_MAX_LENGTH)
    kind = parse_camera_kind(cmd.camera_kind)
    location = Coordinates(cmd.latitude, cmd.longitude)
    captured_at = parse_captured_at(cmd.captured_at, now)
    patrol_vehicle = cmd.patrol_vehicle
    if patrol_vehicle is not None:
        patrol_vehicle = parse_identifier(
            patrol_vehicle, field="patrol_vehicle", max_length=PATROL_VEHICLE_MAX_LENGTH
        )
    check_patrol_vehicle(kind, patrol_vehicle)
    capture_id = cmd.capture_id
    if capture_id is not None:
        capture_id = parse_identifier(capture_id, field="capture_id", max_length=CAPTURE_ID_MAX_LENGTH)
    plate_image = _image(cmd.plate_image, "plate_image")
    vehicle_image = _image(cmd.vehicle_image, "vehicle_image")
    vehicle = None if cmd.vehicle is None else _vehicle(cmd.vehicle)
    return ValidRead(
        plate=plate,
        state=state,
        confidence=confidence,
        camera_id=CameraId(camera_id),
        camera_kind=kind,
        patrol_vehicle=None if patrol_vehicle is None else PatrolVehicleId(patrol_vehicle),
        location=location,
        captured_at=captured_at,
        capture_id=None if capture_id is None else CaptureId(capture_id),
        plate_image=plate_image,
        vehicle_image=vehicle_image,
        vehicle=vehicle,
    )


def _vehicle(raw: object) -> VehicleCharacteristics | None:
    try:
        vehicle = VehicleCharacteristics.from_mapping(raw)
    except InvalidFieldError as e:
        if e.field == "vehicle":  # the mapping itself is wrong
            raise
        raise e.within("vehicle") from None
    return None if vehicle.is_empty else vehicle


def _image(raw: str | None, field: str) -> ImageRef | None:
    if raw is None:
        return None
    try:
        return ImageRef(raw)
    except InvalidFieldError as e:
        raise e.renamed(field) from None


# --------------------------------------------------------------------------------------------
# Aggregate
# --------------------------------------------------------------------------------------------


class Read(Aggregate):
    """One plate read: what a camera saw, where and when. Snapshots are not used."""

    if TYPE_CHECKING:  # Declared for type checkers only: annotations would make a dataclass.
        plate: str
        state: str | None
        confidence: float
        camera_id: CameraId
        camera_kind: CameraKind
        patrol_vehicle: PatrolVehicleId | None
        latitude: float
        longitude: float
        captured_at: datetime
        capture_id: CaptureId | None
        plate_image: str | None
        vehicle_image: str | None
        vehicle: dict[str, str] | None

    class Event(Aggregate.Event):
        """Base class of every event of a Read."""

    @dataclass(frozen=True)  # already made a dataclass by eventsourcing; this informs mypy
    class Captured(Event, Aggregate.Created):
        """A camera read a plate (the creation event of a Read).

        ``state`` is None when no state was read; ``patrol_vehicle`` is set for mobile cameras;
        ``plate_image`` and ``vehicle_image`` are SHA-256 hex digests of blobs; ``vehicle``
        holds the known characteristics among make, model, colour, body_type.
        """

        plate: str
        state: str | None
        confidence: float
        camera_id: str
        camera_kind: str
        patrol_vehicle: str | None
        latitude: float
        longitude: float
        captured_at: datetime
        capture_id: str | None
        plate_image: str | None
        vehicle_image: str | None
        vehicle: dict[str, str] | None

        def apply(self, aggregate: Read) -> None:
            aggregate.plate = self.plate
            aggregate.state = self.state
            aggregate.confidence = self.confidence
            aggregate.camera_id = CameraId(self.camera_id)
            aggregate.camera_kind = CameraKind(self.camera_kind)
            aggregate.patrol_vehicle = (
                None if self.patrol_vehicle is None else PatrolVehicleId(self.patrol_vehicle)
            )
            aggregate.latitude = self.latitude
            aggregate.longitude = self.longitude
            aggregate.captured_at = self.captured_at
            aggregate.capture_id = None if self.capture_id is None else CaptureId(self.capture_id)
            aggregate.plate_image = self.plate_image
            aggregate.vehicle_image = self.vehicle_image
            # A copy, so changing the aggregate can never change the recorded event. A purged
            # record's sealed fields all read as PURGED (ledger.sealing): kept as they are.
            vehicle: Any = self.vehicle
            aggregate.vehicle = vehicle if vehicle is None or is_purged(vehicle) else dict(vehicle)

    @classmethod
    def capture(
        cls,
        valid: ValidRead,
        *,
        timestamp: datetime | None = None,
        read_id: ReadId | None = None,
    ) -> Read:
        """A new Read with its pending ``Captured`` event.

        ``timestamp`` is when the ledger recorded the read (defaults to the current UTC time;
        pass one clock reading per batch). ``read_id`` defaults to a random uuid4 and must never
        be derived from the plate.

        This is the ingest hot path, so it bypasses eventsourcing's generic creation machinery
        (signature inspection, kwargs filtering, topic resolution, frozen-dataclass
        ``__setattr__``) and builds the event the way eventsourcing's own mapper rebuilds stored
        events: an instance whose ``__dict__`` is the event state. Replaying the stored event
        goes through the stock ``mutate()`` and the same :meth:`Captured.apply`; tests hold
        the two paths to the same result.
        """
        if timestamp is None:
            timestamp = datetime_now_with_tzinfo()
        originator_id = uuid4() if read_id is None else read_id
        location = valid.location
        state = valid.state
        patrol_vehicle = valid.patrol_vehicle
        plate_image = valid.plate_image
        vehicle_image = valid.vehicle_image
        vehicle = valid.vehicle
        event_state: dict[str, Any] = {
            "originator_id": originator_id,
            "originator_version": 1,
            "timestamp": timestamp,
            "originator_topic": get_topic(cls),
            "plate": valid.plate.value,
            "state": None if state is None else state.value,
            "confidence": valid.confidence,
            "camera_id": valid.camera_id,
            "camera_kind": valid.camera_kind.value,
            "patrol_vehicle": patrol_vehicle,
            "latitude": location.latitude,
            "longitude": location.longitude,
            "captured_at": valid.captured_at,
            "capture_id": valid.capture_id,
            "plate_image": None if plate_image is None else plate_image.sha256,
            "vehicle_image": None if vehicle_image is None else vehicle_image.sha256,
            "vehicle": None if vehicle is None else vehicle.as_dict(),
        }
        event = object.__new__(cls.Captured)
        object.__setattr__(event, "__dict__", event_state)
        read = object.__new__(cls)
        read.__base_init__(originator_id, 1, timestamp)
        event.apply(read)
        read._pending_events.append(event)
        return read

    @property
    def purged(self) -> bool:
        """True when the read's data key was destroyed: its personal fields read as PURGED."""
        return is_purged(self.plate)

    @property
    def location(self) -> Coordinates:
        return Coordinates(self.latitude, self.longitude)

    @property
    def content(self) -> tuple[object, ...]:
        """What the camera reported (everything but the ids and the ledger's timestamp)."""
        return (
            self.plate,
            self.state,
            self.captured_at,
            self.camera_id,
            self.camera_kind.value,
            self.patrol_vehicle,
            self.latitude,
            self.longitude,
            self.confidence,
            self.plate_image,
            self.vehicle_image,
            self.vehicle,
        )


def same_capture(valid: ValidRead, stored: Read) -> bool:
    """Whether ``valid`` reports exactly what ``stored`` holds: an idempotent retry, not a new read.

    Reads with a capture id get an id derived from (camera id, capture id), so a second read with
    the same pair would otherwise be dropped as a duplicate; a read with different content must
    not be, or any device could pre-empt a camera's capture id and suppress its (hit-raising) read.
    """
    return (
        Read.capture(valid, timestamp=stored.created_on, read_id=ReadId(stored.id)).content == stored.content
    )


__all__ = [
    "CAMERA_ID_MAX_LENGTH",
    "CAPTURE_ID_MAX_LENGTH",
    "MAX_CLOCK_SKEW",
    "PATROL_VEHICLE_MAX_LENGTH",
    "Read",
    "RecordRead",
    "ValidRead",
    "check_patrol_vehicle",
    "parse_captured_at",
    "parse_confidence",
    "same_capture",
    "validate_read",
]
