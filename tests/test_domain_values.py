"""Unit tests of the domain's value objects and the pure functions behind them."""

from __future__ import annotations

import math
import pickle
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidFieldError
from domain.values import (
    CANADIAN_JURISDICTIONS,
    ISSUING_JURISDICTIONS,
    US_DISTRICT_AND_TERRITORIES,
    US_STATES,
    CameraKind,
    Coordinates,
    ImageRef,
    PlateText,
    StateCode,
    VehicleCharacteristics,
    normalise_plate,
    parse_camera_kind,
    parse_identifier,
    parse_plate,
    to_utc,
)

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def rule_of(call: object) -> tuple[str, str]:
    """(field, rule) of the InvalidFieldError that calling ``call`` raises."""
    assert callable(call)
    with pytest.raises(InvalidFieldError) as info:
        call()
    assert info.value.message, "an error must explain itself"
    return info.value.field, info.value.rule


# -------------------------------------------------------------------------------- errors


def test_within_prefixes_field_when_error_is_nested():
    error = InvalidFieldError("plate", "plate.charset", "letters and digits only")
    nested = error.within("reads[3]")
    assert (nested.field, nested.rule, nested.message) == (
        "reads[3].plate",
        "plate.charset",
        "letters and digits only",
    )


def test_renamed_keeps_rule_when_field_is_renamed():
    error = InvalidFieldError("image", "image.format", "hex").renamed("plate_image")
    assert (error.field, error.rule) == ("plate_image", "image.format")


def test_error_survives_pickling_when_sent_between_processes():
    error = pickle.loads(pickle.dumps(InvalidFieldError("state", "state.unknown", "no such")))
    assert (error.field, error.rule, error.message) == ("state", "state.unknown", "no such")
    assert isinstance(error, ValueError)


# -------------------------------------------------------------------------------- plates


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("abc1234", "ABC1234"), ("ABC-1234", "ABC1234"), (" 1abc 234 ", "1ABC234"), ("A.B.C", "ABC")],
)
def test_plate_text_normalises_when_given_case_and_separators(raw, expected):
    assert PlateText(raw).value == expected
    assert str(PlateText(raw)) == expected


def test_plate_text_accepts_eight_characters_when_at_limit():
    assert PlateText("ABCD1234").value == "ABCD1234"


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (1234, "plate.type"),
        (None, "plate.type"),
        ("", "plate.empty"),
        (" - . ", "plate.empty"),
        ("ABC_123", "plate.charset"),
        ("ABC\t123", "plate.charset"),
        ("ÄBC123", "plate.charset"),
        ("ß", "plate.charset"),  # would uppercase to the valid "SS"
        ("١٢٣", "plate.charset"),  # Arabic-Indic digits are digits to str.isalnum()
        ("ABCDE1234", "plate.length"),
    ],
)
def test_plate_text_rejects_with_rule_when_input_is_invalid(raw, rule):
    assert rule_of(lambda: PlateText(raw)) == ("plate", rule)


@given(st.text(alphabet="abcXYZ019 -.", max_size=20))
def test_normalise_plate_is_idempotent_when_applied_twice(raw):
    assert normalise_plate(normalise_plate(raw)) == normalise_plate(raw)


@given(st.text(alphabet="abcdefxyzABCXYZ0123456789 -.", min_size=1, max_size=12))
def test_plate_text_is_stable_when_rebuilt_from_its_value(raw):
    try:
        plate = PlateText(raw)
    except InvalidFieldError as e:
        assert e.rule in {"plate.empty", "plate.length"}
    else:
        assert PlateText(plate.value) == plate
        assert plate.value == normalise_plate(raw)
        assert 1 <= len(plate.value) <= 8


@given(st.text(max_size=10))
def test_parse_plate_returns_only_ascii_alphanumerics_when_it_accepts(raw):
    try:
        value = parse_plate(raw)
    except InvalidFieldError:
        return
    assert value.isascii() and value.isalnum() and value == value.upper()


# -------------------------------------------------------------------------------- states


def test_state_code_covers_states_dc_territories_and_canada_when_built():
    assert len(US_STATES) == 50
    assert US_DISTRICT_AND_TERRITORIES == {"DC", "PR", "GU", "VI", "AS", "MP"}
    assert len(CANADIAN_JURISDICTIONS) == 13
    assert len(ISSUING_JURISDICTIONS) == 50 + 6 + 13  # no code is shared


@pytest.mark.parametrize(("raw", "expected"), [("NY", "NY"), ("ny", "NY"), ("On", "ON")])
def test_state_code_uppercases_when_given_known_code(raw, expected):
    assert StateCode(raw).value == expected


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (36, "state.type"),
        ("", "state.format"),
        ("N", "state.format"),
        ("NYS", "state.format"),
        ("N1", "state.format"),
        (" NY", "state.format"),
        ("ſc", "state.format"),  # "ſ".upper() == "S"; "SC" would pass the lookup
        ("XX", "state.unknown"),
        ("MX", "state.unknown"),
    ],
)
def test_state_code_rejects_with_rule_when_input_is_invalid(raw, rule):
    assert rule_of(lambda: StateCode(raw)) == ("state", rule)


# -------------------------------------------------------------------------------- coordinates


@pytest.mark.parametrize(("lat", "lon"), [(43.0481, -76.1474), (90, -180), (-90.0, 180.0)])
def test_coordinates_accept_floats_when_in_range(lat, lon):
    point = Coordinates(lat, lon)
    assert (point.latitude, point.longitude) == (float(lat), float(lon))
    assert type(point.latitude) is float and type(point.longitude) is float


