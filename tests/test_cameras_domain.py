"""Unit tests of the Camera aggregate and its pure decisions (no I/O)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.application import Application

from domain.camera import (
    Camera,
    RegisterCamera,
    camera_aggregate_id,
    capture_read_id,
    check_deficiencies,
    check_read_kind,
    check_usable,
    parse_checked_at,
    validate_registration,
)
from domain.errors import ConflictError, InvalidFieldError
from domain.values import CameraKind

NOW = datetime(2025, 3, 3, 14, 0, tzinfo=UTC)
FIXED = RegisterCamera("FX-1", "fixed", 43.05, -76.15, "Syracuse PD", "pole at Salina St")
MOBILE = RegisterCamera("MB-1", "mobile", 43.05, -76.15, "Syracuse PD", "car 12", patrol_vehicle="CAR-12")


def camera(cmd: RegisterCamera = FIXED) -> Camera:
    return Camera.register(validate_registration(cmd), by="admin", timestamp=NOW)


def rule_of(cmd: RegisterCamera) -> tuple[str, str]:
    with pytest.raises(InvalidFieldError) as info:
        validate_registration(cmd)
    return info.value.field, info.value.rule


def test_register_gives_id_from_camera_id_when_registered() -> None:
    cam = camera()
    assert cam.id == camera_aggregate_id("FX-1") != camera_aggregate_id("FX-2")
    assert cam.in_service and cam.last_check is None and cam.kind is CameraKind.FIXED


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"camera_id": " FX-1"}, ("camera_id", "camera_id.charset")),
        ({"camera_id": "NORTH/7"}, ("camera_id", "camera_id.slash")),
        ({"kind": "drone"}, ("kind", "camera_kind.unknown")),
        ({"latitude": 91.0}, ("latitude", "latitude.range")),
        ({"agency": "  "}, ("agency", "agency.required")),
        ({"description": "x" * 201}, ("description", "description.length")),
        ({"patrol_vehicle": "CAR-1"}, ("patrol_vehicle", "patrol_vehicle.forbidden")),
    ],
)
def test_validate_registration_refuses_when_field_breaks_rule(
    changes: dict[str, object], expected: tuple[str, str]
) -> None:
    assert rule_of(dataclasses.replace(FIXED, **changes)) == expected  # type: ignore[arg-type]


def test_validate_registration_requires_patrol_vehicle_when_mobile() -> None:
    assert rule_of(dataclasses.replace(MOBILE, patrol_vehicle=None)) == (
        "patrol_vehicle",
        "patrol_vehicle.required",
    )
    assert camera(MOBILE).patrol_vehicle == "CAR-12"


def test_check_deficiencies_names_function_and_alignment_when_they_fail() -> None:
    assert check_deficiencies(function_ok=True, alignment_ok=True) == ()
    assert check_deficiencies(function_ok=False, alignment_ok=True) == ("function",)
    assert check_deficiencies(function_ok=False, alignment_ok=False) == ("function", "alignment")


def test_record_check_takes_camera_out_of_service_when_check_fails() -> None:
    cam = camera()
    cam.record_check(function_ok=True, alignment_ok=False, notes="", checked_by="sgt", checked_at=NOW)
    assert not cam.in_service
    assert "alignment" in (cam.out_of_service_reason or "")
    assert [type(e).__name__ for e in cam.pending_events] == ["Registered", "Checked", "TakenOutOfService"]


def test_record_check_keeps_camera_in_service_when_check_passes() -> None:
    cam = camera()
    cam.record_check(function_ok=True, alignment_ok=True, notes="ok", checked_by="sgt", checked_at=NOW)
    assert cam.in_service and cam.last_check is not None and cam.last_check.passed


def test_return_to_service_refused_when_latest_check_failed() -> None:
    cam = camera()
    cam.record_check(function_ok=False, alignment_ok=True, notes="", checked_by="sgt", checked_at=NOW)
    with pytest.raises(ConflictError) as info:
        cam.return_to_service(by="sgt")
    assert info.value.rule == "camera.deficiency_uncorrected"
    cam.record_check(function_ok=True, alignment_ok=True, notes="fixed", checked_by="sgt", checked_at=NOW)
    assert not cam.in_service  # a passing check does not return it by itself
    cam.return_to_service(by="sgt")
    assert cam.in_service


def test_take_out_of_service_refused_when_already_out() -> None:
    cam = camera()
    cam.take_out_of_service(reason="road works", by="sgt")
    with pytest.raises(ConflictError) as info:
        cam.take_out_of_service(reason="again", by="sgt")
    assert info.value.rule == "camera.already_out_of_service"


def test_return_to_service_refused_when_in_service() -> None:
    with pytest.raises(ConflictError) as info:
        camera().return_to_service(by="sgt")
    assert info.value.rule == "camera.in_service"


def test_check_usable_refuses_when_unknown_or_out_of_service() -> None:
    with pytest.raises(InvalidFieldError) as unknown:
        check_usable(None, "FX-9")
    assert (unknown.value.field, unknown.value.rule) == ("camera_id", "camera.unknown")
    cam = camera()
    assert check_usable(cam, "FX-1") is cam
    cam.take_out_of_service(reason="vandalised", by="sgt")
    with pytest.raises(InvalidFieldError) as out:
        check_usable(cam, "FX-1")
    assert out.value.rule == "camera.out_of_service"


def test_check_read_kind_refuses_when_kind_differs_from_registration() -> None:
    check_read_kind(camera(), CameraKind.FIXED)
    with pytest.raises(InvalidFieldError) as info:
        check_read_kind(camera(), CameraKind.MOBILE)
    assert (info.value.field, info.value.rule) == ("camera_kind", "camera_kind.mismatch")


def test_capture_read_id_is_stable_and_unambiguous_when_ids_contain_colons() -> None:
    assert capture_read_id("FX-1", "42") == capture_read_id("FX-1", "42")
    assert capture_read_id("FX-1", "42") != capture_read_id("FX-2", "42")
    assert capture_read_id("A:B", "C") != capture_read_id("A", "B:C")


def test_parse_checked_at_refuses_when_naive_or_future() -> None:
    assert parse_checked_at(None, NOW) == NOW
    with pytest.raises(InvalidFieldError, match="UTC offset"):
        parse_checked_at(datetime(2025, 3, 3, 12, 0), NOW)
    with pytest.raises(InvalidFieldError) as info:
        parse_checked_at(NOW + timedelta(hours=1), NOW)
    assert info.value.rule == "checked_at.future"


def test_camera_replays_to_same_state_when_loaded_from_store() -> None:
    app: Application = Application()
    cam = camera(MOBILE)
    cam.record_check(function_ok=False, alignment_ok=True, notes="lens", checked_by="sgt", checked_at=NOW)
    app.save(cam)
    loaded = app.repository.get(cam.id)
    assert isinstance(loaded, Camera)
    assert (loaded.kind, loaded.patrol_vehicle, loaded.in_service) == (CameraKind.MOBILE, "CAR-12", False)
    assert loaded.last_check == cam.last_check
