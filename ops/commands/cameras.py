"""Cameras: registration, equipment checks (IACP B.2) and service state; the camera gate of ingest."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.camera import (
    NOTES_MAX_LENGTH,
    REASON_MAX_LENGTH,
    Camera,
    RegisterCamera,
    camera_aggregate_id,
    check_usable,
    parse_checked_at,
    parse_text,
    validate_registration,
)
from domain.errors import ConflictError, NotFoundError
from ops.commands.base import CommandsBase
from ops.commands.loading import find_aggregate

if TYPE_CHECKING:
    from ledger.blobs import BlobStore

_REGISTERED_TOPIC = get_topic(Camera.Registered)
_PAGE = 500


class CameraCommands(CommandsBase):
    # Set by the composition root (``AlprLedger(blobs=...)``); reads ingest stores images there.
    blobs: BlobStore

    # ---------------------------------------------------------------- commands

    def register_camera(self, command: RegisterCamera, *, by: str) -> Camera:
        """Register a camera; its reads are accepted from now on. 409 if the id is taken."""
        return self.register_cameras([command], by=by)[0]

    def register_cameras(
        self, commands: Sequence[RegisterCamera], *, by: str, existing_ok: bool = False
    ) -> list[Camera]:
        """Register several cameras in one transaction (demo and bootstrap). With ``existing_ok``
        a camera id that is already registered is left as it is and its current state returned."""
        now = self.clock()
        valid = [validate_registration(c) for c in commands]
        cameras: dict[str, Camera] = {}
        new: list[Camera] = []
        for v in valid:
            if v.camera_id in cameras:
                if existing_ok:
                    continue
                raise ConflictError("camera_id", "camera.exists", f"camera {v.camera_id!r} is given twice")
            existing = self.find_camera(v.camera_id)
            if existing is not None:
                if not existing_ok:
                    raise ConflictError(
                        "camera_id", "camera.exists", f"camera {v.camera_id!r} is already registered"
                    )
                cameras[v.camera_id] = existing
                continue
            camera = Camera.register(v, by=by, timestamp=now)
            cameras[v.camera_id] = camera
            new.append(camera)
        try:
            self.save(*new)
        except IntegrityError:  # registered concurrently between our look-up and save
            raise ConflictError("camera_id", "camera.exists", "camera is already registered") from None
        return [cameras[v.camera_id] for v in valid]

    def record_camera_check(
        self,
        camera_id: str,
        *,
        function_ok: bool,
        alignment_ok: bool,
        notes: str = "",
        by: str,
        checked_at: datetime | None = None,
    ) -> Camera:
        """Record an equipment check (IACP B.2); a failed one takes the camera out of service."""
        notes = parse_text(notes, field="notes", max_length=NOTES_MAX_LENGTH, required=False)
        when = parse_checked_at(checked_at, self.clock())
        camera = self.get_camera(camera_id)
        camera.record_check(
            function_ok=function_ok, alignment_ok=alignment_ok, notes=notes, checked_by=by, checked_at=when
        )
        self._save_camera(camera)
        return camera

    def take_camera_out_of_service(self, camera_id: str, *, reason: str, by: str) -> Camera:
        reason = parse_text(reason, field="reason", max_length=REASON_MAX_LENGTH, required=True)
        camera = self.get_camera(camera_id)
        camera.take_out_of_service(reason=reason, by=by)
        self._save_camera(camera)
        return camera

    def return_camera_to_service(self, camera_id: str, *, by: str) -> Camera:
        camera = self.get_camera(camera_id)
        camera.return_to_service(by=by)
        self._save_camera(camera)
        return camera

    # ---------------------------------------------------------------- queries

    def find_camera(self, camera_id: str) -> Camera | None:
        return find_aggregate(self.repository, camera_aggregate_id(camera_id), Camera)

    def get_camera(self, camera_id: str) -> Camera:
        camera = self.find_camera(camera_id)
        if camera is None:
            raise NotFoundError("camera_id", "camera.unknown", f"camera {camera_id!r} is not registered")
        return camera

    def list_cameras(self) -> list[Camera]:
        """Every registered camera in registration order, in its current state."""
        cameras: list[Camera] = []
        for aggregate_id in self._registered_ids():
            camera: object = self.repository.get(aggregate_id)
            if isinstance(camera, Camera):
                cameras.append(camera)
        return cameras

    def usable_camera(self, camera_id: str) -> Camera:
        """The camera, if reads from it are accepted; InvalidFieldError camera.unknown /
        camera.out_of_service otherwise (field "camera_id", for ingest to place under reads[i])."""
        return check_usable(self.find_camera(camera_id), camera_id)

    # ---------------------------------------------------------------- helpers

    def _registered_ids(self) -> Iterator[UUID]:
        # A simple view over the notification log; fine for the hundreds of cameras an agency has.
        start: int | None = None
        while True:
            page = self.recorder.select_notifications(
                start, _PAGE, topics=[_REGISTERED_TOPIC], inclusive_of_start=start is None
            )
            for notification in page:
                originator_id = notification.originator_id
                yield originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
            if len(page) < _PAGE:
                return
            start = page[-1].id

    def _save_camera(self, camera: Camera) -> None:
        try:
            self.save(camera)
        except IntegrityError:  # another request changed this camera since we loaded it
            raise ConflictError(
                "camera_id", "camera.concurrent_change", "the camera changed meanwhile; retry"
            ) from None
