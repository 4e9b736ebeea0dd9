"""Reads: validated batches saved atomically, with the hits they raise, in one transaction.

A batch is checked whole before anything is written: every read must be valid, come from a
registered camera that is in service, name that camera's kind, and reference only images that
are in the blob store or arrive with the batch. Any error rejects the whole batch, naming every
bad item. Reads that carry a capture id get an id derived from (camera id, capture id), so a
pipeline that retries a batch gets the same ids back and nothing is stored twice. A retry must
repeat the stored read exactly: different content under a used (camera id, capture id) refuses
the whole batch (409), so no device can pre-empt a camera's capture id to suppress its read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.camera import Camera, capture_read_id, check_read_kind, check_usable
from domain.errors import AccessDeniedError, ConflictError, InvalidFieldError
from domain.hit import Hit
from domain.read import Read, RecordRead, ValidRead, same_capture, validate_read
from domain.retention import read_day_due
from domain.values import ReadId
from ledger.keystore import KeyDestroyedError
from ledger.sealing_mapper import MissingDataKeyError
from ops.commands.cameras import CameraCommands
from ops.commands.hits import HitCommands
from ops.keys import read_kek, utc_day

MAX_BATCH = 1000
MAX_IMAGE_BYTES = 8 * 1024 * 1024
"""Largest image accepted (a full 4K JPEG frame is 1-3 MB; plate and vehicle crops far less)."""

_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
)
_IMAGE_FIELDS = ("plate_image", "vehicle_image")


class BatchRejectedError(ValueError):
    """A batch had invalid items; nothing of it was stored. ``errors`` holds one per bad item."""

    def __init__(self, errors: list[InvalidFieldError]) -> None:
        self.errors = errors
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first.field}: {first.message}{more}")


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What a batch did: ``read_ids`` in input order (the stored read's id for duplicates);
    ``duplicates`` the positions whose read was already stored or repeated earlier in the batch;
    ``hit_ids`` the hits raised by the newly stored reads."""

    read_ids: tuple[UUID, ...]
    duplicates: tuple[int, ...]
    hit_ids: tuple[UUID, ...]


def check_image_bytes(data: bytes, field: str) -> None:
    """Images must be JPEG or PNG and at most :data:`MAX_IMAGE_BYTES`."""
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidFieldError(
            field,
            "image.size",
            f"must be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MiB, got {len(data)} bytes",
        )
    if not any(data.startswith(signature) for signature, _ in _IMAGE_SIGNATURES):
        raise InvalidFieldError(field, "image.type", "must be a JPEG or PNG image")


def foreign_camera_position(batch: Sequence[RecordRead], bound_camera_id: str | None) -> int | None:
    """The first position whose read names a camera other than the one a device is bound to."""
    if bound_camera_id is None:
        return None
    for position, command in enumerate(batch):
        if command.camera_id != bound_camera_id:
            return position
    return None


def capture_conflict(position: int, read: ValidRead) -> ConflictError:
    """The error for a read whose (camera id, capture id) names a different read."""
    return ConflictError(
        f"reads[{position}].capture_id",
        "read.capture_id.conflict",
        f"camera {read.camera_id!r} capture {read.capture_id!r} is already recorded with different "
        "content; a retry must repeat the read exactly, a new capture needs a new capture id",
    )


