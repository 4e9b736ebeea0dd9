"""``/v1/cameras``: register cameras, record equipment checks (IACP B.2), take them out of service
and back; list and show them. Reads are accepted only from registered cameras in service.

Camera ids are the agency's own strings; they never contain "/" (registration refuses it), so
one path segment holds any of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Authorize, RuntimeDep
from api.schemas_common import copied
from domain.account import Principal
from domain.camera import Camera, RegisterCamera
from domain.values import CameraKind

router = APIRouter(prefix="/v1/cameras", tags=["cameras"])


class RegisterCameraIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "camera_id": "FX-017",
                    "kind": "fixed",
                    "latitude": 43.0481,
                    "longitude": -76.1474,
                    "agency": "Syracuse Police Department",
                    "description": "Pole at S Salina St and E Fayette St, facing north",
                },
                {
                    "camera_id": "MB-003",
                    "kind": "mobile",
                    "patrol_vehicle": "CAR-12",
                    "latitude": 43.0425,
                    "longitude": -76.1508,
                    "agency": "Syracuse Police Department",
                    "description": "Roof-mounted pair, car 12; base: 4th precinct",
                },
            ]
        },
    )

    camera_id: str = Field(description="The agency's id of the camera, as reads will name it")
    kind: str = Field(json_schema_extra={"enum": [k.value for k in CameraKind]})
    latitude: float = Field(description="Where it stands; for a mobile camera, its home base")
    longitude: float
    agency: str
    description: str = ""
    patrol_vehicle: str | None = Field(default=None, description="Required for mobile cameras")


class CameraCheckIn(BaseModel):
    """An equipment check: IACP B.2, "functionality and camera alignment". A failed check takes the
    camera out of service until a passing check is recorded and it is returned."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"function_ok": True, "alignment_ok": False, "notes": "aimed 10° low"}]
        },
    )

    function_ok: bool
    alignment_ok: bool
    notes: str = ""
    checked_at: datetime | None = Field(default=None, description="When it was done; default now")


class OutOfServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "pole replaced"}]})

    reason: str


class CameraCheckOut(BaseModel):
    checked_at: datetime
    function_ok: bool
    alignment_ok: bool
    passed: bool
    notes: str
    checked_by: str


class CameraOut(BaseModel):
    id: str = Field(description="Id of the camera's record in the ledger")
    camera_id: str
    kind: str
    patrol_vehicle: str | None
    latitude: float
    longitude: float
    agency: str
    description: str
    registered_at: datetime
    registered_by: str
    in_service: bool
    out_of_service_reason: str | None
    last_check: CameraCheckOut | None

    @classmethod
    def of(cls, camera: Camera) -> CameraOut:
        check = camera.last_check
        return copied(
            cls,
            camera,
            id=str(camera.id),
            kind=camera.kind.value,
            registered_at=camera.created_on,
            last_check=None if check is None else copied(CameraCheckOut, check),
        )


class CameraList(BaseModel):
    cameras: list[CameraOut]


@router.post("", status_code=201, response_model=CameraOut, summary="Register a camera")
def register_camera(
    body: RegisterCameraIn, runtime: RuntimeDep, who: Annotated[Principal, Authorize("cameras.manage")]
) -> CameraOut:
    command = RegisterCamera(**body.model_dump())
    return CameraOut.of(runtime.app.register_camera(command, by=who.login))


@router.get("", response_model=CameraList, summary="List cameras")
def list_cameras(runtime: RuntimeDep, who: Annotated[Principal, Authorize("cameras.read")]) -> CameraList:
    return CameraList(cameras=[CameraOut.of(c) for c in runtime.app.list_cameras()])


@router.post(
    "/{camera_id}/checks", status_code=201, response_model=CameraOut, summary="Record an equipment check"
)
def record_check(
    camera_id: str,
    body: CameraCheckIn,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("cameras.check")],
) -> CameraOut:
    camera = runtime.app.record_camera_check(
        camera_id,
        function_ok=body.function_ok,
        alignment_ok=body.alignment_ok,
        notes=body.notes,
        by=who.login,
        checked_at=body.checked_at,
    )
    return CameraOut.of(camera)


@router.post("/{camera_id}/out-of-service", response_model=CameraOut, summary="Take out of service")
def take_out_of_service(
    camera_id: str,
    body: OutOfServiceIn,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("cameras.manage")],
) -> CameraOut:
    return CameraOut.of(runtime.app.take_camera_out_of_service(camera_id, reason=body.reason, by=who.login))


@router.post("/{camera_id}/return-to-service", response_model=CameraOut, summary="Return to service")
def return_to_service(
    camera_id: str, runtime: RuntimeDep, who: Annotated[Principal, Authorize("cameras.manage")]
) -> CameraOut:
    return CameraOut.of(runtime.app.return_camera_to_service(camera_id, by=who.login))


@router.get("/{camera_id}", response_model=CameraOut, summary="Show a camera")
def get_camera(
    camera_id: str, runtime: RuntimeDep, who: Annotated[Principal, Authorize("cameras.read")]
) -> CameraOut:
    return CameraOut.of(runtime.app.get_camera(camera_id))
