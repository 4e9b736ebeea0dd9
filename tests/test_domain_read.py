"""Unit tests of the Read aggregate, its Captured event, RecordRead and validate_read."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application

from domain.errors import InvalidFieldError
from domain.read import MAX_CLOCK_SKEW, Read, RecordRead, ValidRead, validate_read
from domain.values import CameraKind, ReadId

NOW = datetime(2025, 3, 3, 14, 0, tzinfo=UTC)
SHA_A = "a" * 64
SHA_B = "0123456789abcdef" * 4
EVENT_FIELDS = {
    "originator_id",
    "originator_version",
    "timestamp",
    "originator_topic",
    "plate",
    "state",
    "confidence",
    "camera_id",
    "camera_kind",
    "patrol_vehicle",
    "latitude",
    "longitude",
    "captured_at",
    "capture_id",
    "plate_image",
    "vehicle_image",
    "vehicle",
}


def command(**changes: object) -> RecordRead:
    base = RecordRead(
        plate="abc-1234",
        state="ny",
        confidence=0.93,
        camera_id="FX-001",
        camera_kind="fixed",
        latitude=43.0481,
        longitude=-76.1474,
        captured_at=NOW - timedelta(seconds=2),
        capture_id="FX-001:000000001",
        plate_image=SHA_A,
        vehicle_image=SHA_B,
        vehicle={"make": "Toyota", "model": "Camry", "colour": "white", "body_type": "sedan"},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def rule_of(cmd: RecordRead, now: datetime = NOW) -> tuple[str, str]:
    with pytest.raises(InvalidFieldError) as info:
        validate_read(cmd, now)
    assert info.value.message
    return info.value.field, info.value.rule


# -------------------------------------------------------------------------------- validation


def test_validate_read_normalises_when_input_is_valid():
    valid = validate_read(command(), NOW)
    assert valid.plate.value == "ABC1234"
    assert valid.state is not None and valid.state.value == "NY"
    assert valid.camera_kind is CameraKind.FIXED
    assert valid.location.latitude == 43.0481
    assert valid.vehicle is not None and valid.vehicle.make == "Toyota"
    assert valid.plate_image is not None and valid.plate_image.sha256 == SHA_A


def test_validate_read_converts_to_utc_when_capture_time_has_another_offset():
    eastern = timezone(timedelta(hours=-5))
    valid = validate_read(command(captured_at=datetime(2025, 3, 3, 8, 30, tzinfo=eastern)), NOW)
    assert valid.captured_at == datetime(2025, 3, 3, 13, 30, tzinfo=UTC)
    assert valid.captured_at.tzinfo is UTC


def test_validate_read_accepts_minimal_input_when_optionals_are_absent():
    valid = validate_read(
        command(state=None, capture_id=None, plate_image=None, vehicle_image=None, vehicle=None),
        NOW,
    )
    assert (valid.state, valid.capture_id, valid.plate_image, valid.vehicle) == (
        None,
        None,
        None,
        None,
    )


def test_validate_read_accepts_capture_time_when_exactly_at_skew_limit():
    assert validate_read(command(captured_at=NOW + MAX_CLOCK_SKEW), NOW).captured_at == (NOW + MAX_CLOCK_SKEW)


def test_validate_read_drops_vehicle_when_every_characteristic_is_null():
    assert validate_read(command(vehicle={"make": None}), NOW).vehicle is None
    assert validate_read(command(vehicle={}), NOW).vehicle is None


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"plate": "ABC_123"}, "plate", "plate.charset"),
        ({"plate": ""}, "plate", "plate.empty"),
        ({"plate": "ABCDE12345"}, "plate", "plate.length"),
        ({"state": "XX"}, "state", "state.unknown"),
        ({"state": "New York"}, "state", "state.format"),
        ({"confidence": 1.01}, "confidence", "confidence.range"),
        ({"confidence": -0.1}, "confidence", "confidence.range"),
        ({"confidence": float("nan")}, "confidence", "confidence.range"),
        ({"confidence": "0.9"}, "confidence", "confidence.type"),
        ({"confidence": True}, "confidence", "confidence.type"),
        ({"camera_id": ""}, "camera_id", "camera_id.length"),
        ({"camera_id": "C" * 65}, "camera_id", "camera_id.length"),
        ({"camera_id": "FX 001 "}, "camera_id", "camera_id.charset"),
        ({"camera_kind": "drone"}, "camera_kind", "camera_kind.unknown"),
        ({"latitude": 91.0}, "latitude", "latitude.range"),
        ({"longitude": -181.0}, "longitude", "longitude.range"),
        ({"captured_at": "2025-03-03T13:59:58Z"}, "captured_at", "captured_at.type"),
        ({"captured_at": datetime(2025, 3, 3, 13, 59)}, "captured_at", "captured_at.naive"),
        (
            {"captured_at": NOW + MAX_CLOCK_SKEW + timedelta(microseconds=1)},
            "captured_at",
            "captured_at.future",
        ),
        ({"patrol_vehicle": "PV-101"}, "patrol_vehicle", "patrol_vehicle.forbidden"),
        (
            {"camera_kind": "mobile", "patrol_vehicle": None},
            "patrol_vehicle",
            "patrol_vehicle.required",
        ),
        (
            {"camera_kind": "mobile", "patrol_vehicle": ""},
            "patrol_vehicle",
            "patrol_vehicle.length",
        ),
        ({"capture_id": "x" * 129}, "capture_id", "capture_id.length"),
        ({"capture_id": "\tx"}, "capture_id", "capture_id.charset"),
        ({"plate_image": SHA_A.upper()}, "plate_image", "image.format"),
        ({"vehicle_image": "abc"}, "vehicle_image", "image.format"),
        ({"vehicle": {"make": ""}}, "vehicle.make", "make.length"),
        ({"vehicle": {"colour": "red\tblue"}}, "vehicle.colour", "colour.charset"),
        ({"vehicle": {"color": "red"}}, "vehicle.color", "vehicle.key"),
        ({"vehicle": "Toyota"}, "vehicle", "vehicle.type"),
    ],
)
def test_validate_read_rejects_naming_field_and_rule_when_a_rule_is_broken(changes, field, rule):
    assert rule_of(command(**changes)) == (field, rule)


def test_validate_read_accepts_portable_camera_when_patrol_vehicle_is_given_or_not():
    with_vehicle = validate_read(command(camera_kind="portable", patrol_vehicle="TR-7"), NOW)
    without = validate_read(command(camera_kind="portable"), NOW)
    assert (with_vehicle.patrol_vehicle, without.patrol_vehicle) == ("TR-7", None)


def test_validate_read_reports_first_field_in_command_order_when_several_are_broken():
    assert rule_of(command(plate="", state="XX", confidence=2.0))[0] == "plate"
    assert rule_of(command(state="XX", confidence=2.0))[0] == "state"


def test_validate_read_error_nests_under_batch_index_when_caller_prefixes_it():
    with pytest.raises(InvalidFieldError) as info:
        validate_read(command(vehicle={"make": ""}), NOW)
    assert info.value.within("reads[3]").field == "reads[3].vehicle.make"


# -------------------------------------------------------------------------------- aggregate


def captured(**changes: object) -> Read:
    return Read.capture(validate_read(command(**changes), NOW), timestamp=NOW)


def test_capture_creates_version_one_with_one_pending_event_when_given_valid_read():
    read = captured()
    assert read.version == 1
    assert read.created_on == NOW
    events = read.collect_events()
    assert len(events) == 1 and isinstance(events[0], Read.Captured)
    assert read.collect_events() == []


def test_capture_sets_state_from_event_when_created():
    read = captured(camera_kind="mobile", patrol_vehicle="PV-101", state=None)
    assert (read.plate, read.state, read.confidence) == ("ABC1234", None, 0.93)
    assert (read.camera_id, read.camera_kind, read.patrol_vehicle) == (
        "FX-001",
        CameraKind.MOBILE,
        "PV-101",
    )
    assert (read.location.latitude, read.location.longitude) == (43.0481, -76.1474)
    assert read.captured_at == NOW - timedelta(seconds=2)
    assert (read.capture_id, read.plate_image, read.vehicle_image) == (
        "FX-001:000000001",
        SHA_A,
        SHA_B,
    )
    assert read.vehicle == {
        "make": "Toyota",
        "model": "Camry",
        "colour": "white",
        "body_type": "sedan",
    }


def test_captured_event_holds_only_json_primitives_when_created():
    event = captured().collect_events()[0]
    state = vars(event)
    assert set(state) == EVENT_FIELDS
    assert {f.name for f in dataclasses.fields(event)} == EVENT_FIELDS
    assert state["camera_kind"] == "fixed" and type(state["camera_kind"]) is str
    assert type(state["latitude"]) is float and type(state["longitude"]) is float
    plain = {k: v for k, v in state.items() if k not in {"originator_id", "timestamp", "captured_at"}}
    assert json.loads(json.dumps(plain)) == plain  # no enums, value objects or tuples


def test_capture_matches_stock_event_construction_when_taking_fast_path():
    event = captured().collect_events()[0]
    stock = Read.Captured(**vars(event))
    assert stock == event
    assert vars(stock) == vars(event)


def test_capture_equals_replay_of_its_event_when_reconstructed_by_stock_mutate():
    read = captured()
    (event,) = read.collect_events()
    replayed = event.mutate(None)
    assert replayed == read
    assert isinstance(replayed, Read)


def test_capture_round_trips_through_default_json_transcoder_when_saved():
    app = Application()  # in-memory recorder, stock mapper and transcodings
    read = captured(camera_kind="mobile", patrol_vehicle="PV-101")
    app.save(read)
    copy = app.repository.get(read.id)
    assert copy == read
    assert copy.camera_kind is CameraKind.MOBILE
    assert copy.captured_at == NOW - timedelta(seconds=2)


def test_capture_uses_random_uuid4_when_no_id_given():
    valid = validate_read(command(), NOW)
    first, second = Read.capture(valid), Read.capture(valid)
    assert first.id != second.id  # same plate, different ids: nothing derived from the plate
    assert isinstance(first.id, UUID) and first.id.version == 4


def test_capture_uses_given_id_and_timestamp_when_injected():
    read_id = ReadId(uuid4())
    read = Read.capture(validate_read(command(), NOW), timestamp=NOW, read_id=read_id)
    assert read.id == read_id
    assert read.collect_events()[0].timestamp == NOW


def test_capture_stamps_current_utc_time_when_no_timestamp_given():
    before = datetime.now(UTC)
    read = Read.capture(validate_read(command(), NOW))
    assert before <= read.created_on <= datetime.now(UTC)
    assert read.created_on.utcoffset() == timedelta(0)


def test_aggregate_vehicle_is_a_copy_when_changed_after_capture():
    read = captured()
    event = read.pending_events[0]
    assert read.vehicle is not None
    read.vehicle["make"] = "Ford"
    assert vars(event)["vehicle"]["make"] == "Toyota"


def test_capture_records_no_vehicle_when_characteristics_are_absent():
    read = captured(vehicle=None, plate_image=None, vehicle_image=None)
    assert (read.vehicle, read.plate_image, read.vehicle_image) == (None, None, None)


def test_valid_read_is_frozen_when_built():
    valid = validate_read(command(), NOW)
    assert isinstance(valid, ValidRead)
    with pytest.raises(dataclasses.FrozenInstanceError):
        valid.confidence = 0.1  # type: ignore[misc]