class ReadCommands(HitCommands, CameraCommands):
    """Reads depend on cameras (known, in service) and raise hits in the same transaction."""

    def record_reads(self, batch: Sequence[RecordRead]) -> list[UUID]:
        """Validate and save a batch of reads atomically: all stored, or none and every error.

        Returns the read ids in input order; a read already stored (same camera and capture id)
        is not stored again and its existing id is returned.
        """
        return list(self.ingest_reads(batch).read_ids)

    def ingest_reads(
        self,
        batch: Sequence[RecordRead],
        *,
        images: Mapping[str, bytes] | None = None,
        bound_camera_id: str | None = None,
    ) -> IngestResult:
        """:meth:`record_reads` with images and the device's camera binding.

        ``images`` maps SHA-256 hex digests to image bytes that arrived with the batch; reads
        reference them (or images already in the blob store) by digest. They are written to the
        blob store only once the whole batch is accepted. ``bound_camera_id`` is the camera a
        device token is bound to: a read from any other camera refuses the batch (403).
        """
        if not batch:
            return IngestResult((), (), ())
        if len(batch) > MAX_BATCH:
            raise BatchRejectedError(
                [InvalidFieldError("reads", "batch.size", f"at most {MAX_BATCH} reads per batch")]
            )
        foreign = foreign_camera_position(batch, bound_camera_id)
        if foreign is not None:
            raise AccessDeniedError(
                f"reads[{foreign}].camera_id",
                "device.camera_bound",
                f"this device token may send reads of camera {bound_camera_id!r} only",
            )
        images = images or {}
        now = self.clock()
        valid = self._validate_batch(batch, images, now)

        # Ids: derived from (camera, capture) where a capture id is given, so retries collide.
        read_ids: list[ReadId | None] = []
        duplicates: list[int] = []
        first_at: dict[ReadId, int] = {}
        for position, v in enumerate(valid):
            if v.capture_id is None:
                read_ids.append(None)
                continue
            rid = capture_read_id(v.camera_id, v.capture_id)
            read_ids.append(rid)
            if rid in first_at:
                if not same_capture(v, Read.capture(valid[first_at[rid]], timestamp=now, read_id=rid)):
                    raise capture_conflict(position, v)
                duplicates.append(position)
            else:
                first_at[rid] = position

        repeated = set(duplicates)
        fresh = [p for p in range(len(valid)) if p not in repeated]
        reads: list[Read] = []
        hits: list[Hit] = []
        for attempt in range(3):
            reads = [Read.capture(valid[p], timestamp=now, read_id=read_ids[p]) for p in fresh]
            for p, read in zip(fresh, reads, strict=True):
                read_ids[p] = ReadId(read.id)
            if attempt == 0:
                self._store_images(reads, images)
            hits = self.raise_hits(reads)  # saved with the reads: one transaction
            try:
                self.save(*reads, *hits)
                break
            except IntegrityError:
                # Some read of this batch was stored before (a retry), perhaps concurrently.
                # Drop the stored ones and try again; the failed transaction left nothing behind.
                # Checked only after a conflict, so the normal path pays no look-ups.
                stored = {
                    p for p, read in zip(fresh, reads, strict=True) if self._stored_same(p, read, valid)
                }
                if not stored or attempt == 2:
                    raise
                duplicates.extend(stored)
                fresh = [p for p in fresh if p not in stored]
        # Every position has its id now: repeats and reads stored earlier share the stored one's.
        final_ids = tuple(rid for rid in read_ids if rid is not None)
        if len(final_ids) != len(batch):
            raise AssertionError("a read position got no id")  # pragma: no cover - invariant
        return IngestResult(
            read_ids=final_ids,
            duplicates=tuple(sorted(duplicates)),
            hit_ids=tuple(hit.id for hit in hits),
        )

    # ---------------------------------------------------------------- helpers

    def _validate_batch(
        self, batch: Sequence[RecordRead], images: Mapping[str, bytes], now: datetime
    ) -> list[ValidRead]:
        cameras: dict[str, Camera | None] = {}
        checked_images: dict[str, InvalidFieldError | None] = {}
        valid: list[ValidRead] = []
        errors: list[InvalidFieldError] = []
        for position, command in enumerate(batch):
            try:
                v = validate_read(command, now)
                self._check_within_retention(v, now)
                if v.camera_id not in cameras:
                    cameras[v.camera_id] = self.find_camera(v.camera_id)
                camera = check_usable(cameras[v.camera_id], v.camera_id)
                check_read_kind(camera, v.camera_kind)
                # A retry may omit images already sealed for this read (same camera and capture id).
                rid = None if v.capture_id is None else capture_read_id(v.camera_id, v.capture_id)
                for field in _IMAGE_FIELDS:
                    ref = getattr(v, field)
                    if ref is not None:
                        self._check_image_ref(ref.sha256, field, images, checked_images, rid)
                valid.append(v)
            except InvalidFieldError as exc:
                errors.append(exc.within(f"reads[{position}]"))
        if errors:
            raise BatchRejectedError(errors)
        return valid

    def _check_within_retention(self, read: ValidRead, now: datetime) -> None:
        """A read whose capture day has already fallen due under the profile is not stored: its
        day's key may already be destroyed, and keeping it would break the retention rule."""
        due = read_day_due(utc_day(read.captured_at), self.policy)
        if due <= now:
            clause = self.policy.read_retention.clause
            raise InvalidFieldError(
                "captured_at",
                "read.captured_at.past_retention",
                f"its capture day fell due for destruction at {due.isoformat()} under the "
                f"{self.policy.name} profile ({clause.ref}); a read that old is not stored",
            )

    def _check_image_ref(
        self,
        sha256: str,
        field: str,
        images: Mapping[str, bytes],
        checked: dict[str, InvalidFieldError | None],
        read_id: UUID | None,
    ) -> None:
        if sha256 not in checked:
            error: InvalidFieldError | None = None
            data = images.get(sha256)
            if data is not None:
                try:
                    check_image_bytes(data, field)
                except InvalidFieldError as exc:
                    error = exc
            checked[sha256] = error
            if data is None and (read_id is None or not self.blobs.exists(sha256, record_id=read_id)):
                # Images are sealed per read, so one read cannot borrow another read's image.
                raise InvalidFieldError(
                    field,
                    "image.missing",
                    f"references image {sha256}, which is not in this request (nor stored for this read)",
                )
        error = checked[sha256]
        if error is not None:
            raise error.renamed(field)

    def _store_images(self, reads: Sequence[Read], images: Mapping[str, bytes]) -> None:
        # Before the events: a stored read must never reference a missing blob. Each image is sealed
        # under its read's data key (created here; the save finds it). If the save then fails, the
        # blobs stay unreferenced and a retry (same read id) reuses them.
        with_images = [r for r in reads if r.plate_image is not None or r.vehicle_image is not None]
        if not with_images:
            return
        if self.keystore is None:
            raise MissingDataKeyError("no key store is configured: images cannot be stored")
        try:
            keys = self.keystore.create_data_keys_under(
                [(r.id, read_kek(r.captured_at)) for r in with_images]
            )
        except KeyDestroyedError as exc:  # the day was shredded between the checks and now
            raise ConflictError(
                "reads", "retention.key_destroyed", f"{exc}: the read falls in a period already shredded"
            ) from exc
        for read in with_images:
            for sha256 in {read.plate_image, read.vehicle_image} - {None}:
                assert sha256 is not None
                data = images.get(sha256)
                if data is None or self.blobs.exists(sha256, record_id=read.id):
                    continue
                if self.blobs.put(data, record_id=read.id, key=keys[read.id]) != sha256:
                    raise ValueError(f"image given as {sha256} has a different SHA-256")

    def _stored_same(self, position: int, read: Read, valid: Sequence[ValidRead]) -> bool:
        """Whether ``read`` is already stored (with the same content; different content: 409)."""
        try:
            stored: object = self.repository.get(read.id)
        except AggregateNotFoundError:
            return False
        if not isinstance(stored, Read) or not same_capture(valid[position], stored):
            raise capture_conflict(position, valid[position])
        return True

    def read_image(self, read_id: UUID, sha256: str) -> bytes | None:
        """An image of a read, opened with the read's data key; None once the read is purged."""
        key = None if self.keystore is None else self.keystore.data_key(read_id)
        if key is None:
            return None
        return self.blobs.get(sha256, record_id=read_id, key=key)