@pytest.mark.parametrize(
    ("lat", "lon", "field", "rule"),
    [
        (90.000001, 0.0, "latitude", "latitude.range"),
        (-91, 0.0, "latitude", "latitude.range"),
        (math.nan, 0.0, "latitude", "latitude.range"),
        (math.inf, 0.0, "latitude", "latitude.range"),
        ("43.0", 0.0, "latitude", "latitude.type"),
        (True, 0.0, "latitude", "latitude.type"),
        (0.0, 180.5, "longitude", "longitude.range"),
        (0.0, -math.inf, "longitude", "longitude.range"),
        (0.0, math.nan, "longitude", "longitude.range"),
        (0.0, None, "longitude", "longitude.type"),
    ],
)
def test_coordinates_reject_with_rule_when_out_of_range_or_not_numbers(lat, lon, field, rule):
    assert rule_of(lambda: Coordinates(lat, lon)) == (field, rule)


# -------------------------------------------------------------------------------- cameras


def test_parse_camera_kind_returns_enum_when_value_is_known():
    assert [parse_camera_kind(k) for k in ("fixed", "mobile", "portable")] == list(CameraKind)
    assert CameraKind.MOBILE == "mobile"


@pytest.mark.parametrize("raw", ["Fixed", "drone", "", None, 1])
def test_parse_camera_kind_rejects_when_value_is_unknown(raw):
    assert rule_of(lambda: parse_camera_kind(raw)) == ("camera_kind", "camera_kind.unknown")


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (7, "camera_id.type"),
        ("", "camera_id.length"),
        ("C" * 65, "camera_id.length"),
        (" CAM-1", "camera_id.charset"),
        ("CAM-1 ", "camera_id.charset"),
        ("CAM\n1", "camera_id.charset"),
    ],
)
def test_parse_identifier_rejects_with_rule_when_invalid(raw, rule):
    call = lambda: parse_identifier(raw, field="camera_id", max_length=64)  # noqa: E731
    assert rule_of(call) == ("camera_id", rule)


def test_parse_identifier_keeps_value_when_valid():
    assert parse_identifier("Main St / 5th Ave #2", field="camera_id", max_length=64) == (
        "Main St / 5th Ave #2"
    )
    assert parse_identifier("C" * 64, field="camera_id", max_length=64) == "C" * 64


# -------------------------------------------------------------------------------- vehicles


def test_vehicle_characteristics_strip_and_drop_unknowns_when_built():
    vehicle = VehicleCharacteristics(make=" Toyota ", colour="white")
    assert vehicle.as_dict() == {"make": "Toyota", "colour": "white"}
    assert not vehicle.is_empty
    assert VehicleCharacteristics().is_empty
    assert VehicleCharacteristics().as_dict() == {}


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"make": ""}, "make", "make.length"),
        ({"model": "   "}, "model", "model.length"),
        ({"colour": "x" * 41}, "colour", "colour.length"),
        ({"body_type": "sedan\x00"}, "body_type", "body_type.charset"),
        ({"make": 5}, "make", "make.type"),
    ],
)
def test_vehicle_characteristics_reject_with_rule_when_invalid(kwargs, field, rule):
    assert rule_of(lambda: VehicleCharacteristics(**kwargs)) == (field, rule)


def test_vehicle_from_mapping_rejects_key_when_not_a_characteristic():
    call = lambda: VehicleCharacteristics.from_mapping({"color": "red"})  # noqa: E731
    assert rule_of(call) == ("color", "vehicle.key")


def test_vehicle_from_mapping_rejects_when_not_a_mapping():
    call = lambda: VehicleCharacteristics.from_mapping(["Toyota"])  # noqa: E731
    assert rule_of(call) == ("vehicle", "vehicle.type")


def test_vehicle_from_mapping_treats_none_as_unknown_when_key_is_null():
    vehicle = VehicleCharacteristics.from_mapping({"make": "Ford", "model": None})
    assert vehicle.as_dict() == {"make": "Ford"}


# -------------------------------------------------------------------------------- images


def test_image_ref_keeps_digest_when_lowercase_sha256_hex():
    assert ImageRef(SHA).sha256 == SHA
    assert str(ImageRef(SHA)) == SHA


@pytest.mark.parametrize("raw", [SHA.upper(), SHA[:-1], SHA + "0", "g" * 64, "", None, b"0" * 64])
def test_image_ref_rejects_when_not_lowercase_sha256_hex(raw):
    assert rule_of(lambda: ImageRef(raw)) == ("image", "image.format")


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T00:00:00Z",
    ],
)
def test_to_utc_refuses_instant_when_near_the_ends_of_the_calendar(raw: str) -> None:
    with pytest.raises(InvalidFieldError) as caught:
        to_utc(datetime.fromisoformat(raw), field="expires_at", rule="expires_at")
    assert (caught.value.field, caught.value.rule) == ("expires_at", "expires_at.range")


def test_to_utc_refuses_naive_time_and_converts_aware_time_to_utc() -> None:
    with pytest.raises(InvalidFieldError) as caught:
        to_utc(datetime(2026, 1, 1), field="checked_at", rule="checked_at")
    assert caught.value.rule == "checked_at.naive"
    moment = to_utc(datetime.fromisoformat("2026-01-01T00:00:00+01:00"), field="f", rule="f")
    assert moment == datetime(2025, 12, 31, 23, tzinfo=UTC) and moment.tzinfo is UTC
