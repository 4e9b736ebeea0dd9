"""The ``Camera`` aggregate: an ALPR camera the agency operates, its equipment checks and service state.

Reads are accepted only from registered cameras that are in service. IACP model policy (2010)
B.2: "Designated, trained personnel shall check equipment on a regular basis to ensure
functionality and camera alignment. Any equipment that falls outside expected functionality
shall be removed from service until deficiencies have been corrected." So a failed check takes
the camera out of service in the same save, and a camera whose latest check failed cannot be
returned to service until a passing check is recorded.

Camera ids are the agency's own strings (as the pipeline sends them in reads); the aggregate id
is a uuid5 of that id, a non-personal natural key, so registering twice collides in the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import ConflictError, InvalidFieldError
from domain.read import CAMERA_ID_MAX_LENGTH, PATROL_VEHICLE_MAX_LENGTH, check_patrol_vehicle
from domain.values import (
    CameraId,
    CameraKind,
    Coordinates,
    PatrolVehicleId,
    ReadId,
    parse_camera_kind,
    parse_identifier,
    to_utc,
)

ID_NAMESPACE = UUID("4bce2081-469f-4250-986f-d9bac49e9763")
"""Namespace of the uuid5 ids this module derives. Only non-personal natural keys go in."""

AGENCY_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 200
NOTES_MAX_LENGTH = 1000
REASON_MAX_LENGTH = 500
CHECK_CLOCK_SKEW = timedelta(minutes=5)


def camera_aggregate_id(camera_id: str) -> UUID:
    """The aggregate id of the camera the agency calls ``camera_id``."""
    return uuid5(ID_NAMESPACE, "camera:" + camera_id)


def capture_read_id(camera_id: str, capture_id: str) -> ReadId:
    """The id of the read a camera reported with ``capture_id``: the same capture, the same id.

    This is what makes ingest idempotent. Derived from the camera and the pipeline's capture id,
    never from the plate. The pair is JSON-encoded rather than joined with ":" so that camera
    "A:B" with capture "C" and camera "A" with capture "B:C" get different ids (otherwise one
    camera could make another's read look like a duplicate and have it dropped).
    """
    return ReadId(uuid5(ID_NAMESPACE, "read:" + json.dumps([camera_id, capture_id])))


# --------------------------------------------------------------------------------------------
# Commands and pure decisions
# --------------------------------------------------------------------------------------------


def parse_text(raw: object, *, field: str, max_length: int, required: bool) -> str:
    """Free text: surrounding whitespace stripped, at most ``max_length`` printable characters
    (newlines and tabs allowed), and non-empty when ``required``."""
    if not isinstance(raw, str):
        raise InvalidFieldError(field, f"{field}.type", "must be a string")
    text = raw.strip()
    if required and not text:
        raise InvalidFieldError(field, f"{field}.required", "must not be empty")
    if len(text) > max_length:
        raise InvalidFieldError(
            field, f"{field}.length", f"must be at most {max_length} characters, got {len(text)}"
        )
    if not text.replace("\n", "").replace("\t", "").isprintable():
        raise InvalidFieldError(field, f"{field}.charset", "must not contain control characters")
    return text


@dataclass(frozen=True, slots=True)
class RegisterCamera:
    """Register a camera (raw input; :func:`validate_registration` checks it).

    ``latitude``/``longitude`` is where a fixed or portable camera stands, or the home base of a
    mobile one; ``patrol_vehicle`` is required for mobile cameras and forbidden for fixed ones.
    """

    camera_id: str
    kind: str
    latitude: float
    longitude: float
    agency: str
    description: str = ""
    patrol_vehicle: str | None = None


@dataclass(frozen=True, slots=True)
class ValidRegistration:
    camera_id: CameraId
    kind: CameraKind
    location: Coordinates
    agency: str
    description: str
    patrol_vehicle: PatrolVehicleId | None


def validate_registration(cmd: RegisterCamera) -> ValidRegistration:
    """Validate ``cmd`` or raise :class:`InvalidFieldError` for the first broken rule."""
    camera_id = parse_identifier(cmd.camera_id, field="camera_id", max_length=CAMERA_ID_MAX_LENGTH)
    if "/" in camera_id:
        # The id is a path segment of /v1/cameras/{camera_id}; a slash could not be addressed.
        raise InvalidFieldError("camera_id", "camera_id.slash", "must not contain '/'")
    try:
        kind = parse_camera_kind(cmd.kind)
    except InvalidFieldError as e:
        raise e.renamed("kind") from None
    location = Coordinates(cmd.latitude, cmd.longitude)
    agency = parse_text(cmd.agency, field="agency", max_length=AGENCY_MAX_LENGTH, required=True)
    description = parse_text(
        cmd.description, field="description", max_length=DESCRIPTION_MAX_LENGTH, required=False
    )
    patrol_vehicle = cmd.patrol_vehicle
    if patrol_vehicle is not None:
        patrol_vehicle = parse_identifier(
            patrol_vehicle, field="patrol_vehicle", max_length=PATROL_VEHICLE_MAX_LENGTH
        )
    check_patrol_vehicle(kind, patrol_vehicle)
    return ValidRegistration(
        camera_id=CameraId(camera_id),
        kind=kind,
        location=location,
        agency=agency,
        description=description,
        patrol_vehicle=None if patrol_vehicle is None else PatrolVehicleId(patrol_vehicle),
    )


def check_deficiencies(*, function_ok: bool, alignment_ok: bool) -> tuple[str, ...]:
    """What an equipment check found wrong (IACP B.2 checks function and alignment); empty = passed."""
    found: list[str] = []
    if not function_ok:
        found.append("function")
    if not alignment_ok:
        found.append("alignment")
    return tuple(found)


def parse_checked_at(raw: datetime | None, now: datetime) -> datetime:
    """When the check was done: ``now`` if not given, else a timezone-aware time not in the future."""
    if raw is None:
        return now
    checked_at = to_utc(raw, field="checked_at", rule="checked_at")
    if checked_at - now > CHECK_CLOCK_SKEW:
        raise InvalidFieldError("checked_at", "checked_at.future", "must not lie in the future")
    return checked_at


@dataclass(frozen=True, slots=True)
class EquipmentCheck:
    """The outcome of one equipment check, as the aggregate holds it."""

    checked_at: datetime
    function_ok: bool
    alignment_ok: bool
    notes: str
    checked_by: str

    @property
    def passed(self) -> bool:
        return self.function_ok and self.alignment_ok


# --------------------------------------------------------------------------------------------
# Aggregate
# --------------------------------------------------------------------------------------------


class Camera(Aggregate):
    """A registered ALPR camera. State: where and what it is, whether it is in service, last check."""

    if TYPE_CHECKING:  # Declared for type checkers only: annotations would make a dataclass.
        camera_id: CameraId
        kind: CameraKind
        patrol_vehicle: PatrolVehicleId | None
        latitude: float
        longitude: float
        description: str
        agency: str
        registered_by: str
        in_service: bool
        out_of_service_reason: str | None
        last_check: EquipmentCheck | None

    class Event(Aggregate.Event):
        """Base class of every event of a Camera."""

    @dataclass(frozen=True)  # already made a dataclass by eventsourcing; this informs mypy
    class Registered(Event, Aggregate.Created):
        """The agency registered a camera (in service from now on)."""

        camera_id: str
        kind: str
        patrol_vehicle: str | None
        latitude: float
        longitude: float
        description: str
        agency: str
        registered_by: str

        def apply(self, aggregate: Camera) -> None:
            aggregate.camera_id = CameraId(self.camera_id)
            aggregate.kind = CameraKind(self.kind)
            patrol_vehicle = self.patrol_vehicle
            aggregate.patrol_vehicle = None if patrol_vehicle is None else PatrolVehicleId(patrol_vehicle)
            aggregate.latitude = self.latitude
            aggregate.longitude = self.longitude
            aggregate.description = self.description
            aggregate.agency = self.agency
            aggregate.registered_by = self.registered_by
            aggregate.in_service = True
            aggregate.out_of_service_reason = None
            aggregate.last_check = None

    @dataclass(frozen=True)
    class Checked(Event):
        """Personnel checked the camera's function and alignment (IACP B.2)."""

        checked_at: datetime
        function_ok: bool
        alignment_ok: bool
        notes: str
        checked_by: str

        def apply(self, aggregate: Camera) -> None:
            aggregate.last_check = EquipmentCheck(
                checked_at=self.checked_at,
                function_ok=self.function_ok,
                alignment_ok=self.alignment_ok,
                notes=self.notes,
                checked_by=self.checked_by,
            )

    @dataclass(frozen=True)
    class TakenOutOfService(Event):
        """The camera stopped being a source of reads; ingest refuses its reads from now on."""

        reason: str
        by: str

        def apply(self, aggregate: Camera) -> None:
            aggregate.in_service = False
            aggregate.out_of_service_reason = self.reason

    @dataclass(frozen=True)
    class ReturnedToService(Event):
        """The camera may send reads again."""

        by: str

        def apply(self, aggregate: Camera) -> None:
            aggregate.in_service = True
            aggregate.out_of_service_reason = None

    @classmethod
    def register(cls, valid: ValidRegistration, *, by: str, timestamp: datetime | None = None) -> Camera:
        """A new Camera with its pending ``Registered`` event."""
        fields: dict[str, Any] = {
            "camera_id": str(valid.camera_id),
            "kind": valid.kind.value,
            "patrol_vehicle": None if valid.patrol_vehicle is None else str(valid.patrol_vehicle),
            "latitude": valid.location.latitude,
            "longitude": valid.location.longitude,
            "description": valid.description,
            "agency": valid.agency,
            "registered_by": by,
        }
        return cls._create(
            cls.Registered, id=camera_aggregate_id(valid.camera_id), timestamp=timestamp, **fields
        )

    def record_check(
        self,
        *,
        function_ok: bool,
        alignment_ok: bool,
        notes: str,
        checked_by: str,
        checked_at: datetime,
    ) -> None:
        """Record a check; a failed one takes an in-service camera out of service (IACP B.2)."""
        self.trigger_event(
            self.Checked,
            checked_at=checked_at,
            function_ok=function_ok,
            alignment_ok=alignment_ok,
            notes=notes,
            checked_by=checked_by,
        )
        found = check_deficiencies(function_ok=function_ok, alignment_ok=alignment_ok)
        if found and self.in_service:
            self.trigger_event(
                self.TakenOutOfService,
                reason=f"equipment check failed: {' and '.join(found)} (IACP B.2)",
                by=checked_by,
            )

    def take_out_of_service(self, *, reason: str, by: str) -> None:
        if not self.in_service:
            raise ConflictError(
                "camera_id",
                "camera.already_out_of_service",
                f"camera {self.camera_id!r} is already out of service ({self.out_of_service_reason})",
            )
        self.trigger_event(self.TakenOutOfService, reason=reason, by=by)

    def return_to_service(self, *, by: str) -> None:
        if self.in_service:
            raise ConflictError("camera_id", "camera.in_service", f"camera {self.camera_id!r} is in service")
        if self.last_check is not None and not self.last_check.passed:
            # IACP B.2: removed from service "until deficiencies have been corrected"; a passing
            # check after the failed one is the record that they were.
            raise ConflictError(
                "camera_id",
                "camera.deficiency_uncorrected",
                f"the latest equipment check of camera {self.camera_id!r} failed; record a passing "
                "check before returning it to service (IACP B.2)",
            )
        self.trigger_event(self.ReturnedToService, by=by)

    @property
    def location(self) -> Coordinates:
        return Coordinates(self.latitude, self.longitude)


# --------------------------------------------------------------------------------------------
# Ingest decisions
# --------------------------------------------------------------------------------------------


def check_usable(camera: Camera | None, camera_id: str) -> Camera:
    """The camera a read names, if reads from it are accepted; otherwise the refusal."""
    if camera is None:
        raise InvalidFieldError(
            "camera_id", "camera.unknown", f"camera {camera_id!r} is not registered; register it first"
        )
    if not camera.in_service:
        raise InvalidFieldError(
            "camera_id",
            "camera.out_of_service",
            f"camera {camera_id!r} is out of service ({camera.out_of_service_reason}); "
            "its reads are refused until it is returned to service",
        )
    return camera


def check_read_kind(camera: Camera, kind: CameraKind) -> None:
    """A read must say the same camera kind as the camera's registration."""
    if kind is not camera.kind:
        raise InvalidFieldError(
            "camera_kind",
            "camera_kind.mismatch",
            f"camera {camera.camera_id!r} is registered as {camera.kind.value!r}, not {kind.value!r}",
        )


__all__ = [
    "AGENCY_MAX_LENGTH",
    "DESCRIPTION_MAX_LENGTH",
    "ID_NAMESPACE",
    "NOTES_MAX_LENGTH",
    "REASON_MAX_LENGTH",
    "Camera",
    "EquipmentCheck",
    "RegisterCamera",
    "ValidRegistration",
    "camera_aggregate_id",
    "capture_read_id",
    "check_deficiencies",
    "check_read_kind",
    "check_usable",
    "parse_checked_at",
    "parse_text",
    "validate_registration",
]
