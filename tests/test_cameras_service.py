"""Camera commands through the application service, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.camera import Camera
from domain.errors import ConflictError, InvalidFieldError, NotFoundError
from ledger.verify._entry import decode_entry
from ops.bootstrap import Runtime
from tests.cameras_support import ids, register


def test_register_camera_stores_registration_with_ledger_entry_when_new(runtime: Runtime) -> None:
    cam = register(runtime, "FX-1")
    assert runtime.ledger.size() == 1
    entry = decode_entry(runtime.ledger.entries(0, 1)[0][1])
    assert entry.originator_id == str(cam.id) and entry.topic.endswith("Camera.Registered")
    loaded = runtime.app.get_camera("FX-1")
    assert (loaded.camera_id, loaded.agency, loaded.registered_by) == (
        "FX-1",
        "Syracuse PD (synthetic)",
        "tests",
    )


def test_register_camera_refuses_when_already_registered(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    with pytest.raises(ConflictError) as info:
        register(runtime, "FX-1", "portable")
    assert info.value.rule == "camera.exists"
    assert runtime.ledger.size() == 1


def test_get_camera_raises_not_found_when_unknown(runtime: Runtime) -> None:
    with pytest.raises(NotFoundError) as info:
        runtime.app.get_camera("nope")
    assert info.value.rule == "camera.unknown"


def test_list_cameras_returns_current_state_in_registration_order_when_several(runtime: Runtime) -> None:
    register(runtime, "FX-2")
    register(runtime, "MB-1", "mobile", patrol_vehicle="CAR-12")
    register(runtime, "PT-1", "portable")
    runtime.app.take_camera_out_of_service("MB-1", reason="in the shop", by="sgt")
    cameras = runtime.app.list_cameras()
    assert ids(cameras) == ["FX-2", "MB-1", "PT-1"]
    assert [c.in_service for c in cameras] == [True, False, True]


def test_record_camera_check_takes_camera_out_of_service_when_check_fails(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    runtime.app.record_camera_check("FX-1", function_ok=True, alignment_ok=False, notes="tilted", by="sgt")
    cam = runtime.app.get_camera("FX-1")
    assert not cam.in_service and cam.last_check is not None and cam.last_check.checked_by == "sgt"
    with pytest.raises(InvalidFieldError) as refused:
        runtime.app.usable_camera("FX-1")
    assert refused.value.rule == "camera.out_of_service"
    # Registered + Checked + TakenOutOfService, all in the ledger
    assert runtime.ledger.size() == 3


def test_return_camera_to_service_refused_until_passing_check_when_check_failed(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    runtime.app.record_camera_check("FX-1", function_ok=False, alignment_ok=True, by="sgt")
    with pytest.raises(ConflictError) as info:
        runtime.app.return_camera_to_service("FX-1", by="sgt")
    assert info.value.rule == "camera.deficiency_uncorrected"
    runtime.app.record_camera_check("FX-1", function_ok=True, alignment_ok=True, notes="re-aimed", by="sgt")
    cam = runtime.app.return_camera_to_service("FX-1", by="sgt")
    assert cam.in_service
    assert runtime.app.usable_camera("FX-1").in_service


def test_record_camera_check_keeps_given_time_when_check_was_earlier(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    earlier = datetime.now(UTC) - timedelta(hours=2)
    cam = runtime.app.record_camera_check(
        "FX-1", function_ok=True, alignment_ok=True, by="sgt", checked_at=earlier
    )
    assert cam.last_check is not None and cam.last_check.checked_at == earlier


def test_take_camera_out_of_service_requires_reason_when_blank(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    with pytest.raises(InvalidFieldError) as info:
        runtime.app.take_camera_out_of_service("FX-1", reason=" ", by="sgt")
    assert info.value.rule == "reason.required"
    assert runtime.app.get_camera("FX-1").in_service


def test_register_cameras_leaves_existing_when_existing_ok(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    runtime.app.take_camera_out_of_service("FX-1", reason="road works", by="sgt")
    size = runtime.ledger.size()
    from tests.cameras_support import city, register_city_cameras

    cameras = register_city_cameras(runtime, city())
    again = register_city_cameras(runtime, city())
    assert ids(cameras) == ids(again)
    assert all(isinstance(c, Camera) for c in again)
    assert runtime.ledger.size() == size + len(cameras)


def test_camera_command_answers_conflict_when_camera_changed_meanwhile(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    stale = runtime.app.get_camera("FX-1")
    runtime.app.take_camera_out_of_service("FX-1", reason="road works", by="sgt")
    stale.record_check(
        function_ok=True, alignment_ok=True, notes="", checked_by="sgt", checked_at=runtime.app.clock()
    )
    with pytest.raises(ConflictError) as info:
        runtime.app._save_camera(stale)
    assert info.value.rule == "camera.concurrent_change"
