"""Request and response shapes of ``POST /v1/reads``, and their mapping to ``RecordRead`` commands.

Accepted request bodies (one route, chosen by Content-Type):

* ``application/json``, our shape: ``{"reads": [ReadIn, ...]}`` (1..1000 reads).
* ``application/json``, an OpenALPR / Rekor Scout ``alpr_group`` webhook result: one plate group,
  mapped to one read (see :func:`read_from_alpr_group`). ``heartbeat`` messages and group
  previews (``is_preview: true``; the final group follows) are acknowledged and store nothing.
* ``multipart/form-data``: a part named ``reads`` holding either JSON document above, plus file
  parts ``plate_image[i]`` / ``vehicle_image[i]`` carrying the image bytes of read ``i`` (0-based;
  for an ``alpr_group`` document, ``i`` is 0).

Images inside JSON are base64 (a ``data:image/...;base64,`` prefix is allowed) or the SHA-256 hex
digest of an image already in the blob store. Either way the stored read carries the digest.

Field names here match ``RecordRead`` so that the service's errors ("reads[3].plate") name the
field the client sent; for ``alpr_group`` input they are renamed to the webhook's own fields.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from domain.camera import Camera
from domain.errors import InvalidFieldError
from domain.read import RecordRead
from domain.values import ISSUING_JURISDICTIONS, CameraKind
from ledger.blobs import blob_digest
from ops.commands.reads import MAX_BATCH, BatchRejectedError

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_DATA_URL = re.compile(r"data:image/[a-z.+-]+;base64,", re.IGNORECASE)
IMAGE_PART = re.compile(r"(plate_image|vehicle_image)\[(0|[1-9][0-9]{0,3})\]")

# --------------------------------------------------------------------------------------------
# Our JSON shape
# --------------------------------------------------------------------------------------------

_IMAGE_DOC = "base64 image bytes (JPEG or PNG), or the SHA-256 hex digest of an image already stored"


class VehicleIn(BaseModel):
    """What the pipeline saw of the vehicle; every key optional."""

    model_config = ConfigDict(extra="forbid")

    make: str | None = Field(default=None, examples=["Toyota"])
    model: str | None = Field(default=None, examples=["Camry"])
    colour: str | None = Field(default=None, examples=["white"])
    body_type: str | None = Field(default=None, examples=["sedan"])


class ReadIn(BaseModel):
    """One plate read. Values are checked by the service, which names the rule each one breaks."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "plate": "ABC1234",
                    "state": "NY",
                    "confidence": 0.94,
                    "camera_id": "FX-017",
                    "camera_kind": "fixed",
                    "latitude": 43.0481,
                    "longitude": -76.1474,
                    "captured_at": "2025-03-03T14:05:09.120Z",
                    "capture_id": "FX-017-000123456",
                    "vehicle": {"make": "Toyota", "model": "Camry", "colour": "white"},
                }
            ]
        },
    )

    plate: str = Field(description="Plate characters; spaces, hyphens and dots are removed")
    state: str | None = Field(default=None, description="Two-letter issuing jurisdiction; null if not read")
    confidence: float = Field(description="Recognition confidence from 0 to 1")
    camera_id: str = Field(description="The registered camera's id")
    camera_kind: str = Field(
        description="Must match the camera's registration",
        json_schema_extra={"enum": [k.value for k in CameraKind]},
    )
    latitude: float
    longitude: float
    captured_at: datetime = Field(description="With a UTC offset")
    patrol_vehicle: str | None = Field(default=None, description="Required for mobile cameras")
    capture_id: str | None = Field(
        default=None,
        description="The pipeline's id of this capture: retries with the same one are not stored twice",
    )
    vehicle: VehicleIn | None = None
    plate_image: str | None = Field(default=None, description=_IMAGE_DOC)
    vehicle_image: str | None = Field(default=None, description=_IMAGE_DOC)


class ReadsBatch(BaseModel):
    """A batch of reads, stored atomically: all of them, or none and an error for each bad one."""

    model_config = ConfigDict(extra="forbid")

    reads: list[ReadIn] = Field(description=f"1 to {MAX_BATCH} reads")


# --------------------------------------------------------------------------------------------
# OpenALPR / Rekor Scout alpr_group
# --------------------------------------------------------------------------------------------


class AlprAttribute(BaseModel):
    """One guess of a vehicle attribute, best first in its list (confidence in percent)."""

    name: str
    confidence: float | None = None


class AlprVehicle(BaseModel):
    model_config = ConfigDict(extra="allow")

    color: list[AlprAttribute] = Field(default_factory=list)
    make: list[AlprAttribute] = Field(default_factory=list)
    make_model: list[AlprAttribute] = Field(default_factory=list, examples=[[{"name": "toyota_camry"}]])
    body_type: list[AlprAttribute] = Field(default_factory=list, examples=[[{"name": "sedan-standard"}]])


class AlprCandidate(BaseModel):
    model_config = ConfigDict(extra="allow")

    plate: str
    confidence: float | None = None


class AlprBestPlate(BaseModel):
    model_config = ConfigDict(extra="allow")

    plate: str | None = None
    confidence: float | None = None
    region: str | None = None
    plate_crop_jpeg: str | None = Field(default=None, description="base64 JPEG of the plate")


class AlprGroup(BaseModel):
    """An OpenALPR agent / Rekor Scout ``alpr_group`` result: one vehicle's plate group.

    Only the fields used are listed; others are accepted and ignored.
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "version": 2,
                    "data_type": "alpr_group",
                    "epoch_start": 1741010709120,
                    "epoch_end": 1741010711480,
                    "agent_uid": "X7Q3BHD2K9",
                    "camera_id": 1414799424,
                    "uuids": ["X7Q3BHD2K9-1414799424-1741010709120"],
                    "best_uuid": "X7Q3BHD2K9-1414799424-1741010709120",
                    "best_plate_number": "ABC1234",
                    "best_confidence": 92.07,
                    "best_region": "us-ny",
                    "gps_latitude": 43.0481,
                    "gps_longitude": -76.1474,
                    "vehicle": {"color": [{"name": "white", "confidence": 88.1}]},
                }
            ]
        },
    )

    data_type: str = Field(description='"alpr_group"', examples=["alpr_group"])
    epoch_start: int = Field(description="Milliseconds since the Unix epoch: the capture time")
    camera_id: int | str = Field(description="Registered with us under the same id (as a string)")
    best_uuid: str | None = Field(default=None, description="The capture id (idempotency)")
    uuids: list[str] = Field(default_factory=list)
    best_plate_number: str | None = None
    best_confidence: float | None = Field(default=None, description="Percent, 0 to 100")
    best_region: str | None = Field(default=None, description='"us-ny", "ca-on" (or "ny" in version 1)')
    best_plate: AlprBestPlate | None = None
    candidates: list[AlprCandidate] = Field(default_factory=list)
    gps_latitude: float | None = None
    gps_longitude: float | None = None
    vehicle: AlprVehicle | None = None
    vehicle_crop_jpeg: str | None = Field(default=None, description="base64 JPEG of the vehicle")
    is_preview: bool = False
    agent_uid: str | None = None


class AlprMessage(BaseModel):
    """Any other OpenALPR message (``heartbeat``...): acknowledged when harmless."""

    model_config = ConfigDict(extra="allow")

    data_type: str


# Where each RecordRead field of a mapped alpr_group came from, to name it in errors.
_ALPR_FIELDS: dict[str, str] = {
    "plate": "best_plate_number",
    "state": "best_region",
    "confidence": "best_confidence",
    "camera_id": "camera_id",
    "camera_kind": "camera_id",
    "latitude": "gps_latitude",
    "longitude": "gps_longitude",
    "captured_at": "epoch_start",
    "patrol_vehicle": "camera_id",
    "capture_id": "best_uuid",
    "plate_image": "best_plate.plate_crop_jpeg",
    "vehicle_image": "vehicle_crop_jpeg",
    "vehicle": "vehicle",
}


def alpr_field(error: InvalidFieldError, *, position: int = 0) -> InvalidFieldError:
    """``reads[0].plate`` -> ``best_plate_number``: an error named as the webhook sender knows it."""
    prefix = f"reads[{position}]."
    if not error.field.startswith(prefix):
        return error
    ours = error.field[len(prefix) :]
    theirs = _ALPR_FIELDS.get(ours.split(".")[0])
    if theirs is None:
        return error
    return InvalidFieldError(theirs, error.rule, error.message)


def state_from_region(region: str | None) -> str | None:
    """OpenALPR region ("us-ny", "ca-on", version 1 "ny") to a two-letter issuing code, or None.

    Regions outside the US and Canada ("mx-nle", "eu-...") and unknown codes give no state: a
    read whose state cannot be placed is recorded without one rather than with a guess.
    """
    if not region:
        return None
    country, _, code = region.lower().rpartition("-")
    if country not in ("", "us", "ca"):
        return None
    code = code.upper()
    return code if code in ISSUING_JURISDICTIONS else None


def _top(attributes: list[AlprAttribute]) -> str | None:
    return attributes[0].name if attributes else None


def vehicle_from_alpr(vehicle: AlprVehicle | None) -> dict[str, str] | None:
    """Best guesses of make, model, colour and body type; make_model "toyota_camry" -> "camry"."""
    if vehicle is None:
        return None
    make = _top(vehicle.make)
    model = _top(vehicle.make_model)
    if model is not None and make is not None and model.lower().startswith(make.lower() + "_"):
        model = model[len(make) + 1 :]
    found = {
        "make": make,
        "model": model,
        "colour": _top(vehicle.color),
        "body_type": _top(vehicle.body_type),
    }
    kept = {k: v for k, v in found.items() if v}
    return kept or None


@dataclass
class Mapped:
    """Commands ready for the service, the images that came with them, and how to name errors."""

    reads: list[RecordRead]
    images: dict[str, bytes] = field(default_factory=dict)
    rename: Callable[[InvalidFieldError], InvalidFieldError] = lambda e: e


def read_from_alpr_group(group: AlprGroup, camera: Camera | None) -> Mapped:
    """One ``RecordRead`` from an alpr_group; ``camera`` is its registration (None if unknown).

    The group has no camera kind or patrol vehicle: both come from the registration. Location is
    the group's GPS fix, else (for fixed and portable cameras) the registered location; a mobile
    camera's read needs a GPS fix. The capture id is ``best_uuid`` (else the first of ``uuids``),
    so a webhook that retries is not stored twice. Confidence is converted from percent.
    """
    errors: list[InvalidFieldError] = []
    plate = group.best_plate_number or (group.best_plate.plate if group.best_plate else None)
    if not plate:
        errors.append(InvalidFieldError("best_plate_number", "best_plate_number.required", "is required"))
    capture_id = group.best_uuid or (group.uuids[0] if group.uuids else None)
    if not capture_id:
        errors.append(
            InvalidFieldError("best_uuid", "best_uuid.required", "is required (it makes retries idempotent)")
        )
    percent = group.best_confidence
    if percent is None and group.best_plate is not None:
        percent = group.best_plate.confidence
    if percent is None:
        errors.append(InvalidFieldError("best_confidence", "best_confidence.required", "is required"))
    try:
        captured_at = datetime.fromtimestamp(group.epoch_start / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        errors.append(
            InvalidFieldError("epoch_start", "epoch_start.range", "is not a valid time in milliseconds")
        )
        captured_at = datetime.now(UTC)
    kind = camera.kind if camera is not None else CameraKind.FIXED  # unknown: the service refuses it
    has_fix = group.gps_latitude is not None and group.gps_longitude is not None
    # Agents without a GPS receiver report 0, 0.
    if has_fix and group.gps_latitude == 0 and group.gps_longitude == 0:
        has_fix = False
    if has_fix:
        latitude, longitude = float(group.gps_latitude or 0), float(group.gps_longitude or 0)
    elif camera is not None and kind is not CameraKind.MOBILE:
        latitude, longitude = camera.latitude, camera.longitude
    elif camera is not None:
        errors.append(
            InvalidFieldError("gps_latitude", "gps.required", "a mobile camera's read needs its GPS position")
        )
        latitude = longitude = 0.0
    else:
        latitude = longitude = 0.0
    images: dict[str, bytes] = {}
    plate_image = vehicle_image = None
    crop = group.best_plate.plate_crop_jpeg if group.best_plate else None
    try:
        plate_image = image_ref(crop, "best_plate.plate_crop_jpeg", images)
    except InvalidFieldError as e:
        errors.append(e)
    try:
        vehicle_image = image_ref(group.vehicle_crop_jpeg, "vehicle_crop_jpeg", images)
    except InvalidFieldError as e:
        errors.append(e)
    if errors:
        raise BatchRejectedError(errors)
    assert plate is not None and percent is not None  # checked above
    read = RecordRead(
        plate=plate,
        state=state_from_region(group.best_region or (group.best_plate.region if group.best_plate else None)),
        confidence=percent / 100.0,
        camera_id=str(group.camera_id),
        camera_kind=kind.value,
        latitude=latitude,
        longitude=longitude,
        captured_at=captured_at,
        patrol_vehicle=None if camera is None or kind is CameraKind.FIXED else camera.patrol_vehicle,
        capture_id=capture_id,
        plate_image=plate_image,
        vehicle_image=vehicle_image,
        vehicle=vehicle_from_alpr(group.vehicle),
    )
    return Mapped([read], images, alpr_field)


# --------------------------------------------------------------------------------------------
# Images and our shape
# --------------------------------------------------------------------------------------------


def image_ref(raw: str | None, field: str, images: dict[str, bytes]) -> str | None:
    """A digest as given, or base64 decoded into ``images`` and replaced by its digest."""
    if raw is None or raw == "":
        return None
    if _SHA256_HEX.fullmatch(raw):
        return raw
    text = _DATA_URL.sub("", raw, count=1) if raw[:5].lower() == "data:" else raw
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidFieldError(
            field, "image.base64", "must be base64 image bytes or a 64-character lowercase SHA-256 digest"
        ) from None
    if not data:
        raise InvalidFieldError(field, "image.empty", "must not be empty")
    ref = blob_digest(data)
    images[ref] = data
    return ref


def reads_from_batch(batch: ReadsBatch, files: Mapping[tuple[str, int], bytes] | None = None) -> Mapped:
    """Our shape to commands; base64 images and multipart ``files`` (by field and position) are
    collected as images and replaced by digests."""
    files = files or {}
    images: dict[str, bytes] = {}
    reads: list[RecordRead] = []
    errors: list[InvalidFieldError] = []
    for (name, position), _ in files.items():
        if position >= len(batch.reads):
            errors.append(
                InvalidFieldError(f"{name}[{position}]", "image.unmatched", f"there is no reads[{position}]")
            )
    for position, r in enumerate(batch.reads):
        refs: dict[str, str | None] = {}
        for name in ("plate_image", "vehicle_image"):
            here = f"reads[{position}].{name}"
            raw: str | None = getattr(r, name)
            upload = files.get((name, position))
            try:
                if upload is not None:
                    if raw is not None:
                        raise InvalidFieldError(
                            here, "image.conflict", f"is given both in JSON and as part {name}[{position}]"
                        )
                    if not upload:
                        raise InvalidFieldError(f"{name}[{position}]", "image.empty", "must not be empty")
                    ref = blob_digest(upload)
                    images[ref] = upload
                    refs[name] = ref
                else:
                    refs[name] = image_ref(raw, here, images)
            except InvalidFieldError as e:
                errors.append(e)
        vehicle = (
            None if r.vehicle is None else {k: v for k, v in r.vehicle.model_dump().items() if v is not None}
        )
        reads.append(
            RecordRead(
                plate=r.plate,
                state=r.state,
                confidence=r.confidence,
                camera_id=r.camera_id,
                camera_kind=r.camera_kind,
                latitude=r.latitude,
                longitude=r.longitude,
                captured_at=r.captured_at,
                patrol_vehicle=r.patrol_vehicle,
                capture_id=r.capture_id,
                plate_image=refs.get("plate_image"),
                vehicle_image=refs.get("vehicle_image"),
                vehicle=vehicle,
            )
        )
    if errors:
        raise BatchRejectedError(errors)
    return Mapped(reads, images)


# --------------------------------------------------------------------------------------------
# Parsing a JSON document into one of the shapes
# --------------------------------------------------------------------------------------------


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "request"


def schema_errors(exc: ValidationError, *, prefix: str = "") -> list[InvalidFieldError]:
    """pydantic's errors as ours: "reads[3].plate" with rule "plate.type" / "plate.required"."""
    errors = []
    for e in exc.errors():
        loc = tuple(e.get("loc", ()))
        name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "request")
        kind = str(e.get("type", "invalid"))
        if kind == "missing":
            rule = f"{name}.required"
        elif kind == "extra_forbidden":
            rule = "field.unknown"
        else:
            rule = f"{name}.type"
        path = _path(loc)
        errors.append(InvalidFieldError(f"{prefix}{path}" if prefix else path, rule, str(e.get("msg", ""))))
    return errors


_BATCH = TypeAdapter(ReadsBatch)
_GROUP = TypeAdapter(AlprGroup)


@dataclass
class Document:
    """A parsed request document: exactly one of ``batch``/``group``, or neither (acknowledge)."""

    batch: ReadsBatch | None = None
    group: AlprGroup | None = None


def parse_document(raw: bytes | str) -> Document:
    """Our batch or an alpr_group from JSON text; InvalidFieldError / BatchRejectedError if not."""
    try:
        value: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidFieldError("request", "json.invalid", "the body is not valid JSON") from None
    except RecursionError:  # the parser's stack, not the client's problem to crash: answer 422
        raise InvalidFieldError(
            "request", "json.depth", "the body nests arrays or objects too deeply"
        ) from None
    if not isinstance(value, dict):
        raise InvalidFieldError(
            "request", "json.type", 'must be an object: {"reads": [...]} or an alpr_group'
        )
    data_type = value.get("data_type")
    if "reads" not in value and data_type is not None:
        if data_type == "heartbeat":
            return Document()
        if data_type != "alpr_group":
            raise InvalidFieldError(
                "data_type",
                "data_type.unsupported",
                f"{str(data_type)[:40]!r} is not accepted; send alpr_group results",
            )
        try:
            group = _GROUP.validate_python(value)
        except ValidationError as exc:
            raise BatchRejectedError(schema_errors(exc)) from None
        return Document() if group.is_preview else Document(group=group)
    try:
        return Document(batch=_BATCH.validate_python(value))
    except ValidationError as exc:
        raise BatchRejectedError(schema_errors(exc)) from None


# --------------------------------------------------------------------------------------------
# Response and OpenAPI
# --------------------------------------------------------------------------------------------


class ReadsIngested(BaseModel):
    read_ids: list[str] = Field(
        description="One per read in input order; a duplicate gets the id of the read already stored",
        examples=[["6f1c1a52-3f0e-5d8e-9b1f-3e1f3c2a9d10"]],
    )
    duplicates: list[int] = Field(
        description="Positions of reads already stored (same camera and capture id) or repeated in "
        "this batch; they were not stored again",
        examples=[[]],
    )
    hits: list[str] = Field(description="Ids of the hits the new reads raised", examples=[[]])


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` inlined (the OpenAPI document has no room for them
    under a hand-written request body; none of these models is recursive)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.removeprefix("#/$defs/")]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


def request_body_openapi() -> dict[str, Any]:
    """The documented request body of ``POST /v1/reads`` (JSON in two shapes, or multipart)."""
    json_schema = {"oneOf": [_inline(ReadsBatch.model_json_schema()), _inline(AlprGroup.model_json_schema())]}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": json_schema},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["reads"],
                        "properties": {
                            "reads": {
                                "type": "string",
                                "description": 'The JSON document: our {"reads": [...]} or an alpr_group',
                            }
                        },
                        "additionalProperties": {
                            "type": "string",
                            "format": "binary",
                            "description": "plate_image[i] / vehicle_image[i]: image bytes of read i",
                        },
                    }
                },
            },
        }
    }


__all__ = [
    "IMAGE_PART",
    "AlprGroup",
    "Document",
    "Mapped",
    "ReadIn",
    "ReadsBatch",
    "ReadsIngested",
    "alpr_field",
    "image_ref",
    "parse_document",
    "read_from_alpr_group",
    "reads_from_batch",
    "request_body_openapi",
    "schema_errors",
    "state_from_region",
    "vehicle_from_alpr",
]
